package io.loragate.api.rest;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.Fixtures;
import io.loragate.TinyLlamaProfile;
import io.loragate.engine.EngineService;
import io.loragate.model.safetensors.SafetensorsFile;
import io.loragate.model.safetensors.SafetensorsWriter;
import io.loragate.runtime.ResidentModel;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The serving proofs of the gateway over real HTTP on the tiny-llama fixture: adapters registered
 * through the API give PEFT's greedy tokens, concurrent mixed-adapter traffic gives what each request
 * gives alone, and hot swaps under load fail nothing.
 */
@QuarkusTest
@TestProfile(TinyLlamaProfile.class)
class ServingTest {

    static final Path LLAMA = Path.of("src/test/resources/fixtures/hf/tiny-llama");
    static final String PROMPT0 = "Transfer learning isn't magic; it's thrift.";

    @Inject
    ResidentModel resident;

    @Inject
    EngineService engines;

    final String run = UUID.randomUUID().toString().substring(0, 8);

    @BeforeEach
    void ready() throws Exception {
        resident.whenLoaded().get(60, TimeUnit.SECONDS);
        for (int i = 0; i < 100 && given().get("/q/health/ready").statusCode() != 200; i++) {
            Thread.sleep(50);
        }
    }

    static String register(String name, Path folder) {
        return given().multiPart("name", name)
                .multiPart("config", folder.resolve("adapter_config.json").toFile(), "application/json")
                .multiPart("weights", folder.resolve("adapter_model.safetensors").toFile(), "application/octet-stream")
                .post("/v1/adapters").then().statusCode(200).extract().path("id");
    }

    static JsonPath complete(String model, String prompt, int maxTokens) {
        return given().contentType(ContentType.JSON)
                .body(Map.of("model", model, "prompt", prompt, "max_tokens", maxTokens, "temperature", 0, "return_token_ids", true))
                .post("/v1/completions").then().statusCode(200).extract().jsonPath();
    }

    static List<Long> ids(JsonPath r) {
        return r.getList("choices[0].token_ids", Long.class);
    }

    static List<Long> expected(String key) {
        try (SafetensorsFile ref = Fixtures.reference("tiny-llama")) {
            List<Long> out = new ArrayList<>();
            for (long t : ref.readLongs(key)) {
                if (t == 2) {
                    break; // HF keeps the EOS it stopped at; we stop before it
                }
                out.add(t);
            }
            return out;
        }
    }

    @Test
    void adaptersRegisteredThroughTheApiGivePeftsGreedyTokensPlainAndStreamed() {
        String a0 = "fx0-" + run;
        String a1 = "fx1-" + run;
        assertEquals(a0 + "@1", register(a0, LLAMA.resolve("adapter0")));
        assertEquals(a1 + "@1", register(a1, LLAMA.resolve("adapter1")));
        given().get("/v1/models").then().statusCode(200).body("data.id", org.hamcrest.Matchers.hasItems("tiny-llama", a0, a1));
        Map<String, String> keys = Map.of("tiny-llama", "base", a0, "adapter0", a1, "adapter1");
        for (var e : keys.entrySet()) {
            JsonPath r = complete(e.getKey(), PROMPT0, 12);
            assertEquals(expected("p0." + e.getValue() + ".greedy"), ids(r), e.getKey());
            assertEquals(e.getKey().equals("tiny-llama") ? "tiny-llama" : e.getKey() + "@1", r.getString("model"));
            String sse = given().contentType(ContentType.JSON)
                    .body(Map.of("model", e.getKey(), "prompt", PROMPT0, "max_tokens", 12, "temperature", 0, "stream", true, "return_token_ids", true))
                    .post("/v1/completions").then().statusCode(200).extract().asString();
            List<Long> streamed = new ArrayList<>();
            for (String line : sse.split("\n")) {
                if (line.startsWith("data: {")) {
                    streamed.addAll(JsonPath.from(line.substring(6)).getList("choices[0].token_ids", Long.class));
                }
            }
            assertEquals(expected("p0." + e.getValue() + ".greedy"), streamed, e.getKey() + " streamed");
        }
    }

    /** A random LoRA for tiny-llama's q,v projections (different from the fixtures'). */
    static Path randomAdapter(Path dir, int seed, int rank) throws Exception {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("adapter_config.json"), "{\"peft_type\":\"LORA\",\"r\":" + rank + ",\"lora_alpha\":" + (2 * rank)
                + ",\"target_modules\":[\"q_proj\",\"v_proj\"],\"bias\":\"none\",\"task_type\":\"CAUSAL_LM\"}");
        SplittableRandom rnd = new SplittableRandom(seed);
        SafetensorsWriter w = new SafetensorsWriter();
        for (int l = 0; l < 2; l++) {
            for (String m : List.of("q_proj", "v_proj")) {
                long out = m.equals("q_proj") ? 64 : 32;
                String p = "base_model.model.model.layers." + l + ".self_attn." + m;
                w.addFloats(p + ".lora_A.weight", new long[] {rank, 64}, random(rnd, rank * 64));
                w.addFloats(p + ".lora_B.weight", new long[] {out, rank}, random(rnd, (int) out * rank));
            }
        }
        w.write(dir.resolve("adapter_model.safetensors"));
        return dir;
    }

    static float[] random(SplittableRandom rnd, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) (rnd.nextGaussian() * 0.3);
        }
        return f;
    }

    @Test
    void sixtyFourConcurrentRequestsOverEightAdaptersReturnWhatEachReturnsAlone() throws Exception {
        Path tmp = Files.createTempDirectory("adapters");
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            String name = "mix" + i + "-" + run;
            register(name, randomAdapter(tmp.resolve(name), 100 + i, 2 + i % 4 * 2));
            names.add(name);
        }
        String[] prompts = {"the software", "Permission is hereby granted, free of charge,", PROMPT0, "thrift and magic"};
        Map<String, List<Long>> alone = new HashMap<>();
        for (String n : names) {
            for (String p : prompts) {
                alone.put(n + "|" + p, ids(complete(n, p, 10)));
            }
        }
        ExecutorService pool = Executors.newFixedThreadPool(64);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                String n = names.get(i % 8);
                String p = prompts[i / 8 % 4];
                results.add(pool.submit(() -> alone.get(n + "|" + p).equals(ids(complete(n, p, 10)))));
            }
            for (Future<Boolean> f : results) {
                assertTrue(f.get(120, TimeUnit.SECONDS), "a concurrent request differed from the same request alone");
            }
        } finally {
            pool.shutdownNow();
        }
        // the adapters really differ from each other
        assertTrue(alone.values().stream().distinct().count() > 8);
    }

    @Test
    void hotSwapUnderLoadFailsNothingAndEveryAnswerMatchesTheVersionThatServedIt() throws Exception {
        String name = "swap-" + run;
        register(name, LLAMA.resolve("adapter0"));
        register(name, LLAMA.resolve("adapter1"));
        Map<String, List<Long>> byVersion = Map.of(name + "@1", expected("p0.adapter0.greedy"), name + "@2", expected("p0.adapter1.greedy"));
        ExecutorService pool = Executors.newFixedThreadPool(16);
        AtomicInteger failures = new AtomicInteger();
        Map<String, Integer> served = new ConcurrentHashMap<>();
        List<String> mismatches = Collections.synchronizedList(new ArrayList<>());
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                fs.add(pool.submit(() -> {
                    var resp = given().contentType(ContentType.JSON)
                            .body(Map.of("model", name, "prompt", PROMPT0, "max_tokens", 12, "temperature", 0, "return_token_ids", true))
                            .post("/v1/completions");
                    if (resp.statusCode() != 200) {
                        failures.incrementAndGet();
                        return;
                    }
                    JsonPath r = resp.jsonPath();
                    String model = r.getString("model");
                    served.merge(model, 1, Integer::sum);
                    if (!byVersion.containsKey(model) || !byVersion.get(model).equals(ids(r))) {
                        mismatches.add(model + " " + ids(r));
                    }
                }));
            }
            for (int s = 0; s < 10; s++) {
                Thread.sleep(40);
                given().contentType(ContentType.JSON).body(Map.of("version", s % 2 == 0 ? 2 : 1))
                        .put("/v1/adapters/" + name + "/active").then().statusCode(200);
            }
            for (Future<?> f : fs) {
                f.get(180, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(0, failures.get(), "failed requests during hot swaps");
        assertTrue(mismatches.isEmpty(), "responses not matching their version: " + mismatches);
        assertEquals(200, served.values().stream().mapToInt(Integer::intValue).sum());
        assertEquals(2, served.size(), "both versions served during the swaps: " + served);
    }

    @Test
    void metricsExposePerAdapterCountersQueueBatchAndTheVllmLoraGauge() {
        String name = "met-" + run;
        register(name, LLAMA.resolve("adapter0"));
        complete(name, "the software", 4);
        String metrics = given().get("/q/metrics").then().statusCode(200).extract().asString();
        for (String m : List.of("loragate_requests_total", "loragate_prompt_tokens_total", "loragate_generation_tokens_total",
                "loragate_time_to_first_token_seconds", "loragate_queue_depth", "loragate_batch_size", "vllm:lora_requests_info",
                "max_lora=", "loragate_adapter_cache_hits_total", "loragate_adapter_cache_bytes", "loragate_adapter_cold_load_seconds")) {
            assertTrue(metrics.contains(m), "missing " + m);
        }
        assertTrue(metrics.contains("adapter=\"" + name + "\""), "per-adapter label (the name: versions would grow without bound)");
        assertTrue(!metrics.contains("adapter=\"" + name + "@1\""), "no per-version label");
    }

    @Test
    void aDecoderClassifiesThroughAnAdapterThatCarriesAScoreHead() throws Exception {
        Path dir = Files.createTempDirectory("scorehead").resolve("cls");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("adapter_config.json"), "{\"peft_type\":\"LORA\",\"r\":2,\"lora_alpha\":4,"
                + "\"target_modules\":[\"q_proj\",\"v_proj\"],\"modules_to_save\":[\"score\"],\"bias\":\"none\",\"task_type\":\"SEQ_CLS\"}");
        SplittableRandom rnd = new SplittableRandom(5);
        SafetensorsWriter w = new SafetensorsWriter();
        for (int l = 0; l < 2; l++) {
            for (String m : List.of("q_proj", "v_proj")) {
                long out = m.equals("q_proj") ? 64 : 32;
                String p = "base_model.model.model.layers." + l + ".self_attn." + m;
                w.addFloats(p + ".lora_A.weight", new long[] {2, 64}, random(rnd, 128));
                w.addFloats(p + ".lora_B.weight", new long[] {out, 2}, random(rnd, (int) out * 2));
            }
        }
        float[] score = random(rnd, 3 * 64); // (labels 3, hidden 64), like LlamaForSequenceClassification.score
        w.addFloats("base_model.model.score.weight", new long[] {3, 64}, score);
        w.write(dir.resolve("adapter_model.safetensors"));
        String name = "cls-" + run;
        register(name, dir);
        JsonPath r = given().contentType(ContentType.JSON).body(Map.of("model", name, "input", List.of("the software", "thrift")))
                .post("/v1/classifications").then().statusCode(200).extract().jsonPath();
        assertEquals(name + "@1", r.getString("model"));
        // expected: softmax(score · h_last) with h_last from the forward with the adapter's LoRA
        io.loragate.model.CausalModel model = (io.loragate.model.CausalModel) resident.model();
        try (io.loragate.adapter.LoraAdapter a = io.loragate.adapter.LoraAdapter.load(dir, model.config().family(), model.linears(), model.paramShapes(), ai.djl.Device.cpu());
                ai.djl.ndarray.NDManager m = model.manager().newSubManager()) {
            String[] inputs = {"the software", "thrift"};
            for (int i = 0; i < 2; i++) {
                float[] h = model.lastHidden(m, new long[][] {resident.tokenizer().encode(inputs[i])},
                        io.loragate.adapter.MultiLoraHook.single(a)).toFloatArray();
                double[] logits = new double[3];
                double max = Double.NEGATIVE_INFINITY;
                for (int k = 0; k < 3; k++) {
                    for (int d = 0; d < 64; d++) {
                        logits[k] += score[k * 64 + d] * h[d];
                    }
                    max = Math.max(max, logits[k]);
                }
                double sum = 0;
                for (int k = 0; k < 3; k++) {
                    sum += Math.exp(logits[k] - max);
                }
                for (int k = 0; k < 3; k++) {
                    assertEquals(Math.exp(logits[k] - max) / sum, r.getDouble("data[" + i + "].scores.LABEL_" + k), 1e-5, "input " + i + " label " + k);
                }
            }
        }
        // without a head, a decoder still refuses classification
        given().contentType(ContentType.JSON).body(Map.of("model", "tiny-llama", "input", "x"))
                .post("/v1/classifications").then().statusCode(400).body("error.message", containsString("classifier head"));
    }
}
