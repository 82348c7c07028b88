package io.loragate.api.grpc;

import static io.loragate.AuthProfile.createTenant;
import static io.loragate.AuthProfile.uniqueTenant;
import static io.loragate.registry.RegistryFixtures.adapter;
import static io.loragate.registry.RegistryFixtures.config;
import static io.loragate.registry.RegistryFixtures.weights;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Channel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.AbstractStub;
import io.grpc.stub.MetadataUtils;
import io.loragate.AuthProfile;
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
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
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

    /** B's world: an adapter (two versions), a file and a job. */
    record World(String keyA, String keyB, String adapter, String file, String job) {
    }

    World world() {
        String keyA = createTenant(uniqueTenant("a"), null);
        String keyB = createTenant(uniqueTenant("b"), null);
        String adapter = "secret";
        Path a0 = adapter("tiny-llama", 0);
        for (String key : List.of(keyB, keyB)) {
            given().auth().oauth2(key).multiPart("name", adapter).multiPart("config", config(a0).toFile(), "application/json")
                    .multiPart("weights", weights(a0).toFile(), "application/octet-stream").post("/v1/adapters")
                    .then().statusCode(200);
        }
        // A owns an adapter of its own, under another name
        given().auth().oauth2(keyA).multiPart("name", "mine").multiPart("config", config(a0).toFile(), "application/json")
                .multiPart("weights", weights(a0).toFile(), "application/octet-stream").post("/v1/adapters").then().statusCode(200);
        StringBuilder data = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            data.append("{\"prompt\": \"Q: ").append(i).append("\\nA:\", \"completion\": \" yes.\"}\n");
        }
        String file = given().auth().oauth2(keyB).multiPart("file", "b.jsonl", data.toString().getBytes(StandardCharsets.UTF_8),
                "application/jsonl").multiPart("purpose", "fine-tune").post("/v1/files").then().statusCode(200).extract().path("id");
        String job = given().auth().oauth2(keyB).contentType(ContentType.JSON).body("{\"model\": \"tiny-llama\", \"training_file\": \""
                + file + "\", \"suffix\": \"bjob\", \"method\": {\"type\": \"supervised\", \"hyperparameters\": {\"epochs\": 1,"
                + " \"batch_size\": 4}}}").post("/v1/fine_tuning/jobs").then().statusCode(200).extract().path("id");
        return new World(keyA, keyB, adapter, file, job);
    }

    /** An id of the same shape that nobody has. */
    static String unknown(String id) {
        int dash = id.indexOf('-');
        return dash < 0 ? "zz" + id.substring(2) : id.substring(0, dash + 1) + "0".repeat(id.length() - dash - 1);
    }

    @Test
    void tenantAGetsForBsIdsExactlyWhatAnUnknownIdGetsOverRest() {
        World w = world();
        List<String> checked = new ArrayList<>();
        // {id} stands for B's adapter, file or job id; each call runs with B's id, then with an unknown one
        record Call(String what, String id, BiFunction<RequestSpecification, String, Response> run) {
        }
        String a = w.adapter();
        // B's sweep (a linear probe on a supervised file: refused at job creation, so nothing trains)
        String sweep = given().auth().oauth2(w.keyB()).contentType(ContentType.JSON).body("{\"model\": \"tiny-llama\","
                + " \"training_file\": \"" + w.file() + "\", \"methods\": [\"linear_probe\"]}").post("/v1/fine_tuning/sweeps")
                .then().statusCode(200).extract().path("id");
        List<Call> calls = List.of(
                new Call("recommendation on B's file", w.file(), (r, id) -> r.contentType(ContentType.JSON)
                        .body("{\"training_file\": \"" + id + "\"}").post("/v1/recommendations")),
                new Call("sweep on B's file", w.file(), (r, id) -> r.contentType(ContentType.JSON).body("{\"model\": \"tiny-llama\","
                        + " \"training_file\": \"" + id + "\", \"methods\": [\"lora\"]}").post("/v1/fine_tuning/sweeps")),
                new Call("GET sweep", sweep, (r, id) -> r.get("/v1/fine_tuning/sweeps/" + id)),
                new Call("cancel sweep", sweep, (r, id) -> r.post("/v1/fine_tuning/sweeps/" + id + "/cancel")),
                new Call("diagnostics of B's adapter", a, (r, id) -> r.contentType(ContentType.JSON)
                        .body("{\"file\": \"" + w.file() + "\"}").post("/v1/adapters/" + id + "/diagnostics")),
                new Call("diagnostics on B's file", w.file(), (r, id) -> r.contentType(ContentType.JSON)
                        .body("{\"file\": \"" + id + "\"}").post("/v1/adapters/mine/diagnostics")),
                new Call("GET adapter", a, (r, id) -> r.get("/v1/adapters/" + id)),
                new Call("PUT active", a, (r, id) -> r.contentType(ContentType.JSON).body("{\"version\": 1}").put("/v1/adapters/" + id + "/active")),
                new Call("pin", a, (r, id) -> r.post("/v1/adapters/" + id + "/pin")),
                new Call("unpin", a, (r, id) -> r.post("/v1/adapters/" + id + "/unpin")),
                new Call("load", a, (r, id) -> r.post("/v1/adapters/" + id + "/load")),
                new Call("load version", a, (r, id) -> r.post("/v1/adapters/" + id + "/load?version=2")),
                new Call("unload", a, (r, id) -> r.post("/v1/adapters/" + id + "/unload")),
                new Call("DELETE version", a, (r, id) -> r.delete("/v1/adapters/" + id + "@1")),
                new Call("completion", a, (r, id) -> r.contentType(ContentType.JSON)
                        .body("{\"model\": \"" + id + "\", \"prompt\": \"hi\", \"max_tokens\": 2}").post("/v1/completions")),
                new Call("completion by version", a, (r, id) -> r.contentType(ContentType.JSON)
                        .body("{\"model\": \"" + id + "@2\", \"prompt\": \"hi\", \"max_tokens\": 2}").post("/v1/completions")),
                new Call("streamed completion", a, (r, id) -> r.contentType(ContentType.JSON)
                        .body("{\"model\": \"" + id + "\", \"prompt\": \"hi\", \"max_tokens\": 2, \"stream\": true}").post("/v1/completions")),
                new Call("chat", a, (r, id) -> r.contentType(ContentType.JSON)
                        .body("{\"model\": \"" + id + "\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 2}")
                        .post("/v1/chat/completions")),
                new Call("embeddings", a, (r, id) -> r.contentType(ContentType.JSON)
                        .body("{\"model\": \"" + id + "\", \"input\": \"hi\"}").post("/v1/embeddings")),
                new Call("classifications", a, (r, id) -> r.contentType(ContentType.JSON)
                        .body("{\"model\": \"" + id + "\", \"input\": \"hi\"}").post("/v1/classifications")),
                new Call("GET file", w.file(), (r, id) -> r.get("/v1/files/" + id)),
                new Call("GET file max_length", w.file(), (r, id) -> r.get("/v1/files/" + id + "?max_length=8")),
                new Call("file content", w.file(), (r, id) -> r.get("/v1/files/" + id + "/content")),
                new Call("DELETE file", w.file(), (r, id) -> r.delete("/v1/files/" + id)),
                new Call("job on B's file", w.file(), (r, id) -> r.contentType(ContentType.JSON).body("{\"model\": \"tiny-llama\","
                        + " \"training_file\": \"" + id + "\", \"suffix\": \"x\", \"method\": {\"type\": \"supervised\"}}").post("/v1/fine_tuning/jobs")),
                new Call("GET job", w.job(), (r, id) -> r.get("/v1/fine_tuning/jobs/" + id)),
                new Call("cancel job", w.job(), (r, id) -> r.post("/v1/fine_tuning/jobs/" + id + "/cancel")),
                new Call("job events", w.job(), (r, id) -> r.get("/v1/fine_tuning/jobs/" + id + "/events")),
                new Call("job checkpoints", w.job(), (r, id) -> r.get("/v1/fine_tuning/jobs/" + id + "/checkpoints")));
        for (Call c : calls) {
            String other = unknown(c.id());
            Response foreign = c.run().apply(given().auth().oauth2(w.keyA()), c.id());
            Response none = c.run().apply(given().auth().oauth2(w.keyA()), other);
            String f = foreign.asString().replace(c.id(), "<id>");
            String n = none.asString().replace(other, "<id>");
            assertEquals(none.statusCode(), foreign.statusCode(), c.what() + ": " + f);
            assertEquals(n, f, c.what());
            assertTrue(foreign.statusCode() == 404 || foreign.statusCode() == 400, c.what() + " answers " + foreign.statusCode());
            checked.add(c.what());
        }
        assertEquals(calls.size(), checked.size());

        // lists and /v1/models never show B's things to A
        String models = given().auth().oauth2(w.keyA()).get("/v1/models").then().statusCode(200).extract().asString();
        assertTrue(models.contains("\"mine\"") && !models.contains(w.adapter()), models);
        String adapters = given().auth().oauth2(w.keyA()).get("/v1/adapters").then().statusCode(200).extract().asString();
        assertTrue(adapters.contains("\"mine\"") && !adapters.contains(w.adapter()), adapters);
        assertFalse(given().auth().oauth2(w.keyA()).get("/v1/files").asString().contains(w.file()));
        assertFalse(given().auth().oauth2(w.keyA()).get("/v1/fine_tuning/sweeps").asString().contains(sweep));
        assertFalse(given().auth().oauth2(w.keyA()).get("/v1/fine_tuning/jobs").asString().contains(w.job()));

        // B's things are untouched, and B sees them
        given().auth().oauth2(w.keyB()).get("/v1/adapters/" + w.adapter()).then().statusCode(200)
                .body("active_version", org.hamcrest.Matchers.equalTo(1)).body("pinned", org.hamcrest.Matchers.equalTo(false))
                .body("versions.size()", org.hamcrest.Matchers.equalTo(2));
        given().auth().oauth2(w.keyB()).get("/v1/files/" + w.file()).then().statusCode(200);
        given().auth().oauth2(w.keyB()).get("/v1/fine_tuning/jobs/" + w.job()).then().statusCode(200);
        assertTrue(given().auth().oauth2(w.keyB()).get("/v1/models").asString().contains("\"" + w.adapter() + "\""));
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
            String other = unknown(c.id());
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
