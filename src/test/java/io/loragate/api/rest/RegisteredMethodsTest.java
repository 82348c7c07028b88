package io.loragate.api.rest;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.protobuf.ByteString;
import io.loragate.Fixtures;
import io.loragate.TinyLlamaProfile;
import io.loragate.adapter.AdapterMethod;
import io.loragate.adapter.AdapterMethods;
import io.loragate.adapter.LoraAdapter;
import io.loragate.adapter.MultiLoraHook;
import io.loragate.adapter.PromptPart;
import io.loragate.api.grpc.v1.AdapterServiceGrpc;
import io.loragate.api.grpc.v1.AdapterVersion;
import io.loragate.api.grpc.v1.RegisterAdapterRequest;
import io.loragate.model.AdapterHook;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.model.KvCache;
import io.loragate.registry.AdapterRegistry;
import io.loragate.registry.Tenants;
import io.loragate.runtime.ResidentModel;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every method registered in {@link AdapterMethods#ALL}, on tiny-llama: a short job of the method
 * trains and publishes a folder of the method's {@code peft_type}; that folder uploads through REST
 * and through gRPC; the uploaded adapters of all methods, in one mixed batch with the base, give
 * each row the logits it gets alone; and the recommender lists and costs the method. A method added
 * to the registry is covered here without touching this test (only a method that needs settings
 * to train on a tiny base names them in {@link #settings}).
 */
@QuarkusTest
@TestProfile(TinyLlamaProfile.class)
class RegisteredMethodsTest {

    /** Batched and solo forwards differ by float rounding only. */
    private static final double TOLERANCE = 1e-4;

    @Inject
    ResidentModel resident;

    @Inject
    AdapterRegistry registry;

    @GrpcClient("loragate")
    AdapterServiceGrpc.AdapterServiceBlockingStub adapters;

    @BeforeEach
    void ready() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
    }

    /** Small settings that keep each job to a few steps on tiny-llama; methods not named take the job defaults. */
    private static String settings(AdapterMethod m) {
        return switch (m.name()) {
            case "lora", "rslora", "dora" -> ", \"r\": 4, \"alpha\": 8, \"dropout\": 0";
            case "prompt_tuning" -> ", \"num_virtual_tokens\": 4";
            case "bottleneck" -> ", \"bottleneck_size\": 8";
            default -> "";
        };
    }

    @Test
    void everyRegisteredMethodTrainsUploadsServesInAMixedBatchAndIsRecommended() throws Exception {
        String run = Long.toString(System.nanoTime(), 36); // tests run twice: fresh names
        String qa = FineTuningJobsRestTest.upload("methods-qa.jsonl", FineTuningJobsRestTest.promptCompletionSet());
        String topics;
        try (InputStream in = getClass().getResourceAsStream("/datasets/topics.jsonl")) {
            topics = FineTuningJobsRestTest.upload("methods-topics.jsonl", new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }

        // a short job of every method, one after the other (a tenant's queue is bounded)
        Map<AdapterMethod, Path> published = new LinkedHashMap<>();
        for (AdapterMethod m : AdapterMethods.ALL) {
            boolean cls = m.needsClassification();
            String body = "{\"model\": \"tiny-llama\", \"training_file\": \"" + (cls ? topics : qa) + "\", \"suffix\": \""
                    + m.name().replace('_', '-') + "-" + run + "\", \"seed\": 7, \"method\": {\"type\": \""
                    + (cls ? "classification" : "supervised") + "\", \"hyperparameters\": {\"epochs\": 1, \"batch_size\": 4,"
                    + " \"learning_rate\": 0.02}, \"adapter\": {\"method\": \"" + m.name() + "\"" + settings(m) + "}}}";
            JsonPath created = given().contentType(ContentType.JSON).body(body).when().post("/v1/fine_tuning/jobs")
                    .then().statusCode(200).extract().jsonPath();
            assertEquals(m.name(), created.getString("method.adapter.method"));
            JsonPath done = FineTuningJobsRestTest.awaitFinal(created.getString("id"), 300);
            assertEquals("succeeded", done.getString("status"), () -> m.name() + ": " + done.prettify());
            assertTrue(done.getLong("progress.step") > 0, m.name());
            String name = done.getString("fine_tuned_model");
            assertNotNull(name, m.name());
            io.loragate.registry.AdapterVersion v = registry.resolve(Tenants.DEFAULT, name);
            assertEquals(m.peftType(), v.peftType(), m.name());
            published.put(m, registry.folder(v));
        }

        // the published folder uploads through REST and through gRPC
        Map<AdapterMethod, String> uploaded = new LinkedHashMap<>();
        for (Map.Entry<AdapterMethod, Path> e : published.entrySet()) {
            AdapterMethod m = e.getKey();
            Path config = e.getValue().resolve("adapter_config.json");
            Path weights = e.getValue().resolve(LoraAdapter.WEIGHTS_FILE);
            String restName = "rest-" + m.name().replace('_', '-') + "-" + run;
            given().multiPart("name", restName).multiPart("config", config.toFile(), "application/json")
                    .multiPart("weights", weights.toFile(), "application/octet-stream")
                    .post("/v1/adapters").then().statusCode(200).body("peft_type", equalTo(m.peftType()));
            String grpcName = "grpc-" + m.name().replace('_', '-') + "-" + run;
            AdapterVersion g = adapters.withDeadlineAfter(60, TimeUnit.SECONDS).register(RegisterAdapterRequest.newBuilder()
                    .setName(grpcName).setAdapterConfigJson(ByteString.copyFrom(Files.readAllBytes(config)))
                    .setAdapterModelSafetensors(ByteString.copyFrom(Files.readAllBytes(weights))).build());
            assertEquals(m.peftType(), g.getPeftType(), m.name());
            uploaded.put(m, grpcName + "@1");
            if (!m.needsClassification()) {
                JsonPath completion = given().contentType(ContentType.JSON)
                        .body("{\"model\": \"" + restName + "\", \"prompt\": \"Q: violin\\nA:\", \"max_tokens\": 2,"
                                + " \"temperature\": 0}")
                        .when().post("/v1/completions").then().statusCode(200).extract().jsonPath();
                assertEquals(restName + "@1", completion.getString("model"));
            }
        }

        // one mixed batch: every method's uploaded adapter and the base, each row as alone
        try (CausalModel model = (CausalModel) BaseModel.load(Fixtures.hf("tiny-llama"), Device.cpu());
                NDManager out = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            List<LoraAdapter> loaded = new ArrayList<>();
            try {
                for (String id : uploaded.values()) {
                    loaded.add(LoraAdapter.load(registry.folder(registry.resolve(Tenants.DEFAULT, id)), model));
                }
                List<LoraAdapter> rows = new ArrayList<>(loaded);
                rows.add(null);
                long[] prompt = resident.tokenizer().encode("Q: violin\nA:");
                long[][] ids = new long[rows.size()][];
                for (int i = 0; i < rows.size(); i++) {
                    ids[i] = rows.get(i) == null ? prompt : PromptPart.prepend(prompt, rows.get(i).virtualTokens());
                }
                float[] batch;
                try (KvCache cache = model.newCache(rows.size())) {
                    NDArray last = model.forward(out, ids, cache, MultiLoraHook.perForward(rows), false); // (rows, vocab)
                    batch = last.toFloatArray();
                }
                int vocab = batch.length / rows.size();
                float[] base = lastLogits(model, out, ids[rows.size() - 1], AdapterHook.NONE, vocab);
                List<AdapterMethod> methods = new ArrayList<>(uploaded.keySet());
                for (int i = 0; i < rows.size(); i++) {
                    String what = i < methods.size() ? methods.get(i).name() : "base";
                    AdapterHook solo = rows.get(i) == null ? AdapterHook.NONE : MultiLoraHook.single(rows.get(i));
                    float[] alone = lastLogits(model, out, ids[i], solo, vocab);
                    double d = Fixtures.maxAbsDiff(alone, Arrays.copyOfRange(batch, i * vocab, (i + 1) * vocab));
                    System.out.printf("mixed batch vs alone, %s: max abs logit diff %.2e%n", what, d);
                    assertTrue(d < TOLERANCE, what + " in the mixed batch differs from its solo run by " + d);
                    if (i < methods.size() && !methods.get(i).needsClassification()) {
                        assertTrue(Fixtures.maxAbsDiff(alone, base) > 0, what + " changes the base's output");
                    }
                }
            } finally {
                loaded.forEach(LoraAdapter::close);
            }
        }

        // the recommender lists and costs every method (a classification file: every one; supervised: all that generate)
        for (String file : List.of(qa, topics)) {
            JsonPath plan = given().contentType(ContentType.JSON).body("{\"training_file\": \"" + file + "\"}")
                    .when().post("/v1/recommendations").then().statusCode(200).extract().jsonPath();
            boolean cls = plan.getString("task").equals("classification");
            List<Map<String, Object>> listed = new ArrayList<>(plan.getList("methods"));
            List<Map<String, Object>> excluded = plan.getList("excluded");
            if (excluded != null) {
                listed.addAll(excluded);
            }
            for (AdapterMethod m : AdapterMethods.ALL) {
                Map<String, Object> p = listed.stream().filter(x -> m.name().equals(x.get("method"))).findFirst().orElse(null);
                if (m.needsClassification() && !cls) {
                    assertNull(p, m.name() + " is not listed for a supervised file");
                    continue;
                }
                assertNotNull(p, m.name() + " is listed for " + plan.getString("task"));
                @SuppressWarnings("unchecked")
                Map<String, Number> compute = (Map<String, Number>) p.get("compute");
                assertTrue(compute.get("trainable_params").longValue() > 0, m.name() + ": " + compute);
                assertTrue(compute.get("adapter_bytes").longValue() > 0, m.name() + ": " + compute);
                assertTrue(compute.get("train_seconds").doubleValue() > 0, m.name() + ": " + compute);
                assertFalse(((List<?>) p.get("reasons")).isEmpty(), m.name());
            }
        }
    }

    private static float[] lastLogits(CausalModel model, NDManager out, long[] ids, AdapterHook hook, int vocab) {
        float[] all = model.logits(out, ids, hook).toFloatArray();
        return Arrays.copyOfRange(all, all.length - vocab, all.length);
    }
}
