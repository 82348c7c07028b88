package io.loragate.api.rest;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.loragate.DatasetsProfile;
import io.loragate.api.grpc.v1.Dataset;
import io.loragate.api.grpc.v1.DatasetMetadata;
import io.loragate.api.grpc.v1.TrainingServiceGrpc;
import io.loragate.api.grpc.v1.UploadDatasetRequest;
import io.loragate.config.LoragateConfig;
import io.loragate.registry.Tenants;
import io.loragate.runtime.ResidentModel;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A dataset without a single valid example is refused at upload (REST and gRPC) with its likely
 * cause, and nothing is stored: no row, no blob, no staging file, no storage counted.
 */
@QuarkusTest
@TestProfile(DatasetsProfile.class)
class DatasetRefusalTest {

    static final String TENANT = TenantResolver.DEFAULT;

    static final String JSON_ARRAY = "[\n  {\"prompt\": \"Q: a\", \"completion\": \" yes\"},\n"
            + "  {\"prompt\": \"Q: b\", \"completion\": \" no\"}\n]\n";
    static final String ONE_LINE_ARRAY = "[{\"text\": \"hello\", \"label\": \"a\"}, {\"text\": \"bye\", \"label\": \"b\"}]\n";
    static final String CSV = "text,label\nhello there,greeting\nsee you,farewell\n";
    static final String TSV = "text\tlabel\nhello there\tgreeting\nsee you\tfarewell\n";
    static final String WRONG_KEYS = "{\"question\": \"2+2?\", \"answer\": \"4\"}\n{\"question\": \"3+3?\", \"answer\": \"6\"}\n";

    @Inject
    ResidentModel resident;

    @Inject
    LoragateConfig config;

    @Inject
    Tenants tenants;

    /** Client streaming needs the plain async stub, built on Quarkus's channel. */
    @GrpcClient("loragate")
    io.grpc.Channel channel;

    @BeforeEach
    void baseIsLoaded() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
    }

    static io.restassured.response.ValidatableResponse upload(String name, String content) {
        return given().multiPart("file", name, content.getBytes(StandardCharsets.UTF_8), "application/jsonl")
                .multiPart("purpose", "fine-tune").post("/v1/files").then();
    }

    /** What a refused upload must leave unchanged: the file list, every blob and staging file, the storage counted. */
    record Stored(List<String> ids, List<Path> files, long bytes) {
    }

    Stored stored() throws IOException {
        List<Path> files = new ArrayList<>();
        for (Path dir : List.of(config.dataDir().resolve("files"), config.dataDir().resolve("tmp"))) {
            if (Files.isDirectory(dir)) {
                try (Stream<Path> s = Files.walk(dir)) {
                    // Quarkus's own multipart spool (tmp/uploads) is emptied after the answer
                    s.filter(p -> Files.isRegularFile(p) && !p.startsWith(config.dataDir().resolve("tmp/uploads")))
                            .sorted().forEach(files::add);
                }
            }
        }
        List<String> ids = given().get("/v1/files").then().statusCode(200).extract().jsonPath().getList("data.id", String.class);
        return new Stored(ids, files, tenants.usage(TENANT).fileBytes());
    }

    /** The refusal's message: 400, param file, never Jackson's source-location noise. */
    static String refused(String name, String content) {
        JsonPath error = upload(name, content).statusCode(400)
                .body("error.type", equalTo("invalid_request_error"))
                .body("error.param", equalTo("file"))
                .extract().jsonPath();
        String message = error.getString("error.message");
        assertFalse(message.contains("Source"), message);
        assertFalse(message.contains("REDACTED"), message);
        return message;
    }

    static void namesEveryFormat(String message) {
        for (String format : List.of("chat {\"messages\"", "prompt_completion {\"prompt\"", "classification {\"text\"",
                "text {\"text\"")) {
            assertTrue(message.contains(format), "names " + format + ": " + message);
        }
    }

    @Test
    void aJsonArrayIsRefusedWithAHintToUseJsonLines() throws IOException {
        Stored before = stored();
        for (String content : List.of(JSON_ARRAY, ONE_LINE_ARRAY)) {
            String message = refused("array.json", content);
            assertTrue(message.startsWith("the file is a JSON array; upload JSON Lines: one example object per line"), message);
            namesEveryFormat(message);
        }
        assertEquals(before, stored());
    }

    @Test
    void csvAndTsvAreRefusedAsSuch() throws IOException {
        Stored before = stored();
        String csv = refused("data.csv", CSV);
        assertTrue(csv.startsWith("the file looks like CSV (comma-separated values), not JSON Lines (line 1: 'text,label')"), csv);
        namesEveryFormat(csv);
        String tsv = refused("data.tsv", TSV);
        assertTrue(tsv.startsWith("the file looks like TSV (tab-separated values), not JSON Lines"), tsv);
        namesEveryFormat(tsv);
        assertEquals(before, stored());
    }

    @Test
    void wrongKeysAreListedWithTheKeysEachFormatExpects() throws IOException {
        Stored before = stored();
        String message = refused("qa.jsonl", WRONG_KEYS);
        assertTrue(message.startsWith("no line has the keys of a dataset format; keys found: 'question', 'answer'."), message);
        namesEveryFormat(message);
        // the right keys with unusable values: the first bad lines and their reasons
        String empty = refused("empty-completions.jsonl", "{\"prompt\": \"a\", \"completion\": \"\"}\n{\"prompt\": \"b\"}\n");
        assertTrue(empty.startsWith("the file has no valid example (2 bad lines; line 1: empty completion;"
                + " line 2: missing field 'completion')"), empty);
        String blank = refused("blank.jsonl", "\n\n");
        assertTrue(blank.startsWith("the file is empty; upload JSON Lines"), blank);
        assertEquals(before, stored());
    }

    /** A file with valid examples still uploads, its bad lines reported without Jackson's source noise. */
    @Test
    void aFileWithSomeValidExamplesIsStoredWithCleanReasons() {
        JsonPath r = upload("mixed.jsonl", "{\"text\": \"fine\"}\n[\n{\"text\": \"also fine\"}\n").statusCode(200)
                .body("report.examples", equalTo(2))
                .body("report.error_count", equalTo(1))
                .extract().jsonPath();
        String reason = r.getString("report.errors[0].reason");
        assertTrue(reason.startsWith("invalid JSON: "), reason);
        assertFalse(reason.contains("Source"), reason);
        given().delete("/v1/files/" + r.getString("id")).then().statusCode(200);
    }

    @Test
    void grpcUploadsAreRefusedAlikeAndStoreNothing() throws Exception {
        Stored before = stored();
        for (String[] c : List.of(new String[] {"array.json", JSON_ARRAY}, new String[] {"data.csv", CSV},
                new String[] {"qa.jsonl", WRONG_KEYS})) {
            String rest = refused(c[0], c[1]);
            StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
                    () -> grpcUpload(c[0], c[1].getBytes(StandardCharsets.UTF_8)));
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getStatus().toString());
            assertEquals(rest, e.getStatus().getDescription());
        }
        assertEquals(before, stored());
    }

    /** One UploadDataset call: the metadata, the bytes in 100-byte chunks. */
    Dataset grpcUpload(String name, byte[] content) throws Exception {
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
        requests.onNext(UploadDatasetRequest.newBuilder()
                .setMetadata(DatasetMetadata.newBuilder().setFilename(name).setPurpose("fine-tune")).build());
        for (int at = 0; at < content.length; at += 100) {
            requests.onNext(UploadDatasetRequest.newBuilder()
                    .setChunk(ByteString.copyFrom(content, at, Math.min(100, content.length - at))).build());
        }
        requests.onCompleted();
        try {
            return answer.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw (Exception) e.getCause();
        }
    }
}
