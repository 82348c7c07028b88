package io.loragate.api.rest;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.loragate.adapter.LoraAdapter;
import io.loragate.adapter.PeftConfig;
import io.loragate.registry.AdapterRegistry;
import io.loragate.registry.AdapterVersion;
import io.loragate.runtime.ResidentModel;
import io.loragate.training.data.ClassificationExample;
import io.loragate.training.trainer.ClassificationTrainer;
import io.loragate.training.trainer.LrSchedule;
import io.loragate.training.trainer.TrainingConfig;
import io.loragate.training.trainer.TrainingListener;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A classification adapter trained on the resident MiniLM (which has no classifier of its own),
 * published through the registry, answers {@code /v1/classifications} with the dataset's labels.
 */
@QuarkusTest
class ClassificationRestTest {

    @Inject
    ResidentModel resident;

    @Inject
    AdapterRegistry registry;

    @Inject
    io.loragate.registry.AdapterCache cache;

    @TempDir
    Path tmp;

    @Test
    void aTrainedTopicAdapterAnswersWithTheDatasetsLabels() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
        List<ClassificationExample> data = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        try (InputStream in = getClass().getResourceAsStream("/datasets/topics.jsonl")) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank()) {
                    JsonNode n = json.readTree(line);
                    data.add(ClassificationExample.of(resident.tokenizer(), n.get("text").asText(), n.get("label").asText(), 64));
                }
            }
        }
        TrainingConfig hyper = TrainingConfig.defaults().withEpochs(4).withBatchSize(8).withLearningRate(3e-3)
                .withWarmup(2, LrSchedule.Kind.LINEAR).withSeed(3);
        Path folder = tmp.resolve("topics");
        try (ClassificationTrainer run = ClassificationTrainer.create(resident.model(),
                PeftConfig.lora(8, 16, List.of("query", "value"), "SEQ_CLS"), hyper, data, List.of())) {
            run.train(TrainingListener.NONE, 0);
            run.saveAdapter(folder);
        }
        AdapterVersion v = registry.register(TenantResolver.DEFAULT, "topics", folder.resolve(PeftConfig.FILE_NAME),
                folder.resolve(LoraAdapter.WEIGHTS_FILE));

        var r = given().contentType(ContentType.JSON)
                .body("{\"model\":\"" + v.id() + "\",\"input\":[\"The goalkeeper caught the ball in the final minute.\","
                        + "\"Add butter and garlic to the pan.\",\"The app crashed after the software update.\"]}")
                .post("/v1/classifications").then().statusCode(200).extract().jsonPath();
        assertEquals(v.id(), r.getString("model"));
        assertEquals(List.of("sports", "food", "tech"), r.getList("data.label", String.class));
        for (int i = 0; i < 3; i++) {
            Map<String, Float> scores = r.getMap("data[" + i + "].scores", String.class, Float.class);
            assertEquals(java.util.Set.of("food", "sports", "tech"), scores.keySet());
            assertEquals(1.0, scores.values().stream().mapToDouble(Float::doubleValue).sum(), 1e-4);
            assertTrue(scores.get(r.getString("data[" + i + "].label")) > 0.5);
        }
        // the base alone still has no head to classify with
        given().contentType(ContentType.JSON).body("{\"model\":\"all-minilm-l6-v2\",\"input\":\"hello\"}")
                .post("/v1/classifications").then().statusCode(400).body("error.code", org.hamcrest.Matchers.equalTo("failed_precondition"))
                .body("error.message", containsString("no classification head"));
    }

    /**
     * The issue's end to end on the embedded MiniLM, through the API only: upload the labelled set,
     * a classification job with a held-out split and an accuracy gate, published and activated; the
     * held-out accuracy of the adapter beats the untrained head and chance, and the alias serves it.
     */
    /**
     * A classification sweep carries the bag-of-words baseline its jobs measured on the same
     * validation data, says of each row whether it beats it, picks the best row by validation
     * accuracy (ties within one example by the lower loss) and warns that 15 validation examples
     * cannot separate the rows; the Markdown table has the baseline's row.
     */
    @Test
    void aClassificationSweepComparesItsRowsWithTheBagOfWordsBaseline() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
        String file = uploadTopics();
        String id = given().contentType(ContentType.JSON).body("{\"model\": \"" + resident.id() + "\", \"training_file\": \""
                + file + "\", \"methods\": [\"linear_probe\", \"lora\"], \"seed\": 11, \"suffix\": \"topic-sweep\","
                + " \"hyperparameters\": {\"epochs\": 2, \"batch_size\": 8, \"validation_split\": 0.25}}")
                .post("/v1/fine_tuning/sweeps").then().statusCode(200).extract().path("id");
        var done = RecommendationsRestTest.awaitSweep(id, 300);
        assertEquals("succeeded", done.getString("status"), done.prettify());
        assertEquals(15, done.getInt("validation_examples"));
        assertEquals("bag_of_words", done.getString("baseline.method"));
        double baseline = done.getDouble("baseline.accuracy");
        List<Map<String, Object>> rows = done.getList("table");
        String expected = null;
        double bestAccuracy = -1;
        double bestLoss = Double.POSITIVE_INFINITY;
        boolean anyBeats = false;
        for (Map<String, Object> row : rows) {
            assertEquals("succeeded", row.get("status"), row.toString());
            var job = FineTuningJobsRestTest.awaitFinal((String) row.get("job_id"), 10);
            assertEquals(baseline, job.getDouble("report.bag_of_words.accuracy"), 1e-9, "the same baseline in every job");
            double accuracy = ((Number) row.get("accuracy")).doubleValue();
            double loss = ((Number) row.get("eval_loss")).doubleValue();
            assertEquals(accuracy > baseline, row.get("beats_baseline"), row.toString());
            anyBeats |= accuracy > baseline;
            // highest accuracy; within one of the 15 examples: the lower loss
            boolean tied = Math.abs(accuracy - bestAccuracy) <= 1.0 / 15 + 1e-9;
            if ((!tied && accuracy > bestAccuracy) || (tied && loss < bestLoss)) {
                expected = (String) row.get("method");
                bestAccuracy = Math.max(accuracy, bestAccuracy);
                bestLoss = loss;
            }
        }
        assertEquals(expected, done.getString("best"), done.prettify());
        List<String> warnings = done.getList("warnings", String.class);
        assertEquals(!anyBeats, warnings.stream().anyMatch(w -> w.startsWith("no method beats the bag-of-words baseline")),
                warnings.toString());
        assertTrue(warnings.stream().anyMatch(w -> w.contains("15 examples")), warnings.toString());
        String md = done.getString("table_markdown");
        assertTrue(md.contains("| bag-of-words baseline |") && md.contains("Best: " + expected), md);
    }

    @Test
    void aClassificationJobTrainsPublishesAndServes() throws Exception {
        String file = uploadTopics();
        String id = given().contentType(ContentType.JSON).body("{\"model\": \"" + resident.id() + "\", \"training_file\": \""
                + file + "\", \"suffix\": \"topic-job\", \"seed\": 11, \"activate\": true,"
                + " \"publish_if\": {\"min_eval_accuracy\": 0.7},"
                + " \"method\": {\"type\": \"classification\", \"hyperparameters\": {\"epochs\": 6, \"batch_size\": 8,"
                + " \"learning_rate\": 0.003, \"warmup_steps\": 2, \"validation_split\": 0.25}, \"adapter\": {\"r\": 8}}}")
                .post("/v1/fine_tuning/jobs").then().statusCode(200).extract().path("id");
        var done = FineTuningJobsRestTest.awaitFinal(id, 300);
        assertEquals("succeeded", done.getString("status"), done.prettify());
        double base = done.getDouble("report.base.accuracy");
        double adapter = done.getDouble("report.adapter.accuracy");
        assertEquals(15, done.getInt("report.validation_examples"));
        assertEquals("truncate", done.getString("report.inputs.pooling"));
        assertEquals(0, done.getInt("report.inputs.cut"));
        assertTrue(adapter >= base + 0.25 && adapter >= 1.0 / 3 + 0.4, "held-out accuracy: untrained head " + base
                + ", adapter " + adapter);
        assertTrue(done.getDouble("report.adapter.ece") < done.getDouble("report.base.ece") + 0.05);
        assertEquals(10, done.getList("report.adapter.reliability").size());
        // the obvious baseline on the same validation set, and the adapter's gain over it
        assertEquals(15, done.getInt("report.bag_of_words.examples"));
        double bagOfWords = done.getDouble("report.bag_of_words.accuracy");
        assertEquals(adapter - bagOfWords, done.getDouble("report.gain_over_baseline"), 1e-6);
        // diagnostics: the base + linear probe baseline, per-layer CKA and probes; an encoder cannot forget an LM loss
        assertEquals(15, done.getInt("report.base_probe.examples"));
        assertEquals(10, done.getList("report.base_probe.reliability").size());
        int layers = resident.model().config().numLayers();
        assertEquals(layers, done.getList("report.layers").size());
        assertTrue(done.getDouble("report.layers[" + (layers - 1) + "].cka") < 1, "the LoRA changed the last layer");
        assertTrue(done.getDouble("report.layers[" + (layers - 1) + "].probe_accuracy_base") >= 0);
        assertFalse(done.getBoolean("report.forgetting.applicable"));
        java.nio.file.Files.writeString(java.nio.file.Path.of("target", "diagnostics-classification-job.json"), done.prettify());
        String onDemand = given().contentType(ContentType.JSON).body("{\"file\": \"" + file + "\", \"layers\": [0, 5]}")
                .post("/v1/adapters/topic-job/diagnostics").then().statusCode(200)
                .body("task", org.hamcrest.Matchers.equalTo("classification"))
                .body("validation_examples", org.hamcrest.Matchers.equalTo(30))
                .body("probe_train_examples", org.hamcrest.Matchers.equalTo(30))
                .body("layers.layer", org.hamcrest.Matchers.equalTo(List.of(0, 5)))
                .extract().asString();
        java.nio.file.Files.writeString(java.nio.file.Path.of("target", "diagnostics-classification-on-demand.json"),
                new io.restassured.path.json.JsonPath(onDemand).prettify());
        String published = done.getString("fine_tuned_model");
        assertTrue(published.startsWith("topic-job@"), published);
        var r = given().contentType(ContentType.JSON)
                .body("{\"model\":\"topic-job\",\"input\":[\"The striker scored twice in the derby.\","
                        + "\"Simmer the tomato sauce for an hour.\",\"The new laptop ships with a faster chip.\"]}")
                .post("/v1/classifications").then().statusCode(200).extract().jsonPath();
        assertEquals(published, r.getString("model"));
        assertEquals(List.of("sports", "food", "tech"), r.getList("data.label", String.class));
    }

    /**
     * {@code publish_if.min_gain_over_baseline}: a job whose adapter does not beat the bag-of-words
     * baseline by the margin is evaluated and reported but not published; out-of-range margins are
     * refused at creation.
     */
    @Test
    void theBaselineGateRefusesAnAdapterThatDoesNotBeatBagOfWordsByTheMargin() throws Exception {
        String file = uploadTopics();
        String job = "{\"model\": \"" + resident.id() + "\", \"training_file\": \"" + file + "\", \"suffix\": \"gated\", \"seed\": 5,"
                + " \"publish_if\": {\"min_gain_over_baseline\": %s}, \"method\": {\"type\": \"classification\","
                + " \"hyperparameters\": {\"epochs\": 1, \"batch_size\": 8, \"validation_split\": 0.25},"
                + " \"adapter\": {\"method\": \"linear_probe\"}}}";
        given().contentType(ContentType.JSON).body(String.format(job, "1.5")).post("/v1/fine_tuning/jobs").then().statusCode(400)
                .body("error.param", org.hamcrest.Matchers.equalTo("publish_if.min_gain_over_baseline"));
        String id = given().contentType(ContentType.JSON).body(String.format(job, "1.0")).post("/v1/fine_tuning/jobs")
                .then().statusCode(200).extract().path("id");
        var done = FineTuningJobsRestTest.awaitFinal(id, 300);
        assertEquals("succeeded", done.getString("status"), done.prettify());
        assertNull(done.getString("fine_tuned_model"), "not published");
        assertFalse(done.getBoolean("report.publish_if.passed"));
        assertTrue(done.getString("report.publish_if.reasons[0]").contains("bag-of-words baseline"), done.prettify());
        double bagOfWords = done.getDouble("report.bag_of_words.accuracy");
        assertTrue(bagOfWords >= 0 && bagOfWords <= 1, done.prettify());
        assertEquals(done.getDouble("report.adapter.accuracy") - bagOfWords, done.getDouble("report.gain_over_baseline"), 1e-6);
    }

    /**
     * A {@code linear_probe} job through the API: only a head over the frozen MiniLM's pooled
     * features, with the probe's default learning rate (1e-2); published as a PEFT folder without
     * LoRA pairs (rank 0) and served by {@code /v1/classifications}.
     */
    @Test
    void aLinearProbeJobTrainsPublishesAndServes() throws Exception {
        String file = uploadTopics();
        var created = given().contentType(ContentType.JSON).body("{\"model\": \"" + resident.id() + "\", \"training_file\": \""
                + file + "\", \"suffix\": \"probe-job\", \"seed\": 5, \"publish_if\": {\"min_eval_accuracy\": 0.7},"
                + " \"method\": {\"type\": \"classification\", \"hyperparameters\": {\"epochs\": 6, \"batch_size\": 8,"
                + " \"validation_split\": 0.25}, \"adapter\": {\"method\": \"linear_probe\"}}}")
                .post("/v1/fine_tuning/jobs").then().statusCode(200).extract().jsonPath();
        assertEquals(0.01, created.getDouble("method.hyperparameters.learning_rate"), 1e-9);
        var done = FineTuningJobsRestTest.awaitFinal(created.getString("id"), 300);
        assertEquals("succeeded", done.getString("status"), done.prettify());
        double base = done.getDouble("report.base.accuracy");
        double adapter = done.getDouble("report.adapter.accuracy");
        assertTrue(adapter >= base + 0.25 && adapter >= 1.0 / 3 + 0.4, "held-out accuracy: untrained head " + base
                + ", probe " + adapter);
        String published = done.getString("fine_tuned_model");
        assertTrue(published.startsWith("probe-job@"), published);
        AdapterVersion v = registry.resolve(TenantResolver.DEFAULT, published);
        assertEquals(0, v.rank(), "no LoRA pairs");
        var r = given().contentType(ContentType.JSON)
                .body("{\"model\":\"" + published + "\",\"input\":[\"The striker scored twice in the derby.\","
                        + "\"Simmer the tomato sauce for an hour.\",\"The new laptop ships with a faster chip.\"]}")
                .post("/v1/classifications").then().statusCode(200).extract().jsonPath();
        assertEquals(published, r.getString("model"));
        assertEquals(List.of("sports", "food", "tech"), r.getList("data.label", String.class));
    }

    /** Uploads the topics dataset (60 labelled sentences) once the base is resident; its file id. */
    /**
     * A classification job with {@code pooling: sliding_window} trains on long examples read in
     * windows, reports them, stores the pooling with the adapter, and serving reads a long text the
     * same way: the served probabilities are the training forward's (the head over the windows'
     * token-weighted average); a request naming another pooling is refused, as is one over the window limit.
     */
    @Test
    void aSlidingWindowClassificationJobServesLongTextsAsItTrainedOnThem() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
        StringBuilder jsonl = new StringBuilder();
        String[][] topics = {{"The striker scored twice in the second half.", "sports"},
                {"I baked fresh bread with rosemary this morning.", "food"},
                {"The new phone has a faster processor and more memory.", "tech"}};
        for (int i = 0; i < 12; i++) {
            String[] t = topics[i % 3];
            String text = i < 6 ? t[0] : (t[0] + " ").repeat(60).trim(); // about 600-700 tokens: two windows
            jsonl.append("{\"text\": \"").append(text).append("\", \"label\": \"").append(t[1]).append("\"}\n");
        }
        String file = given().multiPart("file", "long-topics.jsonl", jsonl.toString().getBytes(StandardCharsets.UTF_8),
                "application/jsonl").multiPart("purpose", "fine-tune").post("/v1/files").then().statusCode(200).extract().path("id");
        String id = given().contentType(ContentType.JSON).body("{\"model\": \"" + resident.id() + "\", \"training_file\": \""
                + file + "\", \"suffix\": \"long-topics\", \"seed\": 5, \"diagnostics\": {\"layers\": [5], \"max_examples\": 8},"
                + " \"method\": {\"type\": \"classification\", \"hyperparameters\": {\"epochs\": 1, \"batch_size\": 4,"
                + " \"validation_split\": 0.25, \"pooling\": \"sliding_window\"}, \"adapter\": {\"r\": 4}}}")
                .post("/v1/fine_tuning/jobs").then().statusCode(200)
                .body("method.hyperparameters.pooling", org.hamcrest.Matchers.equalTo("sliding_window"))
                .extract().path("id");
        var done = FineTuningJobsRestTest.awaitFinal(id, 600);
        assertEquals("succeeded", done.getString("status"), done.prettify());
        assertEquals("sliding_window", done.getString("report.inputs.pooling"));
        assertEquals(6, done.getInt("report.inputs.windowed"));
        assertEquals(0, done.getInt("report.inputs.cut"));
        assertEquals(512, done.getInt("report.inputs.max_length"));
        List<String> messages = given().queryParam("limit", 999).get("/v1/fine_tuning/jobs/" + id + "/events")
                .then().statusCode(200).extract().jsonPath().getList("data.message", String.class);
        assertTrue(messages.stream().anyMatch(m -> m.contains("6 example(s) read in sliding windows of 512 tokens")), messages.toString());

        String published = done.getString("fine_tuned_model");
        String text = ("Simmer the tomato sauce for an hour and add basil. ").repeat(70).trim();
        var served = given().contentType(ContentType.JSON).body("{\"model\":\"" + published + "\",\"input\":[\"" + text + "\"]}")
                .post("/v1/classifications").then().statusCode(200).extract().jsonPath();
        io.loragate.model.EncoderModel encoder = (io.loragate.model.EncoderModel) resident.model();
        long[] ids = resident.tokenizer().encode(text);
        io.loragate.model.InputWindows windows = io.loragate.model.InputWindows.of(List.of(ids),
                io.loragate.model.InputPooling.SLIDING_WINDOW, resident.tokenizer().frame(), 512, 16);
        assertEquals(io.loragate.model.SlidingWindowReference.windows(ids, 512).size(), windows.rows().size());
        assertTrue(windows.rows().size() >= 2, windows.rows().size() + " windows");
        try (io.loragate.registry.AdapterLease lease = cache.acquire(registry.resolve(TenantResolver.DEFAULT, published))
                .get(60, TimeUnit.SECONDS);
                ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager(encoder.device())) {
            assertEquals(io.loragate.model.InputPooling.SLIDING_WINDOW, lease.adapter().pooling());
            List<String> labels = lease.adapter().labels(3);
            float[] logits = encoder.logits(m, windows, io.loragate.adapter.MultiLoraHook.single(lease.adapter()), 3).toFloatArray();
            double[] p = io.loragate.training.trainer.ClassificationMetrics.softmax(logits);
            for (int k = 0; k < 3; k++) {
                assertEquals(p[k], served.getDouble("data[0].scores." + labels.get(k)), 1e-5, labels.get(k));
            }
        }
        given().contentType(ContentType.JSON).body("{\"model\":\"" + published + "\",\"input\":[\"" + text
                + "\"],\"pooling\":\"sliding_window\"}").post("/v1/classifications").then().statusCode(200);
        given().contentType(ContentType.JSON).body("{\"model\":\"" + published + "\",\"input\":[\"" + text
                + "\"],\"pooling\":\"truncate\"}").post("/v1/classifications").then().statusCode(400)
                .body("error.param", org.hamcrest.Matchers.equalTo("pooling"))
                .body("error.message", containsString("was trained with pooling 'sliding_window'"));
        given().contentType(ContentType.JSON).body("{\"model\":\"" + published + "\",\"input\":[\""
                + EncoderRestTestTexts.longText(7000) + "\"]}").post("/v1/classifications").then().statusCode(400)
                .body("error.message", containsString("loragate.limits.max-windows-per-input"));
    }

    private String uploadTopics() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
        byte[] topics;
        try (InputStream in = getClass().getResourceAsStream("/datasets/topics.jsonl")) {
            topics = in.readAllBytes();
        }
        return given().multiPart("file", "topics.jsonl", topics, "application/jsonl").multiPart("purpose", "fine-tune")
                .post("/v1/files").then().statusCode(200).extract().path("id");
    }
}
