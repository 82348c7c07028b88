package io.loragate.api.grpc;

import static io.loragate.api.grpc.GrpcTestSupport.assertStatus;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.loragate.api.grpc.v1.ClassifyRequest;
import io.loragate.api.grpc.v1.EmbedRequest;
import io.loragate.api.grpc.v1.EmbedResponse;
import io.loragate.api.grpc.v1.GenerateRequest;
import io.loragate.api.grpc.v1.InferenceServiceGrpc;
import io.loragate.model.AdapterHook;
import io.loragate.model.EncoderModel;
import io.loragate.runtime.ResidentModel;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The default gateway (embedded MiniLM) over gRPC: embeddings, and clear statuses for what an encoder cannot do. */
@QuarkusTest
class GrpcEncoderTest {

    @GrpcClient("loragate")
    InferenceServiceGrpc.InferenceServiceBlockingStub inference;

    @Inject
    ResidentModel resident;

    @BeforeEach
    void ready() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
    }

    private InferenceServiceGrpc.InferenceServiceBlockingStub inference() {
        return inference.withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    @Test
    void embeddingsAreTheModelsMeanPooledUnitVectors() {
        List<String> input = List.of("A cat sits on the mat.", "Übermäßig große Äpfel — 很好");
        for (String adapterId : List.of("", "all-minilm-l6-v2")) {
            EmbedResponse r = inference().embed(EmbedRequest.newBuilder().setAdapterId(adapterId).addAllInputs(input).build());
            assertEquals("all-minilm-l6-v2", r.getModel());
            EncoderModel model = (EncoderModel) resident.model();
            float[][] expected = model.embed(input.stream().map(s -> resident.tokenizer().encode(s)).toList(),
                    EncoderModel.Pooling.MEAN, AdapterHook.NONE);
            assertEquals(2, r.getEmbeddingsCount());
            for (int i = 0; i < 2; i++) {
                List<Float> got = r.getEmbeddings(i).getValuesList();
                assertEquals(384, got.size());
                double norm = 0;
                for (int k = 0; k < 384; k++) {
                    assertEquals(expected[i][k], got.get(k), 1e-6);
                    norm += got.get(k) * got.get(k);
                }
                assertEquals(1.0, norm, 1e-4);
            }
            assertTrue(r.getUsage().getPromptTokens() > 10);
            assertEquals(r.getUsage().getPromptTokens(), r.getUsage().getTotalTokens());
        }
    }

    /** EmbedRequest.pooling: sliding_window averages the windows of a long text; the window limit is INVALID_ARGUMENT. */
    @Test
    void aLongTextPooledOverSlidingWindows() {
        EncoderModel model = (EncoderModel) resident.model();
        String text = io.loragate.api.rest.EncoderRestTestTexts.longText(900);
        long[] ids = resident.tokenizer().encode(text);
        double[] expected = io.loragate.model.SlidingWindowReference.embedding(model, ids, model.config().maxPositions());
        EmbedResponse r = inference().embed(EmbedRequest.newBuilder().addInputs(text).setPooling("sliding_window").build());
        List<Float> got = r.getEmbeddings(0).getValuesList();
        for (int k = 0; k < expected.length; k++) {
            assertEquals(expected[k], got.get(k), 1e-5, "component " + k);
        }
        assertEquals(ids.length, r.getUsage().getPromptTokens());
        Status limit = assertStatus(Status.Code.INVALID_ARGUMENT, () -> inference().embed(EmbedRequest.newBuilder()
                .addInputs(io.loragate.api.rest.EncoderRestTestTexts.longText(7000)).setPooling("sliding_window").build()));
        assertTrue(limit.getDescription().contains("loragate.limits.max-windows-per-input"), limit.getDescription());
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> inference().embed(EmbedRequest.newBuilder().addInputs("hi")
                .setPooling("mean").build()));
    }

    @Test
    void anEncoderRefusesGenerationAndClassificationWithoutAHead() {
        Status generate = assertStatus(Status.Code.FAILED_PRECONDITION, () -> inference().generate(
                GenerateRequest.newBuilder().setPrompt("hello").setMaxTokens(4).build()));
        assertTrue(generate.getDescription().contains("encoder"), generate.getDescription());
        assertStatus(Status.Code.FAILED_PRECONDITION, () -> inference().generateStream(
                GenerateRequest.newBuilder().setPrompt("hello").build()).forEachRemaining(c -> { }));
        Status classify = assertStatus(Status.Code.FAILED_PRECONDITION,
                () -> inference().classify(ClassifyRequest.newBuilder().addInputs("hello").build()));
        assertTrue(classify.getDescription().contains("no classification head"), classify.getDescription());
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> inference().embed(EmbedRequest.getDefaultInstance()));
        assertStatus(Status.Code.NOT_FOUND, () -> inference().embed(
                EmbedRequest.newBuilder().setAdapterId("no-such-adapter").addInputs("hello").build()));
    }
}
