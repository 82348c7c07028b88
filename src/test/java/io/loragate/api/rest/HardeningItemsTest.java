package io.loragate.api.rest;

import static io.loragate.AuthProfile.ADMIN_KEY;
import static io.loragate.AuthProfile.createTenant;
import static io.loragate.AuthProfile.uniqueTenant;
import static io.loragate.registry.RegistryFixtures.adapter;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.HardeningProfile;
import io.loragate.config.ErrorText;
import io.loragate.registry.DataModes;
import io.loragate.runtime.ResidentModel;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue #14, item 5: no server path in errors; modes of the data directory and of what is written
 * there; one answer for a version spelled with a leading zero; {@code /q/metrics} behind the admin
 * key and without tenant or adapter labels; the {@code Bearer} scheme in any case.
 */
@QuarkusTest
@TestProfile(HardeningProfile.class)
class HardeningItemsTest {

    static final Path DATA = Path.of(HardeningProfile.DATA_DIR);

    @Inject
    ResidentModel resident;

    @Inject
    DataModes modes;

    @BeforeEach
    void ready() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
    }

    static String complete(String key, String model) {
        return given().auth().oauth2(key).contentType(ContentType.JSON).body("{\"model\": \"" + model
                + "\", \"prompt\": \"the software\", \"max_tokens\": 2, \"temperature\": 0}").post("/v1/completions").asString();
    }

    @Test
    void aCorruptedVersionsErrorNamesNoServerPath() throws Exception {
        String id = uniqueTenant("corrupt");
        String key = createTenant(id, null);
        TenantsRestTest.register(key, "bad", adapter("tiny-llama", 0)).statusCode(200);
        Path weights = DATA.resolve("adapters").resolve(id).resolve("bad/1/adapter_model.safetensors");
        try (RandomAccessFile f = new RandomAccessFile(weights.toFile(), "rw")) {
            f.seek(f.length() - 3);
            int b = f.read();
            f.seek(f.length() - 3);
            f.write(b ^ 0x01);
        }
        String abs = DATA.toAbsolutePath().toString();
        for (int round = 0; round < 2; round++) { // verified, then from the errored state
            Response r = given().auth().oauth2(key).contentType(ContentType.JSON)
                    .body("{\"model\": \"bad@1\", \"prompt\": \"the software\", \"max_tokens\": 2}").post("/v1/completions");
            assertEquals(500, r.statusCode(), r.asString());
            String msg = r.jsonPath().getString("error.message");
            assertEquals("data_loss", r.jsonPath().getString("error.code"), r.asString());
            assertTrue(msg.contains("sha256") && msg.contains("adapter_model.safetensors"), msg);
            assertFalse(msg.contains(abs) || msg.contains(HardeningProfile.DATA_DIR) || msg.contains("/adapters/"), msg);
        }
        String listed = given().auth().oauth2(key).get("/v1/adapters/bad").then().statusCode(200).extract()
                .path("versions[0].error");
        assertTrue(listed.contains("sha256"), listed);
        assertFalse(listed.contains(abs) || listed.contains(HardeningProfile.DATA_DIR), listed);
    }

    /** The mappers' safety net, on the messages other layers write. */
    @Test
    void errorTextRedactsServerPathsButNotApiPaths() {
        String abs = DATA.toAbsolutePath().resolve("adapters/t/x/1/adapter_model.safetensors").toString();
        String rel = HardeningProfile.DATA_DIR + "/files/ab/abcdef";
        String out = ErrorText.redact("cannot read " + abs + " or " + rel + ": see DELETE /v1/adapters/x@<version> and /etc/passwd");
        assertEquals("cannot read adapter_model.safetensors or abcdef: see DELETE /v1/adapters/x@<version> and passwd", out);
        assertEquals("invalid data in the request", ErrorText.redact("invalid data in the request"));
        // through the REST mapper: a model path in a message never reaches the client
        Response r = given().auth().oauth2(createTenant(uniqueTenant("paths"), null)).contentType(ContentType.JSON)
                .body("{\"model\": \"" + abs + "\", \"prompt\": \"x\", \"max_tokens\": 1}").post("/v1/completions");
        assertEquals(404, r.statusCode(), r.asString());
        assertFalse(r.asString().contains(DATA.toAbsolutePath().toString()), r.asString());
    }

    @Test
    void theDataDirectoryAndWhatIsWrittenThereAreTheOwnersOnly() throws Exception {
        String id = uniqueTenant("modes");
        String key = createTenant(id, null);
        TenantsRestTest.register(key, "private", adapter("tiny-llama", 0)).statusCode(200);
        String file = given().auth().oauth2(key).multiPart("file", "qa.jsonl", TenantsRestTest.dataset(3), "application/jsonl")
                .multiPart("purpose", "fine-tune").post("/v1/files").then().statusCode(200).extract().path("id");
        assertEquals("rwx------", mode(DATA));
        for (String top : List.of("adapters", "files", "tmp", "db")) {
            assertEquals("rwx------", mode(DATA.resolve(top)), top);
        }
        Path version = DATA.resolve("adapters").resolve(id).resolve("private/1");
        assertEquals("rw-------", mode(version.resolve("adapter_model.safetensors")));
        assertEquals("rw-------", mode(version.resolve("adapter_config.json")));
        try (var shards = Files.walk(DATA.resolve("files"))) {
            List<Path> blobs = shards.filter(Files::isRegularFile).toList();
            assertFalse(blobs.isEmpty());
            for (Path b : blobs) {
                assertEquals("rw-------", mode(b), b.toString());
            }
        }
        // what others wrote with the umask is fixed at the next start
        Path loose = Files.createDirectories(DATA.resolve("tmp").resolve("loose-" + id));
        Files.setPosixFilePermissions(loose, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path f = Files.writeString(loose.resolve("x"), "x");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
        modes.apply(); // what start-up runs
        assertEquals("rwx------", mode(loose));
        assertEquals("rw-------", mode(f));
        given().auth().oauth2(key).delete("/v1/files/" + file).then().statusCode(200);
    }

    static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    /** {@code name@01} is no adapter id anywhere: the same 404 for GET and completions, 400 as a version parameter. */
    @Test
    void aLeadingZeroVersionAnswersTheSameEverywhere() {
        String key = createTenant(uniqueTenant("zero"), null);
        TenantsRestTest.register(key, "secret", adapter("tiny-llama", 0)).statusCode(200);
        assertTrue(complete(key, "secret@1").contains("\"choices\""), complete(key, "secret@1"));
        given().auth().oauth2(key).get("/v1/adapters/secret@01").then().statusCode(404).body("error.code", equalTo("not_found"));
        Response c = given().auth().oauth2(key).contentType(ContentType.JSON)
                .body("{\"model\": \"secret@01\", \"prompt\": \"the software\", \"max_tokens\": 2}").post("/v1/completions");
        assertEquals(404, c.statusCode(), c.asString());
        assertEquals("not_found", c.jsonPath().getString("error.code"));
        given().auth().oauth2(key).post("/v1/adapters/secret/load?version=01").then().statusCode(400)
                .body("error.param", equalTo("version"));
        given().auth().oauth2(key).delete("/v1/adapters/secret@01").then().statusCode(400)
                .body("error.param", equalTo("version"));
        given().auth().oauth2(key).get("/v1/adapters/secret").then().statusCode(200).body("versions[0].version", equalTo(1));
    }

    @Test
    void metricsNeedTheAdminKeyAndNameNoTenantOrAdapter() {
        String id = uniqueTenant("metrics");
        String key = createTenant(id, null);
        TenantsRestTest.register(key, "labelled", adapter("tiny-llama", 0)).statusCode(200);
        assertTrue(complete(key, "labelled").contains("\"choices\""));
        given().get("/q/metrics").then().statusCode(401).body("error.code", equalTo("unauthenticated"));
        given().auth().oauth2("lg-000000000000-nope").get("/q/metrics").then().statusCode(401);
        given().auth().oauth2(key).get("/q/metrics").then().statusCode(403).body("error.code", equalTo("permission_denied"));
        String metrics = given().auth().oauth2(ADMIN_KEY).get("/q/metrics").then().statusCode(200)
                .body(containsString("loragate_requests_total")).extract().asString();
        assertFalse(metrics.contains(id), "a tenant id in the metrics");
        assertFalse(metrics.contains("labelled"), "an adapter name in the metrics");
        assertFalse(metrics.contains("tenant=\""), "a tenant label");
        // health stays open
        given().get("/q/health/live").then().statusCode(200);
    }

    /** RFC 7235: the scheme is case-insensitive, so {@code bearer} works as {@code Bearer} does. */
    @Test
    void theBearerSchemeIsCaseInsensitive() {
        String key = createTenant(uniqueTenant("case"), null);
        given().header("Authorization", "bearer " + key).get("/v1/models").then().statusCode(200);
        given().header("Authorization", "BEARER " + key).get("/v1/models").then().statusCode(200);
        given().header("Authorization", "Basic " + key).get("/v1/models").then().statusCode(401);
    }
}
