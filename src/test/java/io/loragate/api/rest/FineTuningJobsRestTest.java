package io.loragate.api.rest;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.notNullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.TinyLlamaProfile;
import io.loragate.common.LoragateException;
import io.loragate.runtime.ResidentModel;
import io.loragate.training.jobs.FineTuningJobs;
import io.loragate.training.jobs.JobRequest;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Fine-tuning end to end over REST on the tiny-llama fixture: upload, validate, train, publish,
 * activate, serve with the new adapter; events, checkpoints, cancellation, the publication gate
 * and every refusal a client can act on.
 */
@QuarkusTest
@TestProfile(TinyLlamaProfile.class)
class FineTuningJobsRestTest {

    static final List<String> WORDS = List.of("apple", "river", "stone", "cloud", "tiger", "lemon", "piano", "maple", "ocean",
            "pencil", "garden", "window", "rocket", "candle", "forest", "silver");

    @Inject
    ResidentModel resident;

    @Inject
    FineTuningJobs jobs;

    @BeforeEach
    void ready() throws Exception {
        resident.whenLoaded().get(60, TimeUnit.SECONDS);
    }

    /** Every completion is the same short answer: an adapter learns it quickly, and held-out loss must drop. */
    public static String promptCompletionSet() {
        StringBuilder sb = new StringBuilder();
        for (String w : WORDS) {
            sb.append("{\"prompt\": \"Q: ").append(w).append("\\nA:\", \"completion\": \" yes.\"}\n");
        }
        return sb.toString();
    }

    static String upload(String name, String content) {
        return given().multiPart("file", name, content.getBytes(StandardCharsets.UTF_8), "application/jsonl")
                .multiPart("purpose", "fine-tune")
                .when().post("/v1/files")
                .then().statusCode(200).extract().path("id");
    }

    static String body(String file, String suffix, int epochs, String extra) {
        return "{\"model\": \"tiny-llama\", \"training_file\": \"" + file + "\", \"suffix\": \"" + suffix + "\", \"seed\": 7,"
                + " \"method\": {\"type\": \"supervised\", \"hyperparameters\": {\"epochs\": " + epochs + ", \"batch_size\": 4,"
                + " \"learning_rate\": 0.02, \"checkpoint_every_steps\": 2}, \"adapter\": {\"r\": 4, \"alpha\": 8, \"dropout\": 0,"
                + " \"target_modules\": [\"q_proj\", \"v_proj\", \"o_proj\", \"lm_head\"]}}" + extra + "}";
    }

    public static JsonPath awaitFinal(String id, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true) {
            JsonPath j = given().get("/v1/fine_tuning/jobs/" + id).then().statusCode(200).extract().jsonPath();
            String s = j.getString("status");
            if (s.equals("succeeded") || s.equals("failed") || s.equals("cancelled")) {
                return j;
            }
            assertTrue(System.nanoTime() < deadline, "job " + id + " still " + s + " after " + seconds + " s");
            Thread.sleep(100);
        }
    }

    /**
     * Texts longer than the model's context (tiny-llama: 256 positions) with the default
     * max_seq_length (512): the job cuts them to the context and says how many it cut, where it used
     * to fail with "sequence of 263 tokens exceeds the model's 256 positions".
     */
    @Test
    void examplesLongerThanTheModelsContextAreCutNotFatal() throws Exception {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            StringBuilder text = new StringBuilder();
            for (int w = 0; w < 300; w++) {
                text.append(WORDS.get((i + w) % WORDS.size())).append(' ');
            }
            sb.append("{\"text\": \"").append(text.toString().trim()).append("\"}\n");
        }
        String file = upload("long.jsonl", sb.toString());
        String id = given().contentType(ContentType.JSON)
                .body("{\"model\": \"tiny-llama\", \"training_file\": \"" + file + "\", \"suffix\": \"long\", \"seed\": 7,"
                        + " \"method\": {\"type\": \"supervised\", \"hyperparameters\": {\"epochs\": 1, \"batch_size\": 4},"
                        + " \"adapter\": {\"r\": 2, \"alpha\": 4, \"dropout\": 0}}}")
                .when().post("/v1/fine_tuning/jobs").then().statusCode(200).extract().path("id");
        JsonPath done = awaitFinal(id, 180);
        assertEquals("succeeded", done.getString("status"), () -> done.prettify());
        List<String> messages = given().queryParam("limit", 999).get("/v1/fine_tuning/jobs/" + id + "/events")
                .then().statusCode(200).extract().jsonPath().getList("data.message", String.class);
        assertTrue(messages.stream().anyMatch(m -> m.contains("8 example(s) cut to their first 256 tokens")), messages.toString());
        assertEquals(8, done.getInt("report.inputs.cut"));
        assertEquals(256, done.getInt("report.inputs.max_length"));
        assertEquals("truncate", done.getString("report.inputs.pooling"));
    }

    @Test
    void trainsPublishesActivatesAndServes() throws Exception {
        String file = upload("qa.jsonl", promptCompletionSet());
        JsonPath created = given().contentType(ContentType.JSON).body(body(file, "yes-sayer", 20, ", \"activate\": true"))
                .when().post("/v1/fine_tuning/jobs")
                .then().statusCode(200)
                .body("object", equalTo("fine_tuning.job"))
                .body("model", equalTo("tiny-llama"))
                .body("method.hyperparameters.epochs", equalTo(20))
                .body("method.hyperparameters.max_grad_norm", equalTo(1.0f))
                .extract().jsonPath();
        String id = created.getString("id");
        assertTrue(List.of("validating_files", "queued", "running").contains(created.getString("status")));

        JsonPath done = awaitFinal(id, 120);
        assertEquals("succeeded", done.getString("status"), () -> done.prettify());
        String published = done.getString("fine_tuned_model");
        assertTrue(published.matches("yes-sayer@\\d+"), published);
        int version = Integer.parseInt(published.substring(published.indexOf('@') + 1));
        assertTrue(done.getLong("trained_tokens") > 0);
        assertEquals(done.getLong("progress.total_steps"), done.getLong("progress.step"));
        double base = done.getDouble("report.base.loss");
        double adapter = done.getDouble("report.adapter.loss");
        assertTrue(adapter < 0.5 * base, "held-out loss must drop: base " + base + ", adapter " + adapter);
        assertTrue(done.getBoolean("report.publish_if.passed"));

        // published and active: the bare name serves the new version
        given().get("/v1/adapters/yes-sayer").then().statusCode(200).body("active_version", equalTo(version));
        JsonPath completion = given().contentType(ContentType.JSON)
                .body("{\"model\": \"yes-sayer\", \"prompt\": \"Q: violin\\nA:\", \"max_tokens\": 3, \"temperature\": 0}")
                .when().post("/v1/completions").then().statusCode(200).extract().jsonPath();
        assertEquals(published, completion.getString("model"));
        String baseText = given().contentType(ContentType.JSON)
                .body("{\"model\": \"tiny-llama\", \"prompt\": \"Q: violin\\nA:\", \"max_tokens\": 3, \"temperature\": 0}")
                .when().post("/v1/completions").then().statusCode(200).extract().path("choices[0].text");
        assertTrue(completion.getString("choices[0].text").startsWith(" yes"),
                "adapter: '" + completion.getString("choices[0].text") + "', base: '" + baseText + "'");

        // events: created, validated, started, per-step metrics, evaluation, published
        JsonPath events = given().queryParam("limit", 999).get("/v1/fine_tuning/jobs/" + id + "/events")
                .then().statusCode(200).extract().jsonPath();
        List<Map<String, Object>> newestFirst = events.getList("data");
        assertEquals("succeeded", newestFirst.get(0).get("status"), "newest first, as OpenAI's API pages events");
        List<Map<String, Object>> data = new java.util.ArrayList<>(newestFirst);
        java.util.Collections.reverse(data);
        assertEquals("validating_files", data.get(0).get("status"));
        long metrics = data.stream().filter(e -> "metrics".equals(e.get("type"))).count();
        assertTrue(metrics >= done.getLong("progress.total_steps"), "a metrics event per step");
        Map<?, ?> first = (Map<?, ?>) data.stream().filter(e -> "metrics".equals(e.get("type"))).findFirst().get().get("data");
        assertEquals(1, ((Number) first.get("step")).intValue());
        assertNotNull(first.get("train_loss"));
        assertNotNull(first.get("learning_rate"));
        assertNotNull(first.get("tokens_per_second"));
        assertEquals("succeeded", data.get(data.size() - 1).get("status"));
        // paging with the cursor: the first page holds the newest events, the next one those before its last
        given().queryParam("limit", 3).get("/v1/fine_tuning/jobs/" + id + "/events")
                .then().statusCode(200).body("data.id", equalTo(newestFirst.subList(0, 3).stream().map(e -> e.get("id")).toList()))
                .body("has_more", equalTo(true));
        given().queryParam("after", (String) newestFirst.get(2).get("id")).queryParam("limit", 1)
                .get("/v1/fine_tuning/jobs/" + id + "/events")
                .then().statusCode(200).body("data[0].id", equalTo(newestFirst.get(3).get("id"))).body("has_more", equalTo(true));
        given().queryParam("after", (String) data.get(1).get("id")).queryParam("limit", 5)
                .get("/v1/fine_tuning/jobs/" + id + "/events")
                .then().statusCode(200).body("data.id", equalTo(List.of(data.get(0).get("id")))).body("has_more", equalTo(false));

        JsonPath ckpts = given().get("/v1/fine_tuning/jobs/" + id + "/checkpoints").then().statusCode(200).extract().jsonPath();
        assertFalse(ckpts.getList("data").isEmpty());
        assertNotNull(ckpts.get("data[0].metrics.train_loss"));
        assertTrue(ckpts.getInt("data[0].step_number") > 0);

        // listed, newest first
        given().get("/v1/fine_tuning/jobs").then().statusCode(200).body("object", equalTo("list")).body("data.id",
                org.hamcrest.Matchers.hasItem(id));
    }

    /**
     * A {@code partial} fine-tuning job: every linear layer of tiny-llama's last layer trained in
     * full, published as modules_to_save (no LoRA pairs: rank 0), served by /v1/completions with the
     * trained copies (a different greedy answer than the base's is not guaranteed on a random tiny
     * model; the held-out loss is).
     */
    @Test
    void aPartialFineTuningJobTrainsPublishesAndServes() throws Exception {
        String file = upload("qa.jsonl", promptCompletionSet());
        JsonPath created = given().contentType(ContentType.JSON).body("{\"model\": \"tiny-llama\", \"training_file\": \"" + file
                + "\", \"suffix\": \"partial-ft\", \"seed\": 7, \"method\": {\"type\": \"supervised\", \"hyperparameters\":"
                + " {\"epochs\": 10, \"batch_size\": 4, \"learning_rate\": 0.01}, \"adapter\": {\"method\": \"partial\"}}}")
                .when().post("/v1/fine_tuning/jobs").then().statusCode(200)
                .body("method.adapter.method", equalTo("partial"))
                .body("method.adapter.partial_layers", equalTo(1))
                .extract().jsonPath();
        JsonPath done = awaitFinal(created.getString("id"), 120);
        assertEquals("succeeded", done.getString("status"), () -> done.prettify());
        double base = done.getDouble("report.base.loss");
        double adapter = done.getDouble("report.adapter.loss");
        assertTrue(adapter < 0.9 * base, "held-out loss must drop: base " + base + ", adapter " + adapter);
        String published = done.getString("fine_tuned_model");
        assertTrue(published.matches("partial-ft@\\d+"), published);
        given().get("/v1/adapters/partial-ft").then().statusCode(200);
        JsonPath completion = given().contentType(ContentType.JSON)
                .body("{\"model\": \"" + published + "\", \"prompt\": \"Q: violin\\nA:\", \"max_tokens\": 3, \"temperature\": 0}")
                .when().post("/v1/completions").then().statusCode(200).extract().jsonPath();
        assertEquals(published, completion.getString("model"));
        assertTrue(completion.getInt("usage.completion_tokens") > 0);
    }

    @Test
    void cancelStopsAtTheNextStepAndPublishesNothing() throws Exception {
        String file = upload("qa-cancel.jsonl", promptCompletionSet());
        String id = given().contentType(ContentType.JSON).body(body(file, "never-published", 1000, ""))
                .when().post("/v1/fine_tuning/jobs").then().statusCode(200).extract().path("id");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (given().get("/v1/fine_tuning/jobs/" + id).then().extract().jsonPath().getLong("progress.step") < 2) {
            assertTrue(System.nanoTime() < deadline, "the job did not start");
            Thread.sleep(50);
        }
        given().post("/v1/fine_tuning/jobs/" + id + "/cancel").then().statusCode(200).body("id", equalTo(id));
        JsonPath done = awaitFinal(id, 30);
        assertEquals("cancelled", done.getString("status"));
        assertNull(done.get("fine_tuned_model"));
        assertTrue(done.getLong("progress.step") < done.getLong("progress.total_steps"));
        given().get("/v1/adapters/never-published").then().statusCode(404);
        // cancelling again answers the cancelled job
        given().post("/v1/fine_tuning/jobs/" + id + "/cancel").then().statusCode(200).body("status", equalTo("cancelled"));
    }

    /**
     * epochs "auto" on 16 examples (4 steps an epoch at batch 4): enough epochs for the default 60
     * optimizer steps; the validation file asks for another answer than the training file teaches, so
     * its loss stops improving, the job stops early and keeps the weights of its best evaluation (the
     * final evaluation reproduces that evaluation's loss).
     */
    @Test
    void autoEpochsTrainAtLeastTheMinimumStepsStopEarlyAndKeepTheBestWeights() throws Exception {
        String file = upload("qa-auto.jsonl", promptCompletionSet());
        String validation = upload("qa-auto-val.jsonl", promptCompletionSet().replace(" yes.", " no no no."));
        String request = body(file, "auto-epochs", 1, ", \"validation_file\": \"" + validation + "\"")
                .replace("\"epochs\": 1", "\"epochs\": \"auto\"");
        JsonPath created = given().contentType(ContentType.JSON).body(request).when().post("/v1/fine_tuning/jobs")
                .then().statusCode(200).extract().jsonPath();
        assertEquals(60, created.getInt("method.hyperparameters.auto_min_steps"));
        assertEquals(50, created.getInt("method.hyperparameters.epochs"), "the most epochs auto may take");
        assertEquals(3, created.getInt("method.hyperparameters.early_stopping_patience"));
        assertEquals(0, created.getInt("method.hyperparameters.eval_every_steps"), "resolved when the job starts");
        JsonPath done = awaitFinal(created.getString("id"), 180);
        assertEquals("succeeded", done.getString("status"), () -> done.prettify());
        assertEquals(15, done.getInt("report.epochs"), "15 epochs of 4 steps reach the 60-step minimum");
        assertTrue(done.getLong("progress.total_steps") >= 60, done.prettify());
        assertTrue(done.getBoolean("report.auto_epochs"));
        assertTrue(done.getBoolean("report.early_stopped"), done.prettify());
        long stopped = done.getLong("report.steps");
        long best = done.getLong("report.best_step");
        assertTrue(best < stopped && stopped < 60, "best " + best + ", stopped " + stopped);
        List<Map<String, Object>> events = given().queryParam("limit", 999).get("/v1/fine_tuning/jobs/" + created.getString("id")
                + "/events").then().statusCode(200).extract().jsonPath().getList("data");
        List<String> messages = events.stream().map(e -> String.valueOf(e.get("message"))).toList();
        assertTrue(messages.stream().anyMatch(m -> m.contains("epochs auto: 15 (at least 60 steps")
                && m.contains("evaluation every 6 steps")), messages.toString()); // a tenth of 60
        assertTrue(messages.stream().anyMatch(m -> m.startsWith("Early stopping at step " + stopped)), messages.toString());
        assertTrue(messages.stream().anyMatch(m -> m.startsWith("Kept the weights of step " + best)), messages.toString());
        double bestEvalLoss = events.stream().map(e -> (Map<?, ?>) e.get("data"))
                .filter(d -> d != null && d.get("eval_loss") != null && ((Number) d.get("step")).longValue() == best
                        && d.get("train_loss") != null)
                .mapToDouble(d -> ((Number) d.get("eval_loss")).doubleValue()).findFirst().orElseThrow();
        assertEquals(bestEvalLoss, done.getDouble("report.adapter.loss"), 1e-4, "the published weights are the best evaluation's");

        given().contentType(ContentType.JSON).body(request.replace("\"auto\"", "\"many\"")).when().post("/v1/fine_tuning/jobs")
                .then().statusCode(400).body("error.param", equalTo("method.hyperparameters.epochs"))
                .body("error.message", containsString("\"auto\" or an integer"));
    }

    @Test
    void theGateKeepsAWorseAdapterUnpublished() throws Exception {
        String file = upload("qa-gate.jsonl", promptCompletionSet());
        String id = given().contentType(ContentType.JSON)
                .body(body(file, "gated", 1, ", \"publish_if\": {\"max_eval_loss_ratio\": 0.0001}"))
                .when().post("/v1/fine_tuning/jobs").then().statusCode(200).extract().path("id");
        JsonPath done = awaitFinal(id, 60);
        assertEquals("succeeded", done.getString("status"));
        assertNull(done.get("fine_tuned_model"));
        assertFalse(done.getBoolean("report.publish_if.passed"));
        assertTrue(done.getString("report.publish_if.reasons[0]").contains("max_eval_loss_ratio"));
        given().get("/v1/adapters/gated").then().statusCode(404);
    }

    /** Unknown fields are refused with the nearest known name, never ignored ("lr" used to train at the default). */
    @Test
    void unknownFieldsAreRefusedNamingTheNearestKnownOne() {
        String file = upload("qa-strict.jsonl", promptCompletionSet());
        given().contentType(ContentType.JSON).body(body(file, "x", 1, "").replace("\"learning_rate\"", "\"lr\""))
                .when().post("/v1/fine_tuning/jobs")
                .then().statusCode(400).body("error.param", equalTo("method.hyperparameters.lr"))
                .body("error.message", containsString("did you mean 'learning_rate'?"));
        given().contentType(ContentType.JSON).body(body(file, "x", 1, "").replace("\"training_file\"", "\"traning_file\""))
                .when().post("/v1/fine_tuning/jobs")
                .then().statusCode(400).body("error.param", equalTo("traning_file"))
                .body("error.message", containsString("did you mean 'training_file'?"));
        given().contentType(ContentType.JSON).body(body(file, "x", 1, "").replace("\"r\": 4", "\"rank\": 4"))
                .when().post("/v1/fine_tuning/jobs")
                .then().statusCode(400).body("error.param", equalTo("method.adapter.rank"))
                .body("error.message", containsString("did you mean 'r'?"));
        given().contentType(ContentType.JSON).body(body(file, "x", 1, ", \"publish_if\": {\"min_accuracy\": 0.5}"))
                .when().post("/v1/fine_tuning/jobs")
                .then().statusCode(400).body("error.param", equalTo("publish_if.min_accuracy"));
        given().contentType(ContentType.JSON).body(body(file, "x", 1, "").replace("\"epochs\": 1", "\"epochs\": 1.5"))
                .when().post("/v1/fine_tuning/jobs")
                .then().statusCode(400).body("error.param", equalTo("method.hyperparameters.epochs"));
        // OpenAI's nesting under the method's type is known, and checked too
        given().contentType(ContentType.JSON).body("{\"model\": \"tiny-llama\", \"training_file\": \"" + file + "\", \"suffix\": \"x\","
                + " \"method\": {\"type\": \"supervised\", \"supervised\": {\"hyperparameters\": {\"n_epochs\": 0}}}}")
                .when().post("/v1/fine_tuning/jobs")
                .then().statusCode(400).body("error.param", equalTo("method.hyperparameters.epochs"));
    }

    @Test
    void refusesWhatAClientCanFix() {
        String file = upload("qa-bad.jsonl", promptCompletionSet());
        given().contentType(ContentType.JSON).body(body("file-000000000000000000000000", "x", 1, ""))
                .when().post("/v1/fine_tuning/jobs")
                .then().statusCode(404).body("error.param", equalTo("training_file"));
        given().contentType(ContentType.JSON).body(body(file, "x", 1, "").replace("\"tiny-llama\"", "\"gpt-4\""))
                .when().post("/v1/fine_tuning/jobs")
                .then().statusCode(404).body("error.param", equalTo("model"));
        given().contentType(ContentType.JSON).body(body(file, "x", 0, ""))
                .when().post("/v1/fine_tuning/jobs")
                .then().statusCode(400).body("error.param", equalTo("method.hyperparameters.epochs"));
        given().contentType(ContentType.JSON).body(body(file, "Bad Name!", 1, ""))
                .when().post("/v1/fine_tuning/jobs")
                .then().statusCode(400).body("error.param", equalTo("suffix"));
        given().contentType(ContentType.JSON).body(body(file, "x", 1, "").replace("\"supervised\"", "\"classification\""))
                .when().post("/v1/fine_tuning/jobs")
                .then().statusCode(400).body("error.param", equalTo("training_file"));
        given().contentType(ContentType.JSON).body(body(file, "x", 1, "").replace("\"r\": 4", "\"r\": 100000"))
                .when().post("/v1/fine_tuning/jobs")
                .then().statusCode(400).body("error.param", equalTo("method.adapter.r"));
        given().contentType(ContentType.JSON).body("[1, 2]").when().post("/v1/fine_tuning/jobs").then().statusCode(400);
        given().get("/v1/fine_tuning/jobs/ftjob-000000000000000000000000").then().statusCode(404)
                .body("error.message", notNullValue());
        given().get("/v1/fine_tuning/jobs/../../etc").then().statusCode(404);
    }

    @Test
    void eventPagesRefuseALimitOutsideOneTo999() throws Exception {
        String file = upload("qa-limits.jsonl", promptCompletionSet());
        String id = given().contentType(ContentType.JSON).body(body(file, "limits", 200, "")).post("/v1/fine_tuning/jobs")
                .then().statusCode(200).extract().path("id");
        for (int limit : new int[] {0, -1, 1000, 100000}) {
            given().queryParam("limit", limit).get("/v1/fine_tuning/jobs/" + id + "/events").then().statusCode(400)
                    .body("error.param", equalTo("limit"))
                    .body("error.message", equalTo("limit must be in [1, 999], was " + limit));
        }
        for (int limit : new int[] {1, 999}) {
            given().queryParam("limit", limit).get("/v1/fine_tuning/jobs/" + id + "/events").then().statusCode(200)
                    .body("object", equalTo("list"));
        }
        given().post("/v1/fine_tuning/jobs/" + id + "/cancel").then().statusCode(200);
        assertEquals("cancelled", awaitFinal(id, 60).getString("status"));
    }

    @Test
    void anotherTenantsFilesAndJobsDoNotExistForThem() throws Exception {
        String file = upload("qa-tenant.jsonl", promptCompletionSet());
        // long enough (200 epochs) that the cancel below always finds it unfinished
        JobRequest request = new JobRequest("tiny-llama", file, null, "mine", 7L, new JobRequest.Method("supervised",
                new JobRequest.Hyperparameters(200, null, null, null, null, null, null, null, null, null, null, null, null), null),
                null, false);
        LoragateException e = assertThrows(LoragateException.class, () -> jobs.create("mallory", request));
        assertEquals(LoragateException.Kind.NOT_FOUND, e.kind());
        assertEquals("training_file", e.param());
        String id = jobs.create("default", request).id();
        assertEquals(LoragateException.Kind.NOT_FOUND,
                assertThrows(LoragateException.class, () -> jobs.get("mallory", id)).kind());
        assertEquals(LoragateException.Kind.NOT_FOUND,
                assertThrows(LoragateException.class, () -> jobs.cancel("mallory", id)).kind());
        assertEquals(LoragateException.Kind.NOT_FOUND,
                assertThrows(LoragateException.class, () -> jobs.events("mallory", id, 0, 10)).kind());
        assertEquals(LoragateException.Kind.NOT_FOUND,
                assertThrows(LoragateException.class, () -> jobs.checkpoints("mallory", id)).kind());
        assertTrue(jobs.list("mallory", 10, null).jobs().isEmpty());
        jobs.cancel("default", id);
        assertEquals("cancelled", awaitFinal(id, 60).getString("status"));
    }
}
