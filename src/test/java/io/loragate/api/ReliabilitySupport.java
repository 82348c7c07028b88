package io.loragate.api;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.Fixtures;
import io.loragate.engine.Engine;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** Helpers of the reliability tests (cancellation, overload, corruption) on {@link ReliabilityProfile}. */
final class ReliabilitySupport {

    /** Suffix of this run's adapter names: the test data directory outlives a run. */
    static final String RUN = Long.toString(System.currentTimeMillis() % 1_000_000_000L, 36);

    private ReliabilitySupport() {
    }

    /** Registers a fixture adapter of tiny-llama ({@code adapter0}, {@code adapter1}) over REST; answers its id. */
    static String register(String name, String fixture) {
        Path folder = Fixtures.hf("tiny-llama").resolve(fixture);
        return given().multiPart("name", name).multiPart("config", folder.resolve("adapter_config.json").toFile())
                .multiPart("weights", folder.resolve("adapter_model.safetensors").toFile())
                .post("/v1/adapters").then().statusCode(200).extract().path("id");
    }

    /** A completion request body: greedy, never stopping at EOS (so max_tokens is what it generates). */
    static String body(String model, int maxTokens, boolean stream) {
        return "{\"model\": \"" + model + "\", \"prompt\": \"Transfer learning is thrift.\", \"max_tokens\": " + maxTokens
                + ", \"temperature\": 0, \"ignore_eos\": true, \"stream\": " + stream + "}";
    }

    static Response complete(String model, int maxTokens) {
        return given().contentType(ContentType.JSON).body(body(model, maxTokens, false)).post("/v1/completions");
    }

    static void await(BooleanSupplier condition, long millis, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, what);
            Thread.sleep(1);
        }
    }

    static void awaitIdle(Engine engine) throws InterruptedException {
        await(() -> engine.running() == 0 && engine.waiting() == 0 && engine.pendingTasks() == 0, 60_000, "the engine stays busy");
    }
}
