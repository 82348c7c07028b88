package io.loragate.api.grpc;

import static io.loragate.api.grpc.GrpcTestSupport.assertStatus;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.loragate.api.grpc.v1.AdapterRef;
import io.loragate.api.grpc.v1.AdapterServiceGrpc;
import io.loragate.api.grpc.v1.CancelJobRequest;
import io.loragate.api.grpc.v1.CancelSweepRequest;
import io.loragate.api.grpc.v1.CreateSweepRequest;
import io.loragate.api.grpc.v1.DiagnoseRequest;
import io.loragate.api.grpc.v1.GetSweepRequest;
import io.loragate.api.grpc.v1.RecommendRequest;
import io.loragate.api.grpc.v1.CreateJobRequest;
import io.loragate.api.grpc.v1.GenerateRequest;
import io.loragate.api.grpc.v1.GetAdapterRequest;
import io.loragate.api.grpc.v1.GetJobRequest;
import io.loragate.api.grpc.v1.InferenceServiceGrpc;
import io.loragate.api.grpc.v1.SetActiveVersionRequest;
import io.loragate.api.grpc.v1.TrainingServiceGrpc;
import io.loragate.api.grpc.v1.WatchJobRequest;
import io.loragate.registry.TinyLlamaRegistryProfile;
import io.loragate.runtime.ResidentModel;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Untrusted input (docs/security.md) over gRPC, the twin of {@code UntrustedInputRestTest}: hostile ids in every
 * id-taking rpc answer INVALID_ARGUMENT or NOT_FOUND with a description (no stack trace, nothing
 * else), and touch nothing in the data directory.
 */
@QuarkusTest
@TestProfile(TinyLlamaRegistryProfile.class)
class GrpcUntrustedInputTest {

    private static final Path DATA = Path.of("target/test-data-registry");

    /** Hostile ids as a client would send them (gRPC strings are not URL-decoded: raw bytes reach us). */
    private static final List<String> IDS = List.of("..", "../x", "../../etc/passwd", "/etc/passwd", "..\\..", "a\u0000b",
            "file-../../x", "ftjob-../x", "x".repeat(300), "\uFF41\uFF44", "\u0430dapter", "Adapter", "a b", ".hidden",
            "name@../1", "name@-1", "name@99999999999", "name@", "@1", "a/b", "%2e%2e");

    private static final Set<Status.Code> REFUSED = Set.of(Status.Code.INVALID_ARGUMENT, Status.Code.NOT_FOUND);

    @GrpcClient("loragate")
    AdapterServiceGrpc.AdapterServiceBlockingStub adapters;

    @GrpcClient("loragate")
    InferenceServiceGrpc.InferenceServiceBlockingStub inference;

    @GrpcClient("loragate")
    TrainingServiceGrpc.TrainingServiceBlockingStub training;

    @Inject
    ResidentModel resident;

    private static void refused(String id, org.junit.jupiter.api.function.Executable call) {
        Status.Code code;
        try {
            code = assertStatus(Status.Code.INVALID_ARGUMENT, call).getCode();
        } catch (org.opentest4j.AssertionFailedError notInvalid) {
            code = assertStatus(Status.Code.NOT_FOUND, call).getCode();
        }
        assertTrue(REFUSED.contains(code), id + ": " + code);
    }

    @Test
    void hostileIdsAreRefusedOnEveryRpcAndTouchNothing() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
        Files.createDirectories(DATA);
        List<Path> before = tree(DATA);
        AdapterServiceGrpc.AdapterServiceBlockingStub a = adapters.withDeadlineAfter(60, TimeUnit.SECONDS);
        InferenceServiceGrpc.InferenceServiceBlockingStub inf = inference.withDeadlineAfter(60, TimeUnit.SECONDS);
        TrainingServiceGrpc.TrainingServiceBlockingStub t = training.withDeadlineAfter(60, TimeUnit.SECONDS);
        for (String id : IDS) {
            AdapterRef ref = AdapterRef.newBuilder().setAdapterId(id).build();
            refused(id, () -> a.get(GetAdapterRequest.newBuilder().setName(id).build()));
            refused(id, () -> a.setActiveVersion(SetActiveVersionRequest.newBuilder().setName(id).setVersion(1).build()));
            refused(id, () -> a.load(ref));
            refused(id, () -> a.unload(ref));
            refused(id, () -> a.pin(ref));
            refused(id, () -> a.unpin(ref));
            refused(id, () -> a.deleteVersion(ref));
            refused(id, () -> inf.generate(GenerateRequest.newBuilder().setAdapterId(id).setPrompt("hi").setMaxTokens(1).build()));
            refused(id, () -> t.getJob(GetJobRequest.newBuilder().setJobId(id).build()));
            refused(id, () -> t.cancelJob(CancelJobRequest.newBuilder().setJobId(id).build()));
            refused(id, () -> t.watchJob(WatchJobRequest.newBuilder().setJobId(id).build()).hasNext());
            refused(id, () -> t.createJob(CreateJobRequest.newBuilder().setModel("tiny-llama").setTrainingFile(id)
                    .setSuffix("ok").build()));
            refused(id, () -> t.createJob(CreateJobRequest.newBuilder().setModel("tiny-llama").setTrainingFile("file-0")
                    .setSuffix(id).build()));
            refused(id, () -> a.diagnose(DiagnoseRequest.newBuilder().setAdapterId(id).setFile("file-0").build()));
            refused(id, () -> t.recommend(RecommendRequest.newBuilder().setTrainingFile(id).build()));
            refused(id, () -> t.createSweep(CreateSweepRequest.newBuilder().setModel("tiny-llama").setTrainingFile(id)
                    .addMethods("lora").build()));
            refused(id, () -> t.getSweep(GetSweepRequest.newBuilder().setSweepId(id).build()));
            refused(id, () -> t.cancelSweep(CancelSweepRequest.newBuilder().setSweepId(id).build()));
            refused(id, () -> t.listCheckpoints(io.loragate.api.grpc.v1.ListCheckpointsRequest.newBuilder().setJobId(id).build()));
            refused(id, () -> t.getDataset(io.loragate.api.grpc.v1.GetDatasetRequest.newBuilder().setDatasetId(id).build()));
            refused(id, () -> t.downloadDataset(io.loragate.api.grpc.v1.DownloadDatasetRequest.newBuilder().setDatasetId(id).build())
                    .hasNext());
            refused(id, () -> t.deleteDataset(io.loragate.api.grpc.v1.DeleteDatasetRequest.newBuilder().setDatasetId(id).build()));
        }
        assertEquals(before, tree(DATA), "the data directory changed");
    }

    /** Every file and folder under {@code root} except the database and upload scratch space. */
    private static List<Path> tree(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(p -> !p.toString().contains("/db") && !p.toString().contains("/tmp")).sorted().toList();
        }
    }
}
