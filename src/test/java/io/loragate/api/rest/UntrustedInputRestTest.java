package io.loragate.api.rest;

import static io.loragate.registry.RegistryFixtures.adapter;
import static io.loragate.registry.RegistryFixtures.uniqueName;
import static io.loragate.registry.RegistryFixtures.weights;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.anyOf;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.notNullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.loragate.common.DurableFiles;
import io.loragate.registry.TinyLlamaRegistryProfile;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.response.ValidatableResponse;
import io.restassured.specification.RequestSpecification;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Untrusted input (docs/security.md) through the real transport: hostile ids on every id-taking endpoint answer 400 or
 * 404 with an error body and touch nothing; links planted in the data directory are refused, not
 * followed; JSON bodies over the depth and size limits get clean 400 / 413 answers.
 */
@QuarkusTest
@TestProfile(TinyLlamaRegistryProfile.class)
class UntrustedInputRestTest {

    private static final Path DATA = Path.of("target/test-data-registry");

    /** Hostile ids, raw in the URL (already percent-encoded where they must be). */
    private static final List<String> IDS = List.of("..", "%2e%2e", "%2E%2E%2Fx", "..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd",
            "%2e%2e%5c%2e%2e", "a%00b", "file-..%2F..%2Fx", "ftjob-%2e%2e%2Fx", "x".repeat(300), "%EF%BD%81%EF%BD%84",
            "%D0%B0dapter", "Adapter", "a%20b", ".hidden", "name@..%2F1", "name@-1", "name@99999999999");

    @TempDir
    Path tmp;

    private static RequestSpecification raw() {
        return given().urlEncodingEnabled(false);
    }

    private static void refused(ValidatableResponse r) {
        r.statusCode(anyOf(is(400), is(404), is(405))).body("error.message", notNullValue());
    }

    @Test
    void hostileIdsAreRefusedOnEveryEndpointAndTouchNothing() throws IOException {
        Path outside = Files.createDirectories(Path.of("target/untrusted-outside"));
        Path secret = Files.writeString(outside.resolve("secret.txt"), "do not touch");
        Files.setLastModifiedTime(secret, FileTime.fromMillis(1_000_000_000_000L));
        List<Path> before = tree(DATA);
        for (String id : IDS) {
            refused(raw().get("/v1/adapters/" + id).then());
            refused(raw().delete("/v1/adapters/" + id).then());
            refused(raw().delete("/v1/adapters/" + id + "@1").then());
            refused(raw().contentType("application/json").body("{\"version\":1}").put("/v1/adapters/" + id + "/active").then());
            for (String op : List.of("pin", "unpin", "load", "unload")) {
                refused(raw().post("/v1/adapters/" + id + "/" + op).then());
            }
            refused(raw().get("/v1/files/" + id).then());
            refused(raw().get("/v1/files/" + id + "/content").then());
            refused(raw().delete("/v1/files/" + id).then());
            refused(raw().get("/v1/fine_tuning/jobs/" + id).then());
            refused(raw().post("/v1/fine_tuning/jobs/" + id + "/cancel").then());
            refused(raw().get("/v1/fine_tuning/jobs/" + id + "/events").then());
            refused(raw().get("/v1/fine_tuning/jobs/" + id + "/checkpoints").then());
            String decoded = java.net.URLDecoder.decode(id, StandardCharsets.UTF_8);
            String quoted = "\"" + decoded.replace("\\", "\\\\").replace("\u0000", "\\u0000") + "\"";
            refused(given().contentType("application/json").body("{\"model\":" + quoted + ",\"prompt\":\"hi\",\"max_tokens\":1}")
                    .post("/v1/completions").then());
            refused(given().contentType("application/json").body("{\"model\":\"tiny-llama\",\"training_file\":" + quoted
                    + ",\"suffix\":\"ok\"}").post("/v1/fine_tuning/jobs").then());
            refused(given().contentType("application/json").body("{\"model\":\"tiny-llama\",\"training_file\":\"file-0\","
                    + "\"suffix\":" + quoted + "}").post("/v1/fine_tuning/jobs").then());
            // registration under a hostile name: 400 before anything is written
            Path llama0 = adapter("tiny-llama", 0);
            given().multiPart("name", decoded).multiPart("config", llama0.resolve("adapter_config.json").toFile(), "application/json")
                    .multiPart("weights", weights(llama0).toFile(), "application/octet-stream")
                    .post("/v1/adapters").then().statusCode(400).body("error.param", equalTo("name"));
        }
        assertEquals("do not touch", Files.readString(secret));
        assertEquals(FileTime.fromMillis(1_000_000_000_000L), Files.getLastModifiedTime(secret));
        assertEquals(List.of(outside, outside.resolve("secret.txt")), tree(outside));
        assertEquals(before, tree(DATA), "the data directory changed");
    }

    /** Every file and folder under {@code root} except the database and upload scratch space. */
    private static List<Path> tree(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(p -> !p.toString().contains("/db") && !p.toString().contains("/tmp")).sorted().toList();
        }
    }

    @Test
    void anAdapterFileReplacedByALinkIsRefusedNotFollowed() throws IOException {
        String name = uniqueName("linked");
        Path llama0 = adapter("tiny-llama", 0);
        AdaptersResourceTest.register(name, llama0).statusCode(200);
        given().post("/v1/adapters/" + name + "/unload").then().statusCode(200);
        Path weightsFile = DATA.resolve("adapters").resolve(AdaptersResourceTest.TENANT).resolve(name).resolve("1")
                .resolve("adapter_model.safetensors");
        // The link points at valid weights: following it would "work", which is exactly what must not happen.
        Path elsewhere = Files.copy(weights(llama0), tmp.resolve("elsewhere.safetensors"));
        Files.delete(weightsFile);
        Files.createSymbolicLink(weightsFile, elsewhere.toAbsolutePath());
        given().post("/v1/adapters/" + name + "/load").then().statusCode(500)
                .body("error.message", containsString("symbolic link"));
        given().contentType("application/json").body("{\"model\":\"" + name + "\",\"prompt\":\"hi\",\"max_tokens\":1}")
                .post("/v1/completions").then().statusCode(anyOf(is(500), is(404), is(400)))
                .body("error.message", notNullValue());
    }

    @Test
    void aVersionFolderReplacedByALinkIsRefused() throws IOException {
        String name = uniqueName("linkdir");
        Path llama0 = adapter("tiny-llama", 0);
        AdaptersResourceTest.register(name, llama0).statusCode(200);
        given().post("/v1/adapters/" + name + "/unload").then().statusCode(200);
        Path version = DATA.resolve("adapters").resolve(AdaptersResourceTest.TENANT).resolve(name).resolve("1");
        Path elsewhere = Files.createDirectories(tmp.resolve("v1"));
        Files.copy(version.resolve("adapter_config.json"), elsewhere.resolve("adapter_config.json"));
        Files.copy(version.resolve("adapter_model.safetensors"), elsewhere.resolve("adapter_model.safetensors"));
        DurableFiles.deleteRecursively(version);
        Files.createSymbolicLink(version, elsewhere.toAbsolutePath());
        given().post("/v1/adapters/" + name + "/load").then().statusCode(500)
                .body("error.message", containsString("symbolic link"));
    }

    @Test
    void aFileBlobReplacedByALinkIsRefusedNotFollowed() throws Exception {
        byte[] content = "{\"text\": \"hello\", \"label\": \"a\"}\n".getBytes(StandardCharsets.UTF_8);
        Path upload = Files.write(tmp.resolve("d.jsonl"), content);
        String id = given().multiPart("file", upload.toFile(), "application/jsonl").multiPart("purpose", "fine-tune")
                .post("/v1/files").then().statusCode(200).extract().path("id");
        String sha = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(content));
        Path blob = DATA.resolve("files").resolve(sha.substring(0, 2)).resolve(sha);
        Path secret = Files.writeString(tmp.resolve("secret.jsonl"), "{\"text\": \"SECRET\", \"label\": \"a\"}\n");
        Files.delete(blob);
        Files.createSymbolicLink(blob, secret.toAbsolutePath());
        try {
            String body = given().get("/v1/files/" + id + "/content").then().statusCode(500)
                    .body("error.message", containsString("symbolic link")).extract().asString();
            assertEquals(-1, body.indexOf("SECRET"));
        } finally {
            Files.delete(blob);
            Files.write(blob, content);
            given().delete("/v1/files/" + id).then().statusCode(200);
        }
    }

    @Test
    void jsonBodiesOverTheDepthOrSizeLimitGetCleanErrors() {
        String deep = "[".repeat(200) + "]".repeat(200);
        given().contentType("application/json").body("{\"model\":\"tiny-llama\",\"prompt\":" + deep + "}")
                .post("/v1/completions").then().statusCode(400).body("error.message", containsString("nesting depth"));
        String big = "{\"model\":\"tiny-llama\",\"prompt\":\"" + "a".repeat(300 * 1024) + "\"}";
        given().contentType("application/json").body(big).post("/v1/chat/completions").then().statusCode(413)
                .body("error.message", containsString("loragate.limits.max-json-bytes"));
        given().contentType("application/json").body(big).post("/v1/completions").then().statusCode(413);
        // the server is fine afterwards
        given().contentType("application/json").body("{\"model\":\"tiny-llama\",\"prompt\":\"hi\",\"max_tokens\":1}")
                .post("/v1/completions").then().statusCode(200);
    }
}
