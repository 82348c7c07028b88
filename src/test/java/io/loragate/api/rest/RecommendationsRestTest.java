package io.loragate.api.rest;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.TinyLlamaProfile;
import io.loragate.common.LoragateException;
import io.loragate.recommend.Recommendations;
import io.loragate.recommend.Recommender;
import io.loragate.recommend.Sweeps;
import io.loragate.runtime.ResidentModel;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Recommendations and sweeps over REST on the tiny-llama fixture: the plan changes when the dataset
 * crosses the tiny/medium threshold, the budget excludes methods, a sweep trains one job per method
 * and compares them (a method that fails is a failed row with its error), and another tenant's files
 * and sweeps answer like unknown ones.
 */
@QuarkusTest
@TestProfile(TinyLlamaProfile.class)
class RecommendationsRestTest {

    @Inject
    ResidentModel resident;

    @Inject
    Recommendations recommendations;

    @Inject
    Sweeps sweeps;

    @Inject
    io.loragate.diagnostics.DiagnosticsService diagnostics;

    @io.quarkus.grpc.GrpcClient("loragate")
    io.loragate.api.grpc.v1.TrainingServiceGrpc.TrainingServiceBlockingStub grpc;

    @BeforeEach
    void ready() throws Exception {
        resident.whenLoaded().get(60, TimeUnit.SECONDS);
    }

    /** {@code n} distinct prompt/completion lines (a tag keeps files of different tests apart). */
    static String qa(int n, String tag) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            String w = FineTuningJobsRestTest.WORDS.get(i % FineTuningJobsRestTest.WORDS.size());
            sb.append("{\"prompt\": \"Q: ").append(w).append(' ').append(i).append(' ').append(tag)
                    .append("\\nA:\", \"completion\": \" yes.\"}\n");
        }
        return sb.toString();
    }

    static JsonPath recommend(String body) {
        return given().contentType(ContentType.JSON).body(body).when().post("/v1/recommendations")
                .then().statusCode(200).extract().jsonPath();
    }

    @Test
    void thePlanChangesAtTheTinyThreshold() {
        String tinyFile = FineTuningJobsRestTest.upload("tiny.jsonl", qa(Recommender.TINY_BELOW - 1, "t"));
        String mediumFile = FineTuningJobsRestTest.upload("medium.jsonl", qa(Recommender.TINY_BELOW, "m"));
        JsonPath tiny = recommend("{\"training_file\": \"" + tinyFile + "\"}");
        assertEquals("recommendation", tiny.getString("object"));
        assertEquals("supervised", tiny.getString("task"));
        assertEquals("tiny", tiny.getString("regime"));
        assertEquals(Recommender.TINY_BELOW - 1, tiny.getInt("dataset.examples"));
        assertEquals("prompt_completion", tiny.getString("dataset.format"));
        assertEquals("base_perplexity", tiny.getString("shift.measure"));
        assertEquals(64, tiny.getInt("shift.sample_size"));
        assertTrue(tiny.getDouble("shift.base_perplexity") > 1);
        assertEquals(Recommender.TINY_BELOW, tiny.getInt("thresholds.tiny_below_examples"));
        List<String> tinyOrder = tiny.getList("methods.method");
        assertEquals(7, tinyOrder.size(), "every method but linear_probe: " + tinyOrder);
        assertFalse(tinyOrder.contains("linear_probe"));
        assertTrue(tiny.getLong("methods[0].compute.trainable_params") > 0);
        assertTrue(tiny.getLong("methods[0].compute.adapter_bytes") > 0);
        assertTrue(tiny.getDouble("methods[0].compute.train_seconds") > 0);
        // the job estimate includes the diagnostics, which read the built-in reference on a decoder
        assertTrue(diagnostics.referenceTokens(512) > 100, "built-in reference tokens: " + diagnostics.referenceTokens(512));
        float diag = tiny.getFloat("methods[0].compute.diagnostics_seconds");
        assertTrue(diag > 0 && tiny.getFloat("methods[0].compute.train_seconds") > diag
                + tiny.getFloat("methods[0].compute.checkpoint_seconds"), tiny.getMap("methods[0].compute").toString());
        assertTrue(tiny.getList("methods[0].reasons").size() >= 3);
        assertEquals(1, tiny.getInt("methods[0].rank"));
        assertTrue(tiny.getList("methods[0].reasons", String.class).get(1).startsWith("tiny dataset"));

        JsonPath medium = recommend("{\"training_file\": \"" + mediumFile + "\", \"top_k\": 3}");
        assertEquals("medium", medium.getString("regime"));
        assertEquals(3, medium.getList("methods").size());
        assertEquals("lora", medium.getString("methods[0].method"));
        assertTrue(medium.getList("methods[0].reasons", String.class).get(1).startsWith("medium dataset"));
        // the same kind of data on the same base: the same shift level, so only the size moved the plan
        String level = tiny.getString("shift.level");
        assertEquals(level, medium.getString("shift.level"));
        if (level.equals("high")) { // a random tiny base: its perplexity is close to a uniform guess's
            assertEquals(List.of("ia3", "lora"), tinyOrder.subList(0, 2));
            assertEquals(4, tiny.getInt("methods[1].settings.r"));
            assertEquals(List.of("lora", "dora", "partial"), medium.getList("methods.method"));
            assertEquals(16, medium.getInt("methods[0].settings.r"));
        } else {
            assertEquals(List.of("prompt_tuning", "ia3", "lora"), tinyOrder.subList(0, 3));
            assertEquals(List.of("lora", "ia3", "bottleneck"), medium.getList("methods.method"));
            assertEquals(8, medium.getInt("methods[0].settings.r"));
        }
    }

    @Test
    void classificationProbeAndBudget() throws Exception {
        String text;
        try (InputStream in = getClass().getResourceAsStream("/datasets/topics.jsonl")) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        String file = FineTuningJobsRestTest.upload("topics.jsonl", text);
        JsonPath all = recommend("{\"training_file\": \"" + file + "\"}");
        assertEquals("classification", all.getString("task"));
        assertEquals(3, all.getInt("dataset.labels"));
        assertEquals("linear_probe", all.getString("shift.measure"));
        double acc = all.getDouble("shift.probe_accuracy");
        assertTrue(acc >= 0 && acc <= 1);
        assertEquals(1.0 / 3, all.getDouble("shift.majority_rate"), 1e-6);
        assertTrue(all.getList("methods.method").contains("linear_probe"));
        assertEquals(8, all.getList("methods").size());

        long probeBytes = all.getLong("methods.find { it.method == 'linear_probe' }.compute.adapter_bytes");
        JsonPath small = recommend("{\"training_file\": \"" + file + "\", \"budget\": {\"max_adapter_bytes\": " + probeBytes + "}}");
        assertEquals(List.of("linear_probe"), small.getList("methods.method"));
        assertEquals(7, small.getList("excluded").size());
        assertTrue(small.getString("excluded[0].reasons[0]").startsWith("over budget: adapter"));

        given().contentType(ContentType.JSON).body("{\"training_file\": \"" + file + "\", \"task\": \"supervised\"}")
                .when().post("/v1/recommendations").then().statusCode(400).body("error.param", equalTo("task"));
        given().contentType(ContentType.JSON).body("{\"training_file\": \"" + file + "\", \"budget\": {\"max_train_minutes\": \"x\"}}")
                .when().post("/v1/recommendations").then().statusCode(400).body("error.param", equalTo("budget.max_train_minutes"));
    }

    static JsonPath awaitSweep(String id, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true) {
            JsonPath j = given().get("/v1/fine_tuning/sweeps/" + id).then().statusCode(200).extract().jsonPath();
            if (!j.getString("status").equals("running")) {
                return j;
            }
            assertTrue(System.nanoTime() < deadline, "sweep " + id + " still running after " + seconds + " s: " + j.prettify());
            Thread.sleep(200);
        }
    }

    @Test
    void aSweepComparesOneJobPerMethodAndKeepsFailedRows() throws Exception {
        String file = FineTuningJobsRestTest.upload("sweep.jsonl", qa(16, "s"));
        // lora, rslora and prompt_tuning train; linear_probe cannot (a supervised file): its job is refused
        // at creation and the sweep goes on without it
        JsonPath created = given().contentType(ContentType.JSON).body("{\"model\": \"tiny-llama\", \"training_file\": \"" + file
                + "\", \"methods\": [\"lora\", \"rslora\", \"linear_probe\", \"prompt_tuning\"], \"seed\": 3,"
                + " \"hyperparameters\": {\"epochs\": 2, \"batch_size\": 4, \"learning_rate\": 0.01}}")
                .when().post("/v1/fine_tuning/sweeps").then().statusCode(200).extract().jsonPath();
        String id = created.getString("id");
        assertTrue(id.startsWith("sweep-"));
        assertEquals("fine_tuning.sweep", created.getString("object"));
        assertEquals(List.of("lora", "rslora", "linear_probe", "prompt_tuning"), created.getList("methods"));

        JsonPath done = awaitSweep(id, 240);
        assertEquals("succeeded", done.getString("status"), done.prettify());
        assertNotNull(done.get("finished_at"));
        List<Map<String, Object>> table = done.getList("table");
        assertEquals(4, table.size());
        for (int i = 0; i < 2; i++) {
            Map<String, Object> row = table.get(i);
            assertEquals("succeeded", row.get("status"), row.toString());
            assertEquals("measured", row.get("sizes"));
            assertTrue(((Number) row.get("trainable_params")).longValue() > 0);
            assertTrue(((Number) row.get("adapter_bytes")).longValue() > 0);
            assertTrue(((Number) row.get("train_seconds")).doubleValue() >= 0);
            assertTrue(((Number) row.get("eval_loss")).doubleValue() < ((Number) row.get("base_eval_loss")).doubleValue(), row.toString());
            assertNotNull(row.get("fine_tuned_model"));
            JsonPath job = given().get("/v1/fine_tuning/jobs/" + row.get("job_id")).then().statusCode(200).extract().jsonPath();
            assertEquals(row.get("method"), job.getString("method.adapter.method"));
            assertEquals(0.01, job.getDouble("method.hyperparameters.learning_rate"), 1e-9);
        }
        // lora and rslora at the same r and alpha differ only in scale: same parameter count
        assertEquals(table.get(0).get("trainable_params"), table.get(1).get("trainable_params"));
        Map<String, Object> probe = table.get(2);
        assertEquals("failed", probe.get("status"));
        assertNull(probe.get("job_id"));
        assertTrue(((String) probe.get("error")).contains("classification"), probe.toString());
        Map<String, Object> prompt = table.get(3);
        assertNotNull(prompt.get("job_id"));
        JsonPath promptJob = given().get("/v1/fine_tuning/jobs/" + prompt.get("job_id")).then().statusCode(200).extract().jsonPath();
        assertEquals("succeeded", promptJob.getString("status"), promptJob.prettify());
        assertEquals("succeeded", prompt.get("status"));
        assertEquals("measured", prompt.get("sizes"));
        assertTrue(((Number) prompt.get("eval_loss")).doubleValue() < ((Number) prompt.get("base_eval_loss")).doubleValue(),
                prompt.toString());
        String md = done.getString("table_markdown");
        assertTrue(md.contains("| lora | succeeded |") && md.contains("| rslora | succeeded |") && md.contains("| linear_probe | failed"),
                md);
        // a causal LM sweep picks the lowest validation loss, has no bag-of-words baseline, and warns that its 2
        // held-out validation examples cannot separate the rows
        String lowest = table.stream().filter(r -> r.get("eval_loss") != null)
                .min(java.util.Comparator.comparingDouble(r -> ((Number) r.get("eval_loss")).doubleValue())).get().get("method").toString();
        assertEquals(lowest, done.getString("best"), done.prettify());
        assertTrue(done.getString("selection").startsWith("lowest validation loss"), done.getString("selection"));
        assertNull(done.get("baseline"));
        assertEquals(2, done.getInt("validation_examples"));
        assertTrue(done.getList("warnings", String.class).stream().anyMatch(w -> w.contains("2 examples")), done.prettify());
        assertTrue(md.contains("Best: " + lowest), md);

        // listed, and stable once final
        given().get("/v1/fine_tuning/sweeps").then().statusCode(200).body("data.find { it.id == '" + id + "' }.status",
                equalTo("succeeded"));
        assertEquals(done.getList("table.status"), awaitSweep(id, 1).getList("table.status"));
    }

    @Test
    void topKRecommendedMethodsAndRefusals() throws Exception {
        String file = FineTuningJobsRestTest.upload("sweep-k.jsonl", qa(12, "k"));
        JsonPath created = given().contentType(ContentType.JSON).body("{\"model\": \"tiny-llama\", \"training_file\": \"" + file
                + "\", \"top_k\": 2, \"hyperparameters\": {\"epochs\": 1, \"batch_size\": 4}}")
                .when().post("/v1/fine_tuning/sweeps").then().statusCode(200).extract().jsonPath();
        JsonPath rec = recommend("{\"training_file\": \"" + file + "\", \"top_k\": 2, \"epochs\": 1}");
        assertEquals(rec.getList("methods.method"), created.getList("methods"));
        given().post("/v1/fine_tuning/sweeps/" + created.getString("id") + "/cancel").then().statusCode(200);
        JsonPath done = awaitSweep(created.getString("id"), 120);
        assertEquals(2, done.getList("table").size());
        List<String> statuses = done.getList("table.status");
        assertTrue(statuses.stream().noneMatch(st -> st.equals("running") || st.equals("queued") || st.equals("pending")), statuses.toString());
        assertEquals(statuses.contains("succeeded") ? "succeeded" : statuses.contains("cancelled") ? "cancelled" : "failed",
                done.getString("status"));

        given().contentType(ContentType.JSON).body("{\"model\": \"tiny-llama\", \"training_file\": \"" + file
                + "\", \"methods\": [\"lora\", \"magic\"]}").when().post("/v1/fine_tuning/sweeps")
                .then().statusCode(400).body("error.param", equalTo("methods"));
        given().contentType(ContentType.JSON).body("{\"model\": \"other\", \"training_file\": \"" + file + "\"}")
                .when().post("/v1/fine_tuning/sweeps").then().statusCode(404).body("error.param", equalTo("model"));
        given().contentType(ContentType.JSON).body("{\"model\": \"tiny-llama\", \"training_file\": \"" + file + "\", \"top_k\": 9}")
                .when().post("/v1/fine_tuning/sweeps").then().statusCode(400).body("error.param", equalTo("top_k"));
    }

    @Test
    void anotherTenantsFilesAndSweepsDoNotExistForThem() throws Exception {
        String file = FineTuningJobsRestTest.upload("sweep-tenant.jsonl", qa(8, "x"));
        LoragateException e = assertThrows(LoragateException.class, () -> recommendations.recommend("mallory",
                new Recommendations.Request(file, null, null, null, null, null)));
        assertEquals(LoragateException.Kind.NOT_FOUND, e.kind());
        assertEquals("training_file", e.param());
        Sweeps.Request request = new Sweeps.Request("tiny-llama", file, null, null, List.of("linear_probe"), null, null, null, null,
                null);
        assertEquals(LoragateException.Kind.NOT_FOUND, assertThrows(LoragateException.class,
                () -> sweeps.create("mallory", request)).kind());
        // linear_probe on a supervised file: refused at creation, so the sweep is final at once and trains nothing
        Sweeps.View mine = sweeps.create("default", request);
        assertEquals("failed", mine.status());
        assertEquals(LoragateException.Kind.NOT_FOUND, assertThrows(LoragateException.class,
                () -> sweeps.get("mallory", mine.id())).kind());
        assertEquals(LoragateException.Kind.NOT_FOUND, assertThrows(LoragateException.class,
                () -> sweeps.cancel("mallory", mine.id())).kind());
        assertTrue(sweeps.list("mallory", 100).isEmpty());
        given().get("/v1/fine_tuning/sweeps/sweep-000000000000000000000000").then().statusCode(404);
        given().get("/v1/fine_tuning/sweeps/../../etc").then().statusCode(404);
        given().contentType(ContentType.JSON).body("{\"training_file\": \"file-unknown\"}").when().post("/v1/recommendations")
                .then().statusCode(404).body("error.param", equalTo("training_file"));
    }

    @Test
    void grpcAnswersTheSamePlan() {
        String file = FineTuningJobsRestTest.upload("grpc.jsonl", qa(20, "g"));
        JsonPath rest = recommend("{\"training_file\": \"" + file + "\", \"budget\": {\"max_adapter_bytes\": 20000}}");
        io.loragate.api.grpc.v1.Recommendation r = grpc.recommend(io.loragate.api.grpc.v1.RecommendRequest.newBuilder()
                .setTrainingFile(file).setBudget(io.loragate.api.grpc.v1.RecommendBudget.newBuilder().setMaxAdapterBytes(20000))
                .build());
        assertEquals(rest.getList("methods.method"), r.getMethodsList().stream().map(m -> m.getMethod()).toList());
        assertEquals(rest.getList("excluded.method"), r.getExcludedList().stream().map(m -> m.getMethod()).toList());
        assertEquals(rest.getString("regime"), r.getRegime());
        assertEquals(20, r.getDataset().getExamples());
        assertEquals("base_perplexity", r.getShift().getMeasure());
        assertEquals(rest.getDouble("shift.base_perplexity"), r.getShift().getBasePerplexity(), 1e-3);
        assertEquals(rest.getList("methods[0].reasons"), r.getMethods(0).getReasonsList());
        assertEquals(rest.getLong("methods[0].compute.trainable_params"), r.getMethods(0).getTrainableParams());
        io.grpc.StatusRuntimeException e = assertThrows(io.grpc.StatusRuntimeException.class, () -> grpc.recommend(
                io.loragate.api.grpc.v1.RecommendRequest.newBuilder().setTrainingFile("file-unknown").build()));
        assertEquals(io.grpc.Status.Code.NOT_FOUND, e.getStatus().getCode());
    }
}
