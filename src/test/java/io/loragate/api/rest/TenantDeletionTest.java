package io.loragate.api.rest;

import static io.loragate.AuthProfile.ADMIN_KEY;
import static io.loragate.AuthProfile.createTenant;
import static io.loragate.AuthProfile.uniqueTenant;
import static io.loragate.registry.RegistryFixtures.adapter;
import static io.loragate.registry.RegistryFixtures.config;
import static io.loragate.registry.RegistryFixtures.weights;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.HardeningProfile;
import io.loragate.common.LoragateException;
import io.loragate.recommend.SweepStore;
import io.loragate.registry.AdapterRegistry;
import io.loragate.registry.DatasetStore;
import io.loragate.registry.JobStore;
import io.loragate.registry.TenantPurge;
import io.loragate.runtime.ResidentModel;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue #14, item 4: deleting a tenant is atomic with respect to its work in flight. An upload (adapter
 * or dataset) whose body is still arriving when the tenant is deleted publishes nothing; a running job
 * keeps the deletion refused until it is final, and a job or sweep created after the deletion is
 * refused; what a deleted tenant leaves (rows, folders) is purged at once and by the start-up sweep.
 */
@QuarkusTest
@TestProfile(HardeningProfile.class)
class TenantDeletionTest {

    static final Path DATA = Path.of(HardeningProfile.DATA_DIR);
    static final String[] TENANT_TABLES = {"adapters", "adapter_versions", "files", "jobs", "sweeps"};

    @Inject
    ResidentModel resident;

    @Inject
    DataSource db;

    @Inject
    JobStore jobs;

    @Inject
    SweepStore sweeps;

    @Inject
    TenantPurge purge;

    @Inject
    AdapterRegistry registry;

    @Inject
    DatasetStore datasets;

    @TestHTTPResource("/")
    URL root;

    @BeforeEach
    void ready() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
    }

    // ---------------------------------------------------------------------------------------------

    @Test
    void anAdapterUploadInFlightWhenItsTenantIsDeletedPublishesNothing() throws Exception {
        String id = uniqueTenant("erin");
        String key = createTenant(id, null);
        Path a = adapter("tiny-llama", 0);
        byte[] body = multipart(Map.of("name", "late".getBytes(StandardCharsets.UTF_8)),
                Map.of("config", config(a), "weights", weights(a)));
        String answer = slowUpload("/v1/adapters", key, body, () -> given().auth().oauth2(ADMIN_KEY)
                .delete("/v1/admin/tenants/" + id).then().statusCode(200));
        assertTrue(answer.startsWith("HTTP/1.1 401"), answer);
        assertTrue(answer.contains("was deleted"), answer);
        assertNothingLeft(id);
    }

    @Test
    void aDatasetUploadInFlightWhenItsTenantIsDeletedPublishesNothing() throws Exception {
        String id = uniqueTenant("dave");
        String key = createTenant(id, null);
        Path data = Files.createTempFile("late", ".jsonl");
        // content no other tenant uploads: its blob must not stay behind
        Files.writeString(data, "{\"prompt\": \"Q: " + UUID.randomUUID() + "\\nA:\", \"completion\": \" yes.\"}\n");
        String sha = io.loragate.common.DurableFiles.sha256(data);
        byte[] body = multipart(Map.of("purpose", "fine-tune".getBytes(StandardCharsets.UTF_8)), Map.of("file", data));
        String answer = slowUpload("/v1/files", key, body, () -> given().auth().oauth2(ADMIN_KEY)
                .delete("/v1/admin/tenants/" + id).then().statusCode(200));
        assertTrue(answer.startsWith("HTTP/1.1 401"), answer);
        assertNothingLeft(id);
        assertFalse(Files.exists(DATA.resolve("files").resolve(sha.substring(0, 2)).resolve(sha)), "blob " + sha + " left behind");
    }

    /** Uploads racing the deletion: one of them wins, never both, and a refused upload leaves nothing. */
    @Test
    void uploadAndDeletionRacingNeverBothSucceed() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            int uploadsWon = 0;
            int deletionsWon = 0;
            for (int round = 0; round < 6; round++) {
                String id = uniqueTenant("race");
                String key = createTenant(id, null);
                CountDownLatch go = new CountDownLatch(1);
                Future<Integer> upload = pool.submit(() -> {
                    go.await();
                    return TenantsRestTest.register(key, "racer", adapter("tiny-llama", 0)).extract().statusCode();
                });
                int delayMs = 40 * round; // staggered: the deletion lands before, during or after the publication
                Future<Integer> delete = pool.submit(() -> {
                    go.await();
                    Thread.sleep(delayMs);
                    return given().auth().oauth2(ADMIN_KEY).delete("/v1/admin/tenants/" + id).then().extract().statusCode();
                });
                go.countDown();
                int u = upload.get(60, TimeUnit.SECONDS);
                int d = delete.get(60, TimeUnit.SECONDS);
                if (d == 200) {
                    deletionsWon++;
                    assertEquals(401, u, "round " + round + ": the upload succeeded for a deleted tenant");
                    assertNothingLeft(id);
                } else {
                    uploadsWon++;
                    assertEquals(400, d, "round " + round);
                    assertEquals(200, u, "round " + round);
                    given().auth().oauth2(key).get("/v1/adapters/racer").then().statusCode(200);
                }
            }
            assertEquals(6, uploadsWon + deletionsWon, uploadsWon + " uploads won, " + deletionsWon + " deletions won");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aRunningJobKeepsTheDeletionRefusedAndNothingOfItRemainsOnceDeleted() throws Exception {
        String id = uniqueTenant("runner");
        String key = createTenant(id, null);
        String file = given().auth().oauth2(key).multiPart("file", "qa.jsonl", TenantsRestTest.dataset(10), "application/jsonl")
                .multiPart("purpose", "fine-tune").post("/v1/files").then().statusCode(200).extract().path("id");
        String job = given().auth().oauth2(key).contentType(ContentType.JSON).body(TenantsRestTest.jobBody(file))
                .post("/v1/fine_tuning/jobs").then().statusCode(200).extract().path("id");
        awaitStatus(key, job, "running");
        // the job's folder appears with its first checkpoint: wait for it, so that the check below (nothing
        // of it remains) is about a folder that existed (a fresh-clone run cancelled the job before it)
        long folderDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!Files.exists(DATA.resolve("jobs").resolve(job))) {
            assertTrue(System.nanoTime() < folderDeadline, "no checkpoint folder for the running job " + job);
            Thread.sleep(20);
        }
        given().auth().oauth2(ADMIN_KEY).delete("/v1/admin/tenants/" + id).then().statusCode(400)
                .body("error.code", equalTo("failed_precondition"))
                .body("error.message", containsString("1 unfinished fine-tuning job(s)"));
        given().auth().oauth2(key).post("/v1/fine_tuning/jobs/" + job + "/cancel").then().statusCode(200);
        awaitStatus(key, job, "cancelled");
        given().auth().oauth2(key).delete("/v1/files/" + file).then().statusCode(200);
        assertTrue(Files.exists(DATA.resolve("jobs").resolve(job)), "the job had a folder");
        given().auth().oauth2(ADMIN_KEY).delete("/v1/admin/tenants/" + id).then().statusCode(200);
        assertNothingLeft(id);
        assertFalse(Files.exists(DATA.resolve("jobs").resolve(job)), "job folder left behind");
        assertEquals(0, count("SELECT COUNT(*) FROM job_events WHERE job_id = ?", job));
        assertEquals(0, count("SELECT COUNT(*) FROM job_checkpoints WHERE job_id = ?", job));
        // the key died with the tenant, and the id is never issued again
        given().auth().oauth2(key).get("/v1/fine_tuning/jobs/" + job).then().statusCode(401);
        given().auth().oauth2(ADMIN_KEY).contentType(ContentType.JSON).body("{\"id\": \"" + id + "\"}").post("/v1/admin/tenants")
                .then().statusCode(400);
    }

    /**
     * The store-side guards, below every transport: a job, a sweep, an adapter version (what gRPC
     * Register and a job's publication call) or a dataset (gRPC UploadDataset) whose publication comes
     * after the deletion is refused and leaves no row and no file.
     */
    @Test
    void publicationsAfterTheDeletionAreRefused() throws Exception {
        String id = uniqueTenant("after");
        createTenant(id, null);
        given().auth().oauth2(ADMIN_KEY).delete("/v1/admin/tenants/" + id).then().statusCode(200);
        Path a = adapter("tiny-llama", 0);
        LoragateException version = assertThrows(LoragateException.class, () -> registry.register(id, "late", config(a), weights(a)));
        assertEquals(LoragateException.Kind.UNAUTHENTICATED, version.kind());
        assertTrue(version.getMessage().contains("was deleted"), version.getMessage());
        DatasetStore.Staging staged = datasets.stage(new java.io.ByteArrayInputStream(("{\"prompt\": \"" + UUID.randomUUID()
                + "\", \"completion\": \" y\"}\n").getBytes(StandardCharsets.UTF_8)));
        String sha = staged.sha256();
        LoragateException file = assertThrows(LoragateException.class, () -> datasets.publish(id, staged, "x.jsonl", "fine-tune", "{}"));
        assertEquals(LoragateException.Kind.UNAUTHENTICATED, file.kind());
        assertFalse(Files.exists(DATA.resolve("files").resolve(sha.substring(0, 2)).resolve(sha)), "blob left behind");
        assertFalse(Files.exists(staged.path()), "staged file left behind");
        LoragateException job = assertThrows(LoragateException.class, () -> jobs.create(id, "tiny-llama",
                "file-000000000000000000000000", null, "x", 1, "{}", null, false));
        assertEquals(LoragateException.Kind.UNAUTHENTICATED, job.kind());
        LoragateException sweep = assertThrows(LoragateException.class, () -> sweeps.create(SweepStore.newId(), id, "{}", "{}",
                List.of()));
        assertEquals(LoragateException.Kind.UNAUTHENTICATED, sweep.kind());
        assertNothingLeft(id);
    }

    /** What a crash (or an older version) left of a deleted tenant goes at the next start. */
    @Test
    void theStartUpSweepRemovesLeftoversOfDeletedTenants() throws Exception {
        String id = uniqueTenant("ghost");
        createTenant(id, null);
        given().auth().oauth2(ADMIN_KEY).delete("/v1/admin/tenants/" + id).then().statusCode(200);
        // plant: a version folder and its rows, a job with an event and its folder, a file row and its blob, a sweep
        Path version = DATA.resolve("adapters").resolve(id).resolve("late").resolve("1");
        Files.createDirectories(version);
        Files.writeString(version.resolve("adapter_model.safetensors"), "weights");
        String jobId = "ftjob-" + UUID.randomUUID().toString().replace("-", "").substring(0, 24);
        Files.createDirectories(DATA.resolve("jobs").resolve(jobId).resolve("checkpoints"));
        String orphanJob = "ftjob-" + UUID.randomUUID().toString().replace("-", "").substring(0, 24);
        Files.createDirectories(DATA.resolve("jobs").resolve(orphanJob)); // a folder no row refers to
        String sha = io.loragate.common.DurableFiles.sha256(Files.writeString(Files.createTempFile("blob", ""),
                UUID.randomUUID().toString()));
        Path blob = DATA.resolve("files").resolve(sha.substring(0, 2)).resolve(sha);
        Files.createDirectories(blob.getParent());
        Files.writeString(blob, "x");
        try (Connection c = db.getConnection()) {
            exec(c, "INSERT INTO adapters (tenant, name, active_version, pinned, created) VALUES (?, 'late', 1, FALSE, ?)", id);
            exec(c, "INSERT INTO adapter_versions (tenant, name, version, peft_type, rank, bytes, sha256, state, pinned, created)"
                    + " VALUES (?, 'late', 1, 'LORA', 4, 7, '" + "0".repeat(64) + "', 'ready', FALSE, ?)", id);
            exec(c, "INSERT INTO files (id, tenant, filename, purpose, bytes, sha256, lines, created, status) VALUES ('file-"
                    + sha.substring(0, 24) + "', ?, 'x.jsonl', 'fine-tune', 1, '" + sha + "', 1, ?, 'processed')", id);
            exec(c, "INSERT INTO jobs (id, tenant, model, training_file, suffix, seed, method, activate, status, created) VALUES ('"
                    + jobId + "', ?, 'tiny-llama', 'file-0', 'x', 1, '{}', FALSE, 'succeeded', ?)", id);
            exec(c, "INSERT INTO sweeps (id, tenant, request, recommendation, jobs, status, created) VALUES ('"
                    + SweepStore.newId() + "', ?, '{}', '{}', '[]', 'failed', ?)", id);
        }
        assertTrue(count("SELECT COUNT(*) FROM adapters WHERE tenant = ?", id) > 0, "planted");

        purge.sweep(); // what start-up runs

        assertNothingLeft(id);
        assertFalse(Files.exists(DATA.resolve("jobs").resolve(jobId)), "job folder of a deleted tenant");
        assertFalse(Files.exists(DATA.resolve("jobs").resolve(orphanJob)), "job folder without a row");
        assertFalse(Files.exists(blob), "blob of a deleted tenant's file");
        // the tombstone stays: the id is never issued again
        assertEquals(1, count("SELECT COUNT(*) FROM tenants WHERE id = ? AND deleted IS NOT NULL", id));
    }

    // ---------------------------------------------------------------------------------------------

    /** Nothing of {@code tenant} in the tables or under {@code adapters/}; no staged upload left. */
    void assertNothingLeft(String tenant) throws Exception {
        for (String table : TENANT_TABLES) {
            assertEquals(0, count("SELECT COUNT(*) FROM " + table + " WHERE tenant = ?", tenant), table + " of " + tenant);
        }
        assertFalse(Files.exists(DATA.resolve("adapters").resolve(tenant)), "adapters/" + tenant + " left behind");
        try (var staged = Files.list(DATA.resolve("tmp"))) {
            List<Path> left = staged.filter(p -> p.getFileName().toString().startsWith("publish-")).toList();
            assertTrue(left.isEmpty(), "staged adapter uploads left: " + left);
        }
    }

    long count(String sql, String arg) throws Exception {
        try (Connection c = db.getConnection(); PreparedStatement s = c.prepareStatement(sql)) {
            s.setString(1, arg);
            try (ResultSet r = s.executeQuery()) {
                r.next();
                return r.getLong(1);
            }
        }
    }

    static void exec(Connection c, String sql, String tenant) throws Exception {
        try (PreparedStatement s = c.prepareStatement(sql)) {
            s.setString(1, tenant);
            s.setObject(2, OffsetDateTime.now());
            s.executeUpdate();
        }
    }

    static void awaitStatus(String key, String job, String status) throws InterruptedException {
        for (int i = 0; i < 1200; i++) {
            String s = given().auth().oauth2(key).get("/v1/fine_tuning/jobs/" + job).then().statusCode(200).extract().path("status");
            if (status.equals(s)) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("job " + job + " never reached " + status);
    }

    static byte[] multipart(Map<String, byte[]> fields, Map<String, Path> files) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (var f : fields.entrySet()) {
            out.write(("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"" + f.getKey() + "\"\r\n\r\n")
                    .getBytes(StandardCharsets.UTF_8));
            out.write(f.getValue());
            out.write("\r\n".getBytes(StandardCharsets.UTF_8));
        }
        for (var f : files.entrySet()) {
            out.write(("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"" + f.getKey() + "\"; filename=\""
                    + f.getValue().getFileName() + "\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                    .getBytes(StandardCharsets.UTF_8));
            out.write(Files.readAllBytes(f.getValue()));
            out.write("\r\n".getBytes(StandardCharsets.UTF_8));
        }
        out.write(("--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.UTF_8));
        return out.toByteArray();
    }

    static final String BOUNDARY = "loragate-test-boundary-7f3a";

    /**
     * Sends half of {@code body}, runs {@code meanwhile} (the upload is in flight: its body is still
     * arriving), then the rest; answers the raw HTTP answer.
     */
    String slowUpload(String path, String key, byte[] body, Callable<?> meanwhile) throws Exception {
        try (Socket s = new Socket(root.getHost(), root.getPort())) {
            s.setSoTimeout(60_000);
            OutputStream out = s.getOutputStream();
            out.write(("POST " + path + " HTTP/1.1\r\nHost: " + root.getHost() + ":" + root.getPort() + "\r\nAuthorization: Bearer "
                    + key + "\r\nContent-Type: multipart/form-data; boundary=" + BOUNDARY + "\r\nContent-Length: " + body.length
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.UTF_8));
            int half = body.length / 2;
            out.write(body, 0, half);
            out.flush();
            Thread.sleep(200); // the server is reading the body
            meanwhile.call();
            out.write(body, half, body.length - half);
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
