package io.loragate.api.grpc;

import static io.loragate.api.grpc.GrpcTestSupport.assertStatus;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.loragate.DatasetsProfile;
import io.loragate.api.grpc.v1.CreateJobRequest;
import io.loragate.api.grpc.v1.CancelJobRequest;
import io.loragate.api.grpc.v1.ListJobsRequest;
import io.loragate.api.grpc.v1.GetJobRequest;
import io.loragate.api.grpc.v1.WatchJobRequest;
import io.loragate.api.grpc.v1.Method;
import io.loragate.api.grpc.v1.JobEvent;
import io.loragate.api.grpc.v1.Job;
import io.loragate.api.grpc.v1.Hyperparameters;
import io.loragate.api.grpc.v1.AdapterSettings;
import io.loragate.api.grpc.v1.Dataset;
import io.loragate.api.grpc.v1.DatasetMetadata;
import io.loragate.api.grpc.v1.TrainingServiceGrpc;
import io.loragate.api.grpc.v1.UploadDatasetRequest;
import io.loragate.runtime.ResidentModel;
import io.loragate.training.data.Datasets;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** TrainingService.UploadDataset over a real gRPC channel: a file in many chunks, limits and malformed streams. */
@QuarkusTest
@TestProfile(DatasetsProfile.class)
class TrainingGrpcServiceTest {

    /** Client streaming needs the plain async stub, which Quarkus does not inject: built on its channel. */
    @GrpcClient("loragate")
    io.grpc.Channel channel;

    @GrpcClient("loragate")
    TrainingServiceGrpc.TrainingServiceBlockingStub blocking;

    @Inject
    ResidentModel resident;

    @Inject
    Datasets datasets;

    @BeforeEach
    void baseLoaded() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
    }

    static byte[] dataset(String name) throws Exception {
        try {
            return Files.readAllBytes(Path.of(TrainingGrpcServiceTest.class.getResource("/datasets/" + name).toURI()));
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static UploadDatasetRequest metadata(String filename, String purpose) {
        return UploadDatasetRequest.newBuilder()
                .setMetadata(DatasetMetadata.newBuilder().setFilename(filename).setPurpose(purpose)).build();
    }

    static UploadDatasetRequest chunk(byte[] b, int from, int to) {
        return UploadDatasetRequest.newBuilder().setChunk(ByteString.copyFrom(b, from, to - from)).build();
    }

    /** The call's answer (or its failure), and the request stream to write to. */
    record Call(CompletableFuture<Dataset> answer, StreamObserver<UploadDatasetRequest> requests) {
    }

    Call open() {
        CompletableFuture<Dataset> answer = new CompletableFuture<>();
        StreamObserver<UploadDatasetRequest> requests = TrainingServiceGrpc.newStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS)
                .uploadDataset(new StreamObserver<>() {
                    @Override
                    public void onNext(Dataset value) {
                        answer.complete(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                        answer.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                        answer.complete(null);
                    }
                });
        return new Call(answer, requests);
    }

    static Dataset await(Call call) throws Exception {
        try {
            return call.answer().get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw (Exception) e.getCause();
        }
    }

    @Test
    void aDatasetInManySmallChunks() throws Exception {
        byte[] file = dataset("topics.jsonl");
        Call call = open();
        call.requests().onNext(metadata("topics.jsonl", "fine-tune"));
        int chunks = 0;
        for (int at = 0; at < file.length; at += 97, chunks++) {
            call.requests().onNext(chunk(file, at, Math.min(file.length, at + 97)));
        }
        call.requests().onCompleted();
        Dataset d = await(call);
        assertTrue(chunks > 30, "many chunks: " + chunks);
        assertTrue(d.getId().startsWith("file-"), d.getId());
        assertEquals("topics.jsonl", d.getFilename());
        assertEquals(file.length, d.getBytes());
        assertEquals("fine-tune", d.getPurpose());
        assertTrue(d.getCreatedAt() > 0);
        assertEquals("classification", d.getReport().getFormat());
        assertEquals(60, d.getReport().getExamples());
        assertEquals(Map.of("food", 20, "sports", 20, "tech", 20), d.getReport().getLabelCountsMap());
        assertEquals(0, d.getReport().getErrorsCount());
        assertEquals(DatasetsProfile.MAX_SEQ_LENGTH, d.getReport().getMaxLength());
        assertTrue(d.getReport().getTokens().getMin() > 0 && d.getReport().getTokens().getTotal() > 60);
        try (InputStream in = datasets.content(GrpcTestSupportTenant.TENANT, d.getId())) {
            assertArrayEquals(file, in.readAllBytes(), "stored byte for byte");
        }
        datasets.delete(GrpcTestSupportTenant.TENANT, d.getId());
    }

    @Test
    void badLinesComeBackWithTheirNumbers() throws Exception {
        byte[] file = dataset("bad_chat.jsonl");
        Call call = open();
        call.requests().onNext(metadata("bad_chat.jsonl", "fine-tune"));
        call.requests().onNext(chunk(file, 0, file.length));
        call.requests().onCompleted();
        Dataset d = await(call);
        assertEquals(3, d.getReport().getExamples());
        assertEquals(10, d.getReport().getErrorCount());
        assertEquals(Arrays.asList(2, 3, 4, 5, 7, 8, 9, 10, 13, 14),
                d.getReport().getErrorsList().stream().map(e -> e.getLine()).toList());
        datasets.delete(GrpcTestSupportTenant.TENANT, d.getId());
    }

    @Test
    void overTheLimitTheCallFailsBeforeTheStreamEnds() throws Exception {
        int before = datasets.list(GrpcTestSupportTenant.TENANT).size();
        byte[] line = ("{\"text\": \"" + "y".repeat(1000) + "\"}\n").getBytes();
        Call call = open();
        call.requests().onNext(metadata("big.jsonl", "fine-tune"));
        for (long sent = 0; sent <= DatasetsProfile.MAX_BYTES; sent += line.length) {
            call.requests().onNext(chunk(line, 0, line.length));
        }
        // the stream is still open: the server refuses as soon as the limit is crossed
        StatusRuntimeException e = (StatusRuntimeException) org.junit.jupiter.api.Assertions.assertThrows(
                StatusRuntimeException.class, () -> await(call));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("(loragate.files.max-bytes)"), e.getStatus().toString());
        call.requests().onCompleted();
        assertEquals(before, datasets.list(GrpcTestSupportTenant.TENANT).size(), "nothing stored");
    }

    @Test
    void malformedStreamsAreRefused() throws Exception {
        Call chunkFirst = open();
        chunkFirst.requests().onNext(chunk(new byte[] {'{', '}'}, 0, 2));
        chunkFirst.requests().onCompleted();
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> await(chunkFirst));

        Call wrongPurpose = open();
        wrongPurpose.requests().onNext(metadata("x.jsonl", "assistants"));
        wrongPurpose.requests().onCompleted();
        Status s = assertStatus(Status.Code.INVALID_ARGUMENT, () -> await(wrongPurpose));
        assertEquals("purpose must be 'fine-tune', got 'assistants'", s.getDescription());

        Call empty = open();
        empty.requests().onCompleted();
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> await(empty));

        Call twice = open();
        twice.requests().onNext(metadata("x.jsonl", "fine-tune"));
        twice.requests().onNext(metadata("x.jsonl", "fine-tune"));
        twice.requests().onCompleted();
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> await(twice));
    }

    /** A job over gRPC: created, watched live to its end, listed, and refused where a client can act on it. */
    @Test
    void jobsAreCreatedWatchedAndListed() throws Exception {
        byte[] file = dataset("prompt_completion.jsonl");
        Call call = open();
        call.requests().onNext(metadata("pc.jsonl", "fine-tune"));
        call.requests().onNext(chunk(file, 0, file.length));
        call.requests().onCompleted();
        String fileId = await(call).getId();

        CreateJobRequest create = CreateJobRequest.newBuilder().setModel("tiny-llama").setTrainingFile(fileId)
                .setSuffix("grpc-job").setSeed(3)
                .setMethod(Method.newBuilder().setType("supervised")
                        .setHyperparameters(Hyperparameters.newBuilder().setEpochs(2).setBatchSize(4).setLearningRate(0.01))
                        .setAdapter(AdapterSettings.newBuilder().setR(2).setAlpha(4)))
                .build();
        Job job = blocking.withDeadlineAfter(30, TimeUnit.SECONDS).createJob(create);
        assertEquals("supervised", job.getMethod().getType());
        assertEquals(2, job.getMethod().getHyperparameters().getEpochs());
        assertEquals(2, job.getMethod().getAdapter().getR());
        assertEquals("truncate", job.getMethod().getHyperparameters().getPooling());
        // sliding windows pool an encoder's classifier inputs: a supervised job is refused naming the field
        Status sliding = assertStatus(Status.Code.INVALID_ARGUMENT, () -> blocking.withDeadlineAfter(30, TimeUnit.SECONDS)
                .createJob(create.toBuilder().setMethod(create.getMethod().toBuilder().setHyperparameters(
                        create.getMethod().getHyperparameters().toBuilder().setPooling("sliding_window"))).build()));
        assertTrue(sliding.getDescription().contains("pooling 'sliding_window' applies to classification jobs"),
                sliding.getDescription());

        java.util.List<JobEvent> events = new java.util.ArrayList<>();
        blocking.withDeadlineAfter(120, TimeUnit.SECONDS).watchJob(WatchJobRequest.newBuilder().setJobId(job.getId()).build())
                .forEachRemaining(events::add);
        assertEquals("validating_files", events.get(0).getStatus());
        assertEquals("succeeded", events.get(events.size() - 1).getStatus(), events.toString());
        assertTrue(events.stream().anyMatch(e -> e.getType().equals("metrics") && e.getData().getStep() == 1
                && e.getData().hasTrainLoss() && e.getData().hasLearningRate()));

        // resuming a watch after an event skips what was seen; a final job's watch ends after its events
        java.util.List<JobEvent> tail = new java.util.ArrayList<>();
        blocking.withDeadlineAfter(30, TimeUnit.SECONDS).watchJob(WatchJobRequest.newBuilder().setJobId(job.getId())
                .setAfterEventId(events.get(events.size() - 2).getId()).build()).forEachRemaining(tail::add);
        assertEquals(java.util.List.of(events.get(events.size() - 1)), tail);

        Job done = blocking.getJob(GetJobRequest.newBuilder().setJobId(job.getId()).build());
        assertEquals("succeeded", done.getStatus());
        assertTrue(done.getFineTunedModel().matches("grpc-job@\\d+"), done.getFineTunedModel());
        assertTrue(done.getTrainedTokens() > 0);
        assertTrue(blocking.listJobs(ListJobsRequest.newBuilder().setLimit(100).build()).getJobsList().stream()
                .anyMatch(j -> j.getId().equals(job.getId())));

        assertStatus(Status.Code.FAILED_PRECONDITION,
                () -> blocking.cancelJob(CancelJobRequest.newBuilder().setJobId(job.getId()).build()));
        assertStatus(Status.Code.NOT_FOUND,
                () -> blocking.getJob(GetJobRequest.newBuilder().setJobId("ftjob-000000000000000000000000").build()));
        assertStatus(Status.Code.NOT_FOUND, () -> blocking.withDeadlineAfter(10, TimeUnit.SECONDS)
                .watchJob(WatchJobRequest.newBuilder().setJobId("ftjob-000000000000000000000000").build()).hasNext());
        Status s = assertStatus(Status.Code.INVALID_ARGUMENT,
                () -> blocking.withDeadlineAfter(30, TimeUnit.SECONDS).createJob(CreateJobRequest.getDefaultInstance()));
        assertTrue(s.getDescription().contains("model"), s.getDescription());
    }

    /** The gRPC tenant of unauthenticated callers. */
    static final class GrpcTestSupportTenant {
        static final String TENANT = TenantResolver.DEFAULT;
    }

    /** ListDatasets, GetDataset (and its max_length recount, as REST's), DownloadDataset in 32 KiB chunks, DeleteDataset. */
    @Test
    void datasetsAreListedReadDownloadedAndDeleted() throws Exception {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; sb.length() < 36_000; i++) { // over one 32 KiB chunk, under the profile's 300 lines
            sb.append("{\"prompt\": \"Q: what is item number ").append(i).append(" of the download test list, counted from"
                    + " the top of the list?\\nA:\", ")
                    .append("\"completion\": \" item ").append(i).append(" is a plain example line.\"}\n");
        }
        byte[] file = sb.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        Call call = open();
        call.requests().onNext(metadata("download.jsonl", "fine-tune"));
        call.requests().onNext(chunk(file, 0, file.length));
        call.requests().onCompleted();
        Dataset d = await(call);
        String id = d.getId();

        assertTrue(blocking.listDatasets(io.loragate.api.grpc.v1.ListDatasetsRequest.getDefaultInstance()).getDatasetsList().stream()
                .anyMatch(x -> x.equals(d)), "listed as uploaded");
        assertEquals(d, blocking.getDataset(io.loragate.api.grpc.v1.GetDatasetRequest.newBuilder().setDatasetId(id).build()));
        Dataset shortened = blocking.getDataset(io.loragate.api.grpc.v1.GetDatasetRequest.newBuilder().setDatasetId(id)
                .setMaxLength(4).build());
        assertEquals(d.getReport().getExamples(), shortened.getReport().getTruncated());
        assertEquals(io.restassured.RestAssured.given().get("/v1/files/" + id + "?max_length=4").then().statusCode(200)
                .extract().jsonPath().getInt("report.truncated"), shortened.getReport().getTruncated());
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> blocking.getDataset(io.loragate.api.grpc.v1.GetDatasetRequest.newBuilder()
                .setDatasetId(id).setMaxLength(0).build()));

        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        int[] chunks = {0};
        blocking.downloadDataset(io.loragate.api.grpc.v1.DownloadDatasetRequest.newBuilder().setDatasetId(id).build())
                .forEachRemaining(c -> {
                    assertTrue(c.getChunk().size() <= TrainingGrpcService.DOWNLOAD_CHUNK);
                    out.writeBytes(c.getChunk().toByteArray());
                    chunks[0]++;
                });
        assertArrayEquals(file, out.toByteArray());
        assertEquals((file.length + TrainingGrpcService.DOWNLOAD_CHUNK - 1) / TrainingGrpcService.DOWNLOAD_CHUNK, chunks[0]);

        assertTrue(blocking.deleteDataset(io.loragate.api.grpc.v1.DeleteDatasetRequest.newBuilder().setDatasetId(id).build())
                .getDeleted());
        assertStatus(Status.Code.NOT_FOUND, () -> blocking.getDataset(io.loragate.api.grpc.v1.GetDatasetRequest.newBuilder()
                .setDatasetId(id).build()));
        assertStatus(Status.Code.NOT_FOUND, () -> blocking.downloadDataset(io.loragate.api.grpc.v1.DownloadDatasetRequest.newBuilder()
                .setDatasetId(id).build()).hasNext());
        assertStatus(Status.Code.NOT_FOUND, () -> blocking.deleteDataset(io.loragate.api.grpc.v1.DeleteDatasetRequest.newBuilder()
                .setDatasetId(id).build()));
        assertTrue(blocking.listDatasets(io.loragate.api.grpc.v1.ListDatasetsRequest.getDefaultInstance()).getDatasetsList().stream()
                .noneMatch(x -> x.getId().equals(id)));
    }
}
