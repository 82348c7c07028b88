package io.loragate.api.grpc;

import static io.loragate.AuthProfile.createTenant;
import static io.loragate.AuthProfile.uniqueTenant;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Channel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.AbstractStub;
import io.grpc.stub.MetadataUtils;
import io.loragate.AuthProfile;
import io.loragate.TenantMatrix;
import io.loragate.api.grpc.v1.AdapterRef;
import io.loragate.api.grpc.v1.AdapterServiceGrpc;
import io.loragate.api.grpc.v1.CancelJobRequest;
import io.loragate.api.grpc.v1.CancelSweepRequest;
import io.loragate.api.grpc.v1.ClassifyRequest;
import io.loragate.api.grpc.v1.CreateJobRequest;
import io.loragate.api.grpc.v1.CreateSweepRequest;
import io.loragate.api.grpc.v1.DiagnoseRequest;
import io.loragate.api.grpc.v1.EmbedRequest;
import io.loragate.api.grpc.v1.GenerateRequest;
import io.loragate.api.grpc.v1.GetAdapterRequest;
import io.loragate.api.grpc.v1.GetJobRequest;
import io.loragate.api.grpc.v1.GetSweepRequest;
import io.loragate.api.grpc.v1.InferenceServiceGrpc;
import io.loragate.api.grpc.v1.ListAdaptersRequest;
import io.loragate.api.grpc.v1.ListJobsRequest;
import io.loragate.api.grpc.v1.ListSweepsRequest;
import io.loragate.api.grpc.v1.SetActiveVersionRequest;
import io.loragate.api.grpc.v1.TrainingServiceGrpc;
import io.loragate.api.grpc.v1.WatchJobRequest;
import io.loragate.runtime.ResidentModel;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * The tenant matrix: tenant B owns an adapter, a file and a job; tenant A's key against every REST
 * endpoint and every gRPC method with B's ids gets exactly what an unknown id gets (same status,
 * same message once the id is masked), never 403, and B's things are untouched. Also the gRPC
 * side of authentication and of the request rate.
 */
@QuarkusTest
@TestProfile(AuthProfile.class)
class TenantMatrixTest {

    @GrpcClient("loragate")
    Channel channel;

    @Inject
    ResidentModel resident;

    @BeforeEach
    void ready() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
    }

    static <S extends AbstractStub<S>> S as(S stub, String key) {
        Metadata md = new Metadata();
        md.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + key);
        return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
    }

    static World world() {
        String keyA = createTenant(uniqueTenant("a"), null);
        String keyB = createTenant(uniqueTenant("b"), null);
        return new World(keyA, keyB, TenantMatrix.world(() -> given().auth().oauth2(keyA), () -> given().auth().oauth2(keyB)));
    }

    /** The two keys and B's things. */
    record World(String keyA, String keyB, TenantMatrix.World b) {
        String adapter() {
            return b.adapter();
        }

        String file() {
            return b.file();
        }

        String job() {
            return b.job();
        }
    }

    @Test
    void tenantAGetsForBsIdsExactlyWhatAnUnknownIdGetsOverRest() {
        World w = world();
        TenantMatrix.assertForeignIdsAnswerAsUnknown(w.b(), () -> given().auth().oauth2(w.keyA()));
        // lists and /v1/models never show B's things to A
        TenantMatrix.assertListsHideB(w.b(), () -> given().auth().oauth2(w.keyA()));
        // B's things are untouched, and B sees them
        TenantMatrix.assertBUntouched(w.b(), () -> given().auth().oauth2(w.keyB()));
    }

    @Test
    void tenantAGetsForBsIdsExactlyWhatAnUnknownIdGetsOverGrpc() {
        World w = world();
        var adapters = as(AdapterServiceGrpc.newBlockingStub(channel), w.keyA());
        var inference = as(InferenceServiceGrpc.newBlockingStub(channel), w.keyA());
        var training = as(TrainingServiceGrpc.newBlockingStub(channel), w.keyA());
        record Call(String what, String id, Function<String, Executable> run) {
        }
        String a = w.adapter();
        // B's sweep (a linear probe on a supervised file: refused at job creation, so nothing trains)
        String sweep = as(TrainingServiceGrpc.newBlockingStub(channel), w.keyB()).createSweep(CreateSweepRequest.newBuilder()
                .setModel("tiny-llama").setTrainingFile(w.file()).addMethods("linear_probe").build()).getId();
        List<Call> calls = List.of(
                new Call("Recommend on B's file", w.file(), id -> () -> training.recommend(
                        io.loragate.api.grpc.v1.RecommendRequest.newBuilder().setTrainingFile(id).build())),
                new Call("CreateSweep on B's file", w.file(), id -> () -> training.createSweep(CreateSweepRequest.newBuilder()
                        .setModel("tiny-llama").setTrainingFile(id).addMethods("lora").build())),
                new Call("GetSweep", sweep, id -> () -> training.getSweep(GetSweepRequest.newBuilder().setSweepId(id).build())),
                new Call("CancelSweep", sweep, id -> () -> training.cancelSweep(CancelSweepRequest.newBuilder().setSweepId(id).build())),
                new Call("Diagnose B's adapter", a, id -> () -> adapters.diagnose(DiagnoseRequest.newBuilder().setAdapterId(id)
                        .setFile(w.file()).build())),
                new Call("Diagnose on B's file", w.file(), id -> () -> adapters.diagnose(DiagnoseRequest.newBuilder().setAdapterId("mine")
                        .setFile(id).build())),
                new Call("Get", a, id -> () -> adapters.get(GetAdapterRequest.newBuilder().setName(id).build())),
                new Call("SetActiveVersion", a, id -> () -> adapters.setActiveVersion(SetActiveVersionRequest.newBuilder().setName(id).setVersion(1).build())),
                new Call("Load", a, id -> () -> adapters.load(AdapterRef.newBuilder().setAdapterId(id).build())),
                new Call("Unload", a, id -> () -> adapters.unload(AdapterRef.newBuilder().setAdapterId(id + "@2").build())),
                new Call("Pin", a, id -> () -> adapters.pin(AdapterRef.newBuilder().setAdapterId(id).build())),
                new Call("Unpin", a, id -> () -> adapters.unpin(AdapterRef.newBuilder().setAdapterId(id).build())),
                new Call("DeleteVersion", a, id -> () -> adapters.deleteVersion(AdapterRef.newBuilder().setAdapterId(id + "@1").build())),
                new Call("Generate", a, id -> () -> inference.generate(GenerateRequest.newBuilder().setAdapterId(id).setPrompt("hi").setMaxTokens(2).build())),
                new Call("GenerateStream", a, id -> () -> inference.generateStream(GenerateRequest.newBuilder().setAdapterId(id).setPrompt("hi")
                        .setMaxTokens(2).build()).forEachRemaining(x -> { })),
                new Call("Embed", a, id -> () -> inference.embed(EmbedRequest.newBuilder().setAdapterId(id).addInputs("hi").build())),
                new Call("Classify", a, id -> () -> inference.classify(ClassifyRequest.newBuilder().setAdapterId(id).addInputs("hi").build())),
                new Call("CreateJob on B's file", w.file(), id -> () -> training.createJob(CreateJobRequest.newBuilder().setModel("tiny-llama")
                        .setTrainingFile(id).setSuffix("x").build())),
                new Call("GetJob", w.job(), id -> () -> training.getJob(GetJobRequest.newBuilder().setJobId(id).build())),
                new Call("ListCheckpoints", w.job(), id -> () -> training.listCheckpoints(
                        io.loragate.api.grpc.v1.ListCheckpointsRequest.newBuilder().setJobId(id).build())),
                new Call("GetDataset", w.file(), id -> () -> training.getDataset(
                        io.loragate.api.grpc.v1.GetDatasetRequest.newBuilder().setDatasetId(id).build())),
                new Call("DownloadDataset", w.file(), id -> () -> training.downloadDataset(
                        io.loragate.api.grpc.v1.DownloadDatasetRequest.newBuilder().setDatasetId(id).build()).forEachRemaining(x -> { })),
                new Call("DeleteDataset", w.file(), id -> () -> training.deleteDataset(
                        io.loragate.api.grpc.v1.DeleteDatasetRequest.newBuilder().setDatasetId(id).build())),
                new Call("CancelJob", w.job(), id -> () -> training.cancelJob(CancelJobRequest.newBuilder().setJobId(id).build())),
                new Call("WatchJob", w.job(), id -> () -> training.watchJob(WatchJobRequest.newBuilder().setJobId(id).build())
                        .forEachRemaining(x -> { })));
        for (Call c : calls) {
            String other = TenantMatrix.unknown(c.id());
            Status foreign = assertThrows(StatusRuntimeException.class, c.run().apply(c.id()), c.what()).getStatus();
            Status none = assertThrows(StatusRuntimeException.class, c.run().apply(other), c.what()).getStatus();
            assertEquals(none.getCode(), foreign.getCode(), c.what() + ": " + foreign);
            assertEquals(none.getDescription().replace(other, "<id>"), foreign.getDescription().replace(c.id(), "<id>"), c.what());
            assertTrue(foreign.getCode() == Status.Code.NOT_FOUND || foreign.getCode() == Status.Code.FAILED_PRECONDITION
                    || foreign.getCode() == Status.Code.INVALID_ARGUMENT, c.what() + ": " + foreign);
        }
        assertTrue(adapters.list(ListAdaptersRequest.getDefaultInstance()).getAdaptersList().stream()
                .noneMatch(x -> x.getName().equals(w.adapter())));
        assertTrue(training.listJobs(ListJobsRequest.getDefaultInstance()).getJobsList().stream()
                .noneMatch(j -> j.getId().equals(w.job())));
        assertTrue(training.listSweeps(ListSweepsRequest.getDefaultInstance()).getSweepsList().stream()
                .noneMatch(x -> x.getId().equals(sweep)));
        assertTrue(training.listDatasets(io.loragate.api.grpc.v1.ListDatasetsRequest.getDefaultInstance()).getDatasetsList().stream()
                .noneMatch(x -> x.getId().equals(w.file())));
        List<String> models = inference.listModels(io.loragate.api.grpc.v1.ListModelsRequest.getDefaultInstance()).getModelsList()
                .stream().map(io.loragate.api.grpc.v1.Model::getId).toList();
        assertTrue(models.contains("mine") && !models.contains(w.adapter()), models.toString());
        var asB = as(AdapterServiceGrpc.newBlockingStub(channel), w.keyB());
        assertEquals(1, asB.get(GetAdapterRequest.newBuilder().setName(w.adapter()).build()).getActiveVersion());
        assertEquals(w.job(), as(TrainingServiceGrpc.newBlockingStub(channel), w.keyB())
                .getJob(GetJobRequest.newBuilder().setJobId(w.job()).build()).getId());
    }

    @Test
    void grpcRefusesMissingAndBadKeysAndATenantOverItsRequestRate() {
        var anonymous = AdapterServiceGrpc.newBlockingStub(channel);
        Status s = GrpcTestSupport.assertStatus(Status.Code.UNAUTHENTICATED, () -> anonymous.list(ListAdaptersRequest.getDefaultInstance()));
        assertTrue(s.getDescription().contains("missing API key"), s.getDescription());
        s = GrpcTestSupport.assertStatus(Status.Code.UNAUTHENTICATED,
                () -> as(InferenceServiceGrpc.newBlockingStub(channel), "lg-000000000000-bad")
                        .generate(GenerateRequest.newBuilder().setPrompt("hi").build()));
        assertEquals("invalid API key", s.getDescription());
        GrpcTestSupport.assertStatus(Status.Code.UNAUTHENTICATED,
                () -> as(TrainingServiceGrpc.newBlockingStub(channel), AuthProfile.ADMIN_KEY).listJobs(ListJobsRequest.getDefaultInstance()));

        String key = createTenant(uniqueTenant("grpc-rps"), "{\"requests_per_second\": 0.2}");
        var limited = as(AdapterServiceGrpc.newBlockingStub(channel), key);
        limited.list(ListAdaptersRequest.getDefaultInstance());
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> limited.list(ListAdaptersRequest.getDefaultInstance()));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("requests per second"), e.getStatus().getDescription());
        int retryAfter = Integer.parseInt(e.getTrailers().get(GrpcErrorMapper.RETRY_AFTER));
        assertTrue(retryAfter >= 1 && retryAfter <= 5, "retry-after " + retryAfter);

        String tokens = createTenant(uniqueTenant("grpc-tpm"), "{\"tokens_per_minute\": 50}");
        var gen = as(InferenceServiceGrpc.newBlockingStub(channel), tokens);
        gen.generate(GenerateRequest.newBuilder().setPrompt("the software").setMaxTokens(30).setTemperature(0).build());
        GrpcTestSupport.assertStatus(Status.Code.RESOURCE_EXHAUSTED,
                () -> gen.generate(GenerateRequest.newBuilder().setPrompt("the software").setMaxTokens(30).build()));
    }
}
