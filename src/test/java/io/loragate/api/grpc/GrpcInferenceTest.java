package io.loragate.api.grpc;

import static io.loragate.api.grpc.GrpcTestSupport.assertGreedy;
import static io.loragate.api.grpc.GrpcTestSupport.assertStatus;
import static io.loragate.api.grpc.GrpcTestSupport.ensureRegistered;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Context;
import io.grpc.Status;
import io.loragate.Fixtures;
import io.loragate.api.grpc.v1.AdapterServiceGrpc;
import io.loragate.api.grpc.v1.ClassifyRequest;
import io.loragate.api.grpc.v1.GenerateRequest;
import io.loragate.api.grpc.v1.GenerateResponse;
import io.loragate.api.grpc.v1.GenerateStreamResponse;
import io.loragate.api.grpc.v1.InferenceServiceGrpc;
import io.loragate.engine.Engine;
import io.loragate.engine.EngineService;
import io.loragate.model.safetensors.SafetensorsFile;
import io.loragate.runtime.ResidentModel;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.loragate.TinyLlamaProfile;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * InferenceService over a real gRPC channel against the tiny-llama fixture, with adapter0 and adapter1
 * registered through AdapterService: greedy tokens equal what transformers + PEFT produced.
 */
@QuarkusTest
@TestProfile(TinyLlamaProfile.class)
class GrpcInferenceTest {

    /** Fixture prompt 0. */
    static final String PROMPT = "Transfer learning isn't magic; it's thrift.";

    /** The fixture's adapter0 and adapter1 under names of this run. */
    static final String A0 = "adapter0-" + GrpcTestSupport.RUN;
    static final String A1 = "adapter1-" + GrpcTestSupport.RUN;

    @GrpcClient("loragate")
    InferenceServiceGrpc.InferenceServiceBlockingStub inference;

    @GrpcClient("loragate")
    AdapterServiceGrpc.AdapterServiceBlockingStub adapters;

    @Inject
    ResidentModel resident;

    @Inject
    MeterRegistry meters;

    @Inject
    EngineService engines;

    @BeforeEach
    void baseLoadedAndAdaptersRegistered() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
        ensureRegistered(adapters(), A0, "adapter0");
        ensureRegistered(adapters(), A1, "adapter1");
    }

    private InferenceServiceGrpc.InferenceServiceBlockingStub inference() {
        return inference.withDeadlineAfter(120, TimeUnit.SECONDS);
    }

    private AdapterServiceGrpc.AdapterServiceBlockingStub adapters() {
        return adapters.withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    /** The fixture adapter names in a test's parameters to this run's names. */
    static String named(String id) {
        return id.replace("adapter0", A0).replace("adapter1", A1);
    }

    static GenerateRequest greedy(String adapterId) {
        return GenerateRequest.newBuilder()
                .setAdapterId(adapterId)
                .setPrompt(PROMPT)
                .setMaxTokens(12)
                .setTemperature(0)
                .setReturnTokenIds(true)
                .build();
    }

    static long[] expected(String key) {
        try (SafetensorsFile ref = Fixtures.reference("tiny-llama")) {
            return ref.readLongs(key);
        }
    }

    static long[] longs(List<Long> list) {
        return list.stream().mapToLong(Long::longValue).toArray();
    }

    /** "" and the base id (no adapter), adapter names (their active version), an explicit version. */
    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "'', p0.base.greedy, tiny-llama",
            "tiny-llama, p0.base.greedy, tiny-llama",
            "adapter0, p0.adapter0.greedy, adapter0@1",
            "adapter1, p0.adapter1.greedy, adapter1@1",
            "adapter1@1, p0.adapter1.greedy, adapter1@1"})
    void greedyGenerateEqualsTransformers(String adapterId, String reference, String servedBy) {
        adapterId = named(adapterId);
        servedBy = named(servedBy);
        GenerateResponse r = inference().generate(greedy(adapterId));
        assertGreedy(expected(reference), longs(r.getTokenIdsList()), r.getFinishReason(), "Generate '" + adapterId + "'");
        assertArrayEquals(expected("p0.input_ids"), longs(r.getPromptTokenIdsList()), "prompt token ids");
        assertEquals(servedBy, r.getModel(), "the id that served it");
        assertEquals(r.getTokenIdsCount(), r.getUsage().getCompletionTokens());
        assertEquals(r.getPromptTokenIdsCount(), r.getUsage().getPromptTokens());
        assertEquals(r.getUsage().getPromptTokens() + r.getUsage().getCompletionTokens(), r.getUsage().getTotalTokens());
        assertTrue(List.of("stop", "length").contains(r.getFinishReason()), r.getFinishReason());
        assertFalse(r.getText().isEmpty());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "'', p0.base.greedy",
            "adapter0, p0.adapter0.greedy",
            "adapter1, p0.adapter1.greedy"})
    void greedyGenerateStreamEqualsTransformers(String adapterId, String reference) {
        adapterId = named(adapterId);
        List<Long> tokens = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        String finish = null;
        int finals = 0;
        Iterator<GenerateStreamResponse> stream = inference().generateStream(greedy(adapterId));
        while (stream.hasNext()) {
            GenerateStreamResponse chunk = stream.next();
            if (chunk.hasTokenId()) {
                tokens.add(chunk.getTokenId());
            }
            text.append(chunk.getText());
            if (!chunk.getFinishReason().isEmpty()) {
                finish = chunk.getFinishReason();
                finals++;
            }
        }
        assertEquals(1, finals, "exactly one message carries the finish reason");
        assertGreedy(expected(reference), longs(tokens), finish, "GenerateStream '" + adapterId + "'");
        // the stream says the same as the unary call
        GenerateResponse whole = inference().generate(greedy(adapterId));
        assertEquals(whole.getText(), text.toString());
        assertEquals(whole.getTokenIdsList(), tokens);
        assertEquals(whole.getFinishReason(), finish);
    }

    /**
     * A client that cancels a stream ends the request in the engine long before its 200 tokens (counted
     * in decode steps: nothing else runs meanwhile), and the server keeps serving.
     */
    @Test
    void cancellingAStreamRemovesItFromTheEngine() throws Exception {
        Engine engine = engines.engine();
        awaitIdle(engine);
        double stepsBefore = decodeSteps();
        GenerateRequest longOne = greedy(A0).toBuilder().setMaxTokens(200).build();
        try (Context.CancellableContext call = Context.current().withCancellation()) {
            Iterator<GenerateStreamResponse> stream = call.call(() -> inference().generateStream(longOne));
            assertTrue(stream.hasNext());
            assertTrue(stream.next().hasTokenId());
            call.cancel(null);
            assertStatus(Status.Code.CANCELLED, () -> {
                while (stream.hasNext()) {
                    stream.next();
                }
            });
        }
        awaitIdle(engine);
        double steps = decodeSteps() - stepsBefore;
        assertTrue(steps < 150, "the engine dropped the request early: " + steps + " decode steps of 199");

        // control: a request that runs to its end takes one decode step per token after the first
        double controlBefore = decodeSteps();
        GenerateResponse control = inference().generate(greedy(A0).toBuilder().setMaxTokens(40).build());
        awaitIdle(engine);
        assertTrue(decodeSteps() - controlBefore >= control.getTokenIdsCount() - 1, "decode steps are counted");
        GenerateResponse after = inference().generate(greedy(A1));
        assertGreedy(expected("p0.adapter1.greedy"), longs(after.getTokenIdsList()), after.getFinishReason(), "after a cancel");
    }

    private double decodeSteps() {
        DistributionSummary batches = meters.find("loragate_batch_size").summary();
        return batches == null ? 0 : batches.count();
    }

    private static void awaitIdle(Engine engine) throws InterruptedException {
        for (int i = 0; i < 600 && engine.running() + engine.waiting() > 0; i++) {
            Thread.sleep(10);
        }
        assertEquals(0, engine.running() + engine.waiting(), "engine idle");
    }

    @Test
    void tokenIdsOnlyWhenAskedFor() {
        GenerateResponse r = inference().generate(greedy(A0).toBuilder().setReturnTokenIds(false).build());
        assertEquals(0, r.getTokenIdsCount());
        assertEquals(0, r.getPromptTokenIdsCount());
        assertFalse(r.getText().isEmpty());
    }

    @Test
    void logprobsWhenAskedFor() {
        GenerateResponse r = inference().generate(greedy(A0).toBuilder().setLogprobs(true).build());
        assertEquals(r.getTokenIdsCount(), r.getLogprobsCount());
        for (double lp : r.getLogprobsList()) {
            assertTrue(lp <= 0 && Double.isFinite(lp), "log-probability " + lp);
        }
    }

    @Test
    void unknownAdapterIsNotFound() {
        Status s = assertStatus(Status.Code.NOT_FOUND, () -> inference().generate(greedy("no-such-adapter")));
        assertTrue(s.getDescription().contains("no-such-adapter"), s.getDescription());
        assertStatus(Status.Code.NOT_FOUND, () -> inference().generateStream(greedy(A0 + "@99")).forEachRemaining(c -> { }));
    }

    @Test
    void badSamplingArgumentsAreInvalid() {
        Status empty = assertStatus(Status.Code.INVALID_ARGUMENT,
                () -> inference().generate(greedy(A0).toBuilder().setPrompt("").build()));
        assertTrue(empty.getDescription().contains("prompt"), empty.getDescription());
        Status zero = assertStatus(Status.Code.INVALID_ARGUMENT,
                () -> inference().generate(greedy(A0).toBuilder().setMaxTokens(0).build()));
        assertTrue(zero.getDescription().contains("max_tokens"), zero.getDescription());
        Status negative = assertStatus(Status.Code.INVALID_ARGUMENT,
                () -> inference().generate(greedy("").toBuilder().setTemperature(-0.5).build()));
        assertTrue(negative.getDescription().contains("temperature"), negative.getDescription());
        assertStatus(Status.Code.INVALID_ARGUMENT,
                () -> inference().generateStream(greedy("").toBuilder().setMaxTokens(0).build()).forEachRemaining(c -> { }));
        // the server keeps serving
        GenerateResponse ok = inference().generate(greedy(""));
        assertGreedy(expected("p0.base.greedy"), longs(ok.getTokenIdsList()), ok.getFinishReason(), "after bad requests");
    }

    @Test
    void classifyOnADecoderBaseIsAFailedPrecondition() {
        assertStatus(Status.Code.FAILED_PRECONDITION,
                () -> inference().classify(ClassifyRequest.newBuilder().addInputs("hello").build()));
        assertStatus(Status.Code.INVALID_ARGUMENT,
                () -> inference().classify(ClassifyRequest.getDefaultInstance()));
    }

    /** {@code messages} render with the base's chat template, as REST's chat completions: same tokens, same refusals. */
    @Test
    void chatMessagesGenerateWhatRestChatCompletionsGenerate() {
        GenerateRequest chat = GenerateRequest.newBuilder().setAdapterId(A0).setMaxTokens(8).setTemperature(0).setReturnTokenIds(true)
                .addMessages(io.loragate.api.grpc.v1.ChatMessage.newBuilder().setRole("system").setContent("Be brief."))
                .addMessages(io.loragate.api.grpc.v1.ChatMessage.newBuilder().setRole("user").setContent("the software"))
                .build();
        GenerateResponse viaGrpc = inference().generate(chat);
        io.restassured.path.json.JsonPath viaRest = io.restassured.RestAssured.given().contentType(io.restassured.http.ContentType.JSON)
                .body("{\"model\":\"" + A0 + "\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                        + "{\"role\":\"user\",\"content\":\"the software\"}],\"max_tokens\":8,\"temperature\":0,"
                        + "\"return_token_ids\":true}")
                .post("/v1/chat/completions").then().statusCode(200).extract().jsonPath();
        assertEquals(viaRest.getList("prompt_token_ids", Long.class), viaGrpc.getPromptTokenIdsList());
        assertEquals(viaRest.getList("choices[0].token_ids", Long.class), viaGrpc.getTokenIdsList());
        assertEquals(viaRest.getString("choices[0].message.content"), viaGrpc.getText());
        // the template's text, not the bare user text, reached the model
        GenerateResponse bare = inference().generate(GenerateRequest.newBuilder().setAdapterId(A0).setPrompt("the software")
                .setMaxTokens(8).setTemperature(0).setReturnTokenIds(true).build());
        assertTrue(viaGrpc.getPromptTokenIdsCount() > bare.getPromptTokenIdsCount());
        // the streamed twin gives the same tokens
        List<Long> streamed = new java.util.ArrayList<>();
        inference().generateStream(chat).forEachRemaining(c -> {
            if (c.hasTokenId()) {
                streamed.add(c.getTokenId());
            }
        });
        assertEquals(viaGrpc.getTokenIdsList(), streamed);

        io.grpc.Status both = GrpcTestSupport.assertStatus(io.grpc.Status.Code.INVALID_ARGUMENT,
                () -> inference().generate(chat.toBuilder().setPrompt("hi").build()));
        assertTrue(both.getDescription().contains("either prompt or messages"), both.getDescription());
        io.grpc.Status role = GrpcTestSupport.assertStatus(io.grpc.Status.Code.INVALID_ARGUMENT,
                () -> inference().generate(chat.toBuilder().setMessages(1, io.loragate.api.grpc.v1.ChatMessage.newBuilder()
                        .setRole("wizard").setContent("x")).build()));
        assertTrue(role.getDescription().contains("messages[1].role"), role.getDescription());
    }

    /** ListModels is REST's /v1/models: the base first, then the caller's adapters at their active versions. */
    @Test
    void listModelsIsRestsModelList() {
        List<io.loragate.api.grpc.v1.Model> models = inference().listModels(io.loragate.api.grpc.v1.ListModelsRequest
                .getDefaultInstance()).getModelsList();
        assertEquals("tiny-llama", models.get(0).getId());
        assertFalse(models.get(0).getAdapter());
        io.loragate.api.grpc.v1.Model a0 = models.stream().filter(m -> m.getId().equals(A0)).findFirst().orElseThrow();
        assertTrue(a0.getAdapter());
        assertEquals(1, a0.getActiveVersion());
        assertEquals("tiny-llama", a0.getRoot());
        assertEquals(io.restassured.RestAssured.given().get("/v1/models").then().statusCode(200).extract().jsonPath()
                .getList("data.id", String.class), models.stream().map(io.loragate.api.grpc.v1.Model::getId).toList());
    }
}
