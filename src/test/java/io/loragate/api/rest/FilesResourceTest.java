package io.loragate.api.rest;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.DatasetsProfile;
import io.loragate.config.LoragateConfig;
import io.loragate.common.LoragateException;
import io.loragate.runtime.ResidentModel;
import io.loragate.training.data.DatasetExample;
import io.loragate.training.data.DatasetFile;
import io.loragate.training.data.DatasetParser;
import io.loragate.training.data.DatasetReport;
import io.loragate.training.data.Datasets;
import io.loragate.registry.DatasetStore;
import io.loragate.registry.StoredFile;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import io.restassured.response.ValidatableResponse;
import jakarta.inject.Inject;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code /v1/files} through its real transport, against the tiny-llama base with small dataset limits. */
@QuarkusTest
@TestProfile(DatasetsProfile.class)
class FilesResourceTest {

    static final String TENANT = TenantResolver.DEFAULT;

    @Inject
    ResidentModel resident;

    @Inject
    Datasets datasets;

    @Inject
    LoragateConfig config;

    @Inject
    DatasetStore store;

    @TempDir
    Path tmp;

    @BeforeEach
    void baseIsLoaded() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
    }

    static Path dataset(String name) {
        try {
            return Path.of(FilesResourceTest.class.getResource("/datasets/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static ValidatableResponse upload(Path file, String purpose) {
        var r = given().multiPart("file", file.toFile(), "application/jsonl");
        if (purpose != null) {
            r = r.multiPart("purpose", purpose);
        }
        return r.post("/v1/files").then();
    }

    /** Every stored blob and staging file: what a refused upload must leave unchanged. */
    List<Path> storedFiles() throws IOException {
        List<Path> out = new java.util.ArrayList<>();
        for (Path dir : List.of(config.dataDir().resolve("files"), config.dataDir().resolve("tmp"))) {
            if (Files.isDirectory(dir)) {
                try (Stream<Path> s = Files.walk(dir)) {
                    s.filter(p -> Files.isRegularFile(p) && !p.startsWith(config.dataDir().resolve("tmp/uploads")))
                            .sorted().forEach(out::add);
                }
            }
        }
        return out;
    }

    /** A multipart body with one file part whose Content-Disposition parameters are {@code disposition}, as sent raw. */
    static String rawUpload(String disposition, String content) {
        String boundary = "----loragate-test-boundary";
        byte[] body = ("--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n"
                + "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; " + disposition + "\r\n"
                + "Content-Type: application/jsonl\r\n\r\n" + content + "\r\n--" + boundary + "--\r\n")
                .getBytes(StandardCharsets.UTF_8);
        return given().config(io.restassured.RestAssured.config().encoderConfig(io.restassured.config.EncoderConfig.encoderConfig()
                        .appendDefaultContentCharsetToContentTypeIfUndefined(false)))
                .contentType("multipart/form-data; boundary=" + boundary).body(body)
                .post("/v1/files").then().statusCode(200).extract().jsonPath().getString("id");
    }

    @Test
    void fileNamesKeepEqualsSignsSemicolonsAndSpaces() throws IOException {
        String content = Files.readString(dataset("chat.jsonl"));
        Map<String, String> sent = new java.util.LinkedHashMap<>();
        sent.put("filename=\"a=b.jsonl\"", "a=b.jsonl");
        sent.put("filename=\"x; y=z, v1:final.jsonl\"", "x; y=z, v1:final.jsonl");
        sent.put("filename=\"say \\\"hi\\\".jsonl\"", "say \"hi\".jsonl"); // curl's escaping of a quote
        sent.put("filename=plain=token.jsonl", "plain=token.jsonl");
        // RFC 6266: filename* (UTF-8, percent-encoded) wins over the plain fallback
        sent.put("filename=\"fallback.jsonl\"; filename*=UTF-8''na%C3%AFve%3Dset+1.jsonl", "naïve=set+1.jsonl");
        for (Map.Entry<String, String> e : sent.entrySet()) {
            String id = rawUpload(e.getKey(), content);
            given().get("/v1/files/" + id).then().statusCode(200).body("filename", equalTo(e.getValue()));
        }
        // and through RestAssured's own multipart encoder
        String id = given().multiPart("file", "a=b c.jsonl", content.getBytes(StandardCharsets.UTF_8), "application/jsonl")
                .multiPart("purpose", "fine-tune").post("/v1/files").then().statusCode(200).extract().jsonPath().getString("id");
        given().get("/v1/files/" + id).then().statusCode(200).body("filename", equalTo("a=b c.jsonl"));
    }

    @Test
    void uploadListGetContentDelete() throws IOException {
        Path file = dataset("chat.jsonl");
        JsonPath up = upload(file, "fine-tune").statusCode(200)
                .body("id", startsWith("file-"))
                .body("object", equalTo("file"))
                .body("bytes", equalTo((int) Files.size(file)))
                .body("filename", equalTo("chat.jsonl"))
                .body("purpose", equalTo("fine-tune"))
                .body("status", equalTo("processed"))
                .body("report.format", equalTo("chat"))
                .body("report.examples", equalTo(12))
                .body("report.error_count", equalTo(0))
                .body("report.errors.size()", equalTo(0))
                .body("report.max_length", equalTo(DatasetsProfile.MAX_SEQ_LENGTH))
                .extract().jsonPath();
        String id = up.getString("id");
        long created = up.getLong("created_at");
        assertTrue(Math.abs(created - System.currentTimeMillis() / 1000) < 600, "created_at is Unix seconds: " + created);
        int max = up.getInt("report.tokens.max");
        assertTrue(up.getInt("report.tokens.min") > 0 && max >= up.getInt("report.tokens.p95")
                && up.getInt("report.tokens.total") >= 12 * up.getInt("report.tokens.min"), up.prettify());

        given().get("/v1/files").then().statusCode(200)
                .body("object", equalTo("list"))
                .body("data.id", hasItem(id));
        given().get("/v1/files/" + id).then().statusCode(200)
                .body("id", equalTo(id))
                .body("report.examples", equalTo(12))
                .body("report.tokens.max", equalTo(max));
        // another max length: every example is longer than 1 token
        given().get("/v1/files/" + id + "?max_length=1").then().statusCode(200)
                .body("report.max_length", equalTo(1))
                .body("report.truncated", equalTo(12));
        given().get("/v1/files/" + id + "?max_length=" + max).then().statusCode(200)
                .body("report.truncated", equalTo(0));
        given().get("/v1/files/" + id + "?max_length=zero").then().statusCode(400)
                .body("error.param", equalTo("max_length"));

        byte[] content = given().get("/v1/files/" + id + "/content").then().statusCode(200)
                .extract().asByteArray();
        assertArrayEquals(Files.readAllBytes(file), content);

        given().delete("/v1/files/" + id).then().statusCode(200)
                .body("id", equalTo(id))
                .body("object", equalTo("file"))
                .body("deleted", equalTo(true));
        given().get("/v1/files/" + id).then().statusCode(404)
                .body("error.message", equalTo("file '" + id + "' not found"))
                .body("error.type", equalTo("not_found_error"));
        given().get("/v1/files/" + id + "/content").then().statusCode(404);
        given().delete("/v1/files/" + id).then().statusCode(404);
        given().get("/v1/files").then().statusCode(200).body("data.id", not(hasItem(id)));
    }

    @Test
    void everyBadLineIsReportedWithItsNumber() {
        JsonPath r = upload(dataset("bad_chat.jsonl"), "fine-tune").statusCode(200)
                .body("report.format", equalTo("chat"))
                .body("report.examples", equalTo(3))
                .body("report.duplicates", equalTo(1))
                .body("report.error_count", equalTo(10))
                .extract().jsonPath();
        assertEquals(List.of(2, 3, 4, 5, 7, 8, 9, 10, 13, 14), r.getList("report.errors.line", Integer.class));
        assertEquals("messages[0]: unknown role 'bot' (expected system, user or assistant)", r.getString("report.errors[2].reason"));
        assertEquals("no assistant turn", r.getString("report.errors[3].reason"));
        assertEquals("prompt_completion line in a chat dataset", r.getString("report.errors[4].reason"));
        given().delete("/v1/files/" + r.getString("id")).then().statusCode(200);
    }

    @Test
    void classificationReportsItsLabels() {
        JsonPath r = upload(dataset("topics.jsonl"), "fine-tune").statusCode(200)
                .body("report.format", equalTo("classification"))
                .body("report.examples", equalTo(60))
                .extract().jsonPath();
        assertEquals(Map.of("food", 20, "sports", 20, "tech", 20), r.getMap("report.label_counts", String.class, Integer.class));
        List<DatasetExample> examples = datasets.examples(TENANT, r.getString("id"));
        assertEquals(60, examples.size());
        assertEquals("sports", ((DatasetExample.Labeled) examples.get(0)).label());
        given().delete("/v1/files/" + r.getString("id")).then().statusCode(200);
    }

    @Test
    void oversizedUploadsAreRefusedAndNothingIsStored() throws IOException {
        List<Path> before = storedFiles();
        Path big = tmp.resolve("big.jsonl");
        String line = "{\"text\": \"" + "x".repeat(1000) + "\"}\n";
        Files.writeString(big, line.repeat((int) (DatasetsProfile.MAX_BYTES / line.length()) + 1));
        upload(big, "fine-tune").statusCode(413)
                .body("error.message", equalTo("file is larger than the limit of " + DatasetsProfile.MAX_BYTES
                        + " bytes (loragate.files.max-bytes)"))
                .body("error.param", equalTo("file"))
                .body("error.type", equalTo("invalid_request_error"));
        Path many = tmp.resolve("many.jsonl");
        Files.writeString(many, "{\"text\": \"a\"}\n".repeat((int) DatasetsProfile.MAX_LINES + 1));
        upload(many, "fine-tune").statusCode(400)
                .body("error.message", equalTo("file has more than the limit of " + DatasetsProfile.MAX_LINES
                        + " lines (loragate.files.max-lines)"));
        assertEquals(before, storedFiles(), "no blob, no staging file");
        given().get("/v1/files").then().statusCode(200).body("data.filename", not(hasItem("big.jsonl")))
                .body("data.filename", not(hasItem("many.jsonl")));
    }

    @Test
    void purposeAndFileAreRequired() {
        upload(dataset("chat.jsonl"), "assistants").statusCode(400)
                .body("error.message", equalTo("purpose must be 'fine-tune', got 'assistants'"))
                .body("error.param", equalTo("purpose"));
        upload(dataset("chat.jsonl"), null).statusCode(400)
                .body("error.param", equalTo("purpose"));
        given().multiPart("purpose", "fine-tune").post("/v1/files").then().statusCode(400)
                .body("error.param", equalTo("file"));
    }

    @Test
    void anotherTenantsFileIsNotFound() throws IOException {
        byte[] content = ("{\"text\": \"" + UUID.randomUUID() + "\"}\n").getBytes(StandardCharsets.UTF_8);
        DatasetFile theirs = datasets.upload("other-tenant", "theirs.jsonl", "fine-tune", new ByteArrayInputStream(content));
        String unknown = "file-" + "0".repeat(24);
        String unknownMessage = given().get("/v1/files/" + unknown).then().statusCode(404).extract().path("error.message");
        given().get("/v1/files/" + theirs.id()).then().statusCode(404)
                .body("error.message", equalTo(unknownMessage.replace(unknown, theirs.id())));
        given().get("/v1/files/" + theirs.id() + "/content").then().statusCode(404);
        given().delete("/v1/files/" + theirs.id()).then().statusCode(404);
        given().get("/v1/files").then().statusCode(200).body("data.id", not(hasItem(theirs.id())));
        assertEquals(LoragateException.Kind.NOT_FOUND, assertThrows(LoragateException.class,
                () -> datasets.examples(TENANT, theirs.id())).kind());
        // still there for its owner
        assertEquals(1, datasets.examples("other-tenant", theirs.id()).size());
        datasets.delete("other-tenant", theirs.id());
    }

    /**
     * A file without a valid example is refused at upload now (DatasetRefusalTest); one stored before
     * that rule (published here straight into the store, with the report it was stored with) still
     * cannot train.
     */
    @Test
    void aStoredFileWithoutValidExamplesCannotTrain() throws IOException {
        Path junk = tmp.resolve("junk.jsonl");
        Files.writeString(junk, "not json\n{\"foo\": 1}\n");
        upload(junk, "fine-tune").statusCode(400).body("error.param", equalTo("file"));
        DatasetReport report = new DatasetParser(resident.tokenizer(), resident.chatTemplate()).validate(junk, 48);
        StoredFile f;
        try (InputStream in = Files.newInputStream(junk)) {
            f = store.publish(TENANT, store.stage(in), "junk.jsonl", "fine-tune", new ObjectMapper().writeValueAsString(report));
        }
        LoragateException e = assertThrows(LoragateException.class, () -> datasets.examples(TENANT, f.id()));
        assertEquals(LoragateException.Kind.FAILED_PRECONDITION, e.kind());
        assertTrue(e.getMessage().contains("has no valid example (2 bad lines; line 1: invalid JSON"), e.getMessage());
        given().delete("/v1/files/" + f.id()).then().statusCode(200);
    }
}
