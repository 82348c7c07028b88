package io.loragate.api.rest;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.model.AdapterHook;
import io.loragate.model.EncoderModel;
import io.loragate.runtime.ResidentModel;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The default gateway (embedded MiniLM): embeddings over REST, and clear errors for what an encoder cannot do. */
@QuarkusTest
class EncoderRestTest {

    @Inject
    ResidentModel resident;

    @BeforeEach
    void ready() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
        for (int i = 0; i < 100 && given().get("/q/health/ready").statusCode() != 200; i++) {
            Thread.sleep(50);
        }
    }

    @Test
    void embeddingsAreTheModelsMeanPooledUnitVectors() {
        List<String> input = List.of("A cat sits on the mat.", "Übermäßig große Äpfel — 很好");
        var r = given().contentType(ContentType.JSON)
                .body("{\"model\":\"all-minilm-l6-v2\",\"input\":[\"A cat sits on the mat.\",\"Übermäßig große Äpfel — 很好\"]}")
                .post("/v1/embeddings").then().statusCode(200)
                .body("object", equalTo("list")).body("data[1].index", equalTo(1))
                .extract().jsonPath();
        EncoderModel model = (EncoderModel) resident.model();
        float[][] expected = model.embed(input.stream().map(s -> resident.tokenizer().encode(s)).toList(),
                EncoderModel.Pooling.MEAN, AdapterHook.NONE);
        for (int i = 0; i < 2; i++) {
            List<Float> got = r.getList("data[" + i + "].embedding", Float.class);
            assertEquals(384, got.size());
            double norm = 0;
            for (int k = 0; k < 384; k++) {
                assertEquals(expected[i][k], got.get(k), 1e-6);
                norm += got.get(k) * got.get(k);
            }
            assertEquals(1.0, norm, 1e-4);
        }
        assertTrue(r.getInt("usage.prompt_tokens") > 10);
    }

    /** OpenAI's Python SDK asks for {@code encoding_format: "base64"} by default: little-endian float32, the same vector. */
    @Test
    void base64EmbeddingsAreTheSameFloatsLittleEndian() {
        String body = "{\"model\":\"all-minilm-l6-v2\",\"input\":[\"A cat sits on the mat.\"]";
        List<Float> floats = given().contentType(ContentType.JSON).body(body + "}").post("/v1/embeddings").then().statusCode(200)
                .extract().jsonPath().getList("data[0].embedding", Float.class);
        String encoded = given().contentType(ContentType.JSON).body(body + ",\"encoding_format\":\"base64\"}").post("/v1/embeddings")
                .then().statusCode(200).extract().path("data[0].embedding");
        java.nio.FloatBuffer decoded = java.nio.ByteBuffer.wrap(java.util.Base64.getDecoder().decode(encoded))
                .order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        assertEquals(384, decoded.remaining());
        for (int k = 0; k < 384; k++) {
            assertEquals(floats.get(k), decoded.get(k), 0f, "component " + k);
        }
        given().contentType(ContentType.JSON).body(body + ",\"encoding_format\":\"int8\"}").post("/v1/embeddings").then()
                .statusCode(400).body("error.message", org.hamcrest.Matchers.containsString("'float' or 'base64'"));
    }

    /**
     * Tenant isolation: a request of long inputs runs in micro-batches of at most
     * {@code loragate.engine.encoder-batch-tokens} (4096) padded tokens, longest first, and answers in
     * input order what each input alone gives; a request over {@code loragate.limits.max-inputs} (64),
     * e.g. 2,000 inputs, is refused with 400 naming the limit before any forward.
     */
    @Test
    void longInputsRunInMicroBatchesWithinTheTokenBudget() {
        EncoderModel model = (EncoderModel) resident.model();
        List<String> input = new java.util.ArrayList<>();
        for (int i = 0; i < 12; i++) {
            input.add(i % 4 == 3 ? "short input number " + i : "cat ".repeat(500 + i));
        }
        List<long[]> ids = input.stream().map(s -> resident.tokenizer().encode(s)).toList();
        assertEquals(510, ids.get(8).length);
        long forwards = model.inferenceForwards();
        String body = "{\"model\":\"all-minilm-l6-v2\",\"input\":[\"" + String.join("\",\"", input) + "\"]}";
        var r = given().contentType(ContentType.JSON).body(body).post("/v1/embeddings").then().statusCode(200)
                .extract().jsonPath();
        assertEquals(io.loragate.model.EncoderBatches.plan(ids, 4096).size(), model.inferenceForwards() - forwards);
        assertEquals(2, io.loragate.model.EncoderBatches.plan(ids, 4096).size()); // 8 rows of ~510 tokens, then the rest
        assertTrue(model.largestForwardTokens() <= 4096, "a forward of " + model.largestForwardTokens() + " tokens");
        for (int i = 0; i < ids.size(); i++) {
            float[] alone = model.embed(List.of(ids.get(i)), EncoderModel.Pooling.MEAN, AdapterHook.NONE)[0];
            List<Float> got = r.getList("data[" + i + "].embedding", Float.class);
            assertEquals(i, r.getInt("data[" + i + "].index"));
            for (int k = 0; k < alone.length; k++) {
                assertEquals(alone[k], got.get(k), 1e-5, "input " + i + " component " + k);
            }
        }

        String many = "{\"model\":\"all-minilm-l6-v2\",\"input\":[" + String.join(",", java.util.Collections.nCopies(2000, "\"x\"")) + "]}";
        long before = model.inferenceForwards();
        given().contentType(ContentType.JSON).body(many).post("/v1/embeddings").then().statusCode(400)
                .body("error.param", equalTo("input")).body("error.type", equalTo("invalid_request_error"))
                .body("error.message", equalTo("at most 64 inputs per request, got 2000"));
        given().contentType(ContentType.JSON).body(many).post("/v1/classifications").then().statusCode(400)
                .body("error.param", equalTo("input"));
        assertEquals(before, model.inferenceForwards());
    }

    /**
     * A large request does not hold the engine for its whole length: each micro-batch is an engine
     * task of its own, and the next is queued only when one ends, so a small request of another
     * tenant that arrives during a large one is answered before the large one ends (it used to
     * wait for all of it: ~30 s for 50 inputs of 512 tokens on a loaded 2-core machine). Ordering,
     * not wall time: the small request must finish while the large one still has micro-batches left.
     */
    @Test
    void aSmallRequestIsServedBetweenTheMicroBatchesOfALargeOne() throws Exception {
        EncoderModel model = (EncoderModel) resident.model();
        List<String> input = new java.util.ArrayList<>();
        for (int i = 0; i < 64; i++) {
            input.add("dog ".repeat(250)); // 252 tokens: 16 rows per micro-batch of 4096 tokens, 4 micro-batches
        }
        List<long[]> ids = input.stream().map(s -> resident.tokenizer().encode(s)).toList();
        int microBatches = io.loragate.model.EncoderBatches.plan(ids, 4096).size();
        assertEquals(4, microBatches);
        String big = "{\"model\":\"all-minilm-l6-v2\",\"input\":[\"" + String.join("\",\"", input) + "\"]}";
        long forwards = model.inferenceForwards();
        java.util.concurrent.CompletableFuture<Integer> large = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> given().config(io.restassured.RestAssured.config().httpClient(io.restassured.config.HttpClientConfig
                        .httpClientConfig().setParam("http.socket.timeout", 300_000))) // a loaded machine may take minutes
                        .contentType(ContentType.JSON).body(big).post("/v1/embeddings").statusCode());
        // once the large request's first micro-batch has started, send a small one
        for (int i = 0; i < 6000 && model.inferenceForwards() == forwards && !large.isDone(); i++) {
            Thread.sleep(10);
        }
        assertTrue(model.inferenceForwards() > forwards, "the large request started (answered " + (large.isDone() ? large.get() : "-") + ")");
        // it waits at most for the micro-batch that is running (seconds on a busy machine), not for the whole request
        given().config(io.restassured.RestAssured.config().httpClient(io.restassured.config.HttpClientConfig
                .httpClientConfig().setParam("http.socket.timeout", 300_000)))
                .contentType(ContentType.JSON).body("{\"model\":\"all-minilm-l6-v2\",\"input\":\"a small request\"}")
                .post("/v1/embeddings").then().statusCode(200);
        long ranForLarge = model.inferenceForwards() - forwards - 1; // the small request's own forward excluded
        assertTrue(ranForLarge < microBatches, "the small request waited for the whole large one: " + ranForLarge + " of "
                + microBatches + " micro-batches had run");
        assertEquals(200, large.get(300, TimeUnit.SECONDS));
        assertEquals(microBatches + 1, model.inferenceForwards() - forwards);
    }

    @Test
    void modelsListsTheBaseAndAnEncoderRefusesGeneration() {
        given().get("/v1/models").then().statusCode(200).body("data[0].id", equalTo("all-minilm-l6-v2"))
                .body("data[0].object", equalTo("model"));
        given().contentType(ContentType.JSON).body("{\"model\":\"all-minilm-l6-v2\",\"prompt\":\"hello\"}")
                .post("/v1/completions").then().statusCode(400)
                .body("error.message", containsString("encoder")).body("error.code", equalTo("failed_precondition"));
        given().contentType(ContentType.JSON).body("{\"model\":\"all-minilm-l6-v2\",\"input\":\"hello\"}")
                .post("/v1/classifications").then().statusCode(400).body("error.message", containsString("no classification head"));
        given().contentType(ContentType.JSON).body("{\"model\":\"all-minilm-l6-v2\",\"input\":42}")
                .post("/v1/embeddings").then().statusCode(400).body("error.param", equalTo("input"));
    }

    static String longText(int words) {
        return EncoderRestTestTexts.longText(words);
    }

    private static List<Float> embedding(String input, String pooling) {
        return given().contentType(ContentType.JSON).body("{\"model\":\"all-minilm-l6-v2\",\"input\":[\"" + input + "\"]"
                + (pooling == null ? "" : ",\"pooling\":\"" + pooling + "\"") + "}")
                .post("/v1/embeddings").then().statusCode(200).extract().jsonPath().getList("data[0].embedding", Float.class);
    }

    /** A text that fits the window reads exactly as before with either pooling. */
    @Test
    void aShortTextGivesTodaysVectorWithEitherPooling() {
        String text = "A cat sits on the mat.";
        float[] today = ((EncoderModel) resident.model()).embed(List.of(resident.tokenizer().encode(text)),
                EncoderModel.Pooling.MEAN, AdapterHook.NONE)[0];
        for (String pooling : java.util.Arrays.asList(null, "truncate", "sliding_window")) {
            List<Float> got = embedding(text, pooling);
            for (int k = 0; k < today.length; k++) {
                assertEquals(today[k], got.get(k), 0f, pooling + " component " + k);
            }
        }
    }

    /**
     * A text longer than the window: truncate (the default) embeds its first 511 tokens and [SEP];
     * sliding_window is the token-weighted average of its windows, each embedded alone, made unit length.
     */
    @Test
    void aLongTextIsTruncatedByDefaultAndAveragedOverItsWindowsWithSlidingWindow() {
        EncoderModel model = (EncoderModel) resident.model();
        String text = longText(1000);
        long[] ids = resident.tokenizer().encode(text);
        int room = model.config().maxPositions();
        List<long[]> windows = io.loragate.model.SlidingWindowReference.windows(ids, room);
        assertTrue(ids.length > room && windows.size() == 3, ids.length + " tokens, " + windows.size() + " windows");
        long[] cut = java.util.Arrays.copyOf(ids, room);
        cut[room - 1] = ids[ids.length - 1];
        float[] truncated = model.embed(List.of(cut), EncoderModel.Pooling.MEAN, AdapterHook.NONE)[0];
        List<Float> byDefault = embedding(text, null);
        for (int k = 0; k < truncated.length; k++) {
            assertEquals(truncated[k], byDefault.get(k), 1e-6, "truncate component " + k);
        }
        double[] expected = io.loragate.model.SlidingWindowReference.embedding(model, ids, room);
        List<Float> got = embedding(text, "sliding_window");
        double norm = 0;
        double differs = 0;
        for (int k = 0; k < expected.length; k++) {
            assertEquals(expected[k], got.get(k), 1e-5, "sliding_window component " + k);
            norm += got.get(k) * got.get(k);
            differs = Math.max(differs, Math.abs(got.get(k) - truncated[k]));
        }
        assertEquals(1.0, norm, 1e-4);
        assertTrue(differs > 1e-3, "the later windows count: " + differs);
    }

    /**
     * An input needing more than loragate.limits.max-windows-per-input (16) windows is refused with
     * 400 naming the limit, before any forward; an unknown pooling is refused too.
     */
    @Test
    void anInputOverTheWindowLimitIsRefused() {
        EncoderModel model = (EncoderModel) resident.model();
        String text = longText(7000); // 7002 tokens: 18 windows of 512
        long before = model.inferenceForwards();
        given().contentType(ContentType.JSON).body("{\"model\":\"all-minilm-l6-v2\",\"input\":[\"short\",\"" + text
                + "\"],\"pooling\":\"sliding_window\"}").post("/v1/embeddings").then().statusCode(400)
                .body("error.param", equalTo("input"))
                .body("error.message", containsString("18 windows of 512 tokens with pooling 'sliding_window', more than the limit"
                        + " of 16 (loragate.limits.max-windows-per-input)"));
        given().contentType(ContentType.JSON).body("{\"model\":\"all-minilm-l6-v2\",\"input\":[\"short\"],\"pooling\":\"max\"}")
                .post("/v1/embeddings").then().statusCode(400).body("error.param", equalTo("pooling"));
        assertEquals(before, model.inferenceForwards());
    }
}
