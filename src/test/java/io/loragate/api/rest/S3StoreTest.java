package io.loragate.api.rest;

import static io.loragate.registry.RegistryFixtures.adapter;
import static io.loragate.registry.RegistryFixtures.config;
import static io.loragate.registry.RegistryFixtures.uniqueName;
import static io.loragate.registry.RegistryFixtures.weights;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.s3.S3Profile;
import io.loragate.common.BlobStore;
import io.loragate.common.S3BlobStore;
import io.loragate.common.S3rverServer;
import io.loragate.registry.AdapterCache;
import io.loragate.registry.AdapterRegistry;
import io.loragate.registry.AdapterVersion;
import io.loragate.registry.DatasetStore;
import io.loragate.config.LoragateConfig;
import io.loragate.runtime.ResidentModel;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * The gateway with {@code loragate.store.url=s3://...} on s3rver: datasets, checkpoints and published
 * adapters live in the bucket, and an outage of the store fails only the requests that need it (503,
 * "object store unavailable"), while resident adapters keep serving and everything recovers when it
 * is back, without a restart.
 */
@QuarkusTest
@TestProfile(S3Profile.class)
class S3StoreTest {

    /** A ceiling for waits that normally end quickly; only a failure waits this long. */
    static final Duration PATIENCE = Duration.ofSeconds(120);

    @Inject
    ResidentModel resident;
    @Inject
    BlobStore blobs;
    @Inject
    AdapterRegistry registry;
    @Inject
    AdapterCache cache;
    @Inject
    DatasetStore datasets;
    @Inject
    LoragateConfig config;

    final S3rverServer server = S3rverServer.shared();

    @BeforeEach
    void ready() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
    }

    /** The object keys of the gateway's store under {@code key}, read directly from the bucket. */
    List<String> objects(String key) {
        String prefix = ((S3BlobStore) blobs).location().prefix() + "/" + key;
        try (S3Client client = server.client()) {
            return client.listObjectsV2Paginator(b -> b.bucket(S3rverServer.BUCKET).prefix(prefix)).contents().stream()
                    .map(S3Object::key).toList();
        }
    }

    static Response complete(String model) {
        return given().contentType(ContentType.JSON)
                .body("{\"model\": \"" + model + "\", \"prompt\": \"Q: violin\\nA:\", \"max_tokens\": 2, \"temperature\": 0}")
                .when().post("/v1/completions");
    }

    static Response uploadDataset(String content) {
        return given().multiPart("file", "qa.jsonl", content.getBytes(StandardCharsets.UTF_8), "application/jsonl")
                .multiPart("purpose", "fine-tune").when().post("/v1/files");
    }

    @Test
    void aDatasetTrainsAJobWhoseAdapterIsPublishedServedAndDeletedInTheBucket() throws Exception {
        byte[] dataset = FineTuningJobsRestTest.promptCompletionSet().getBytes(StandardCharsets.UTF_8);
        String file = uploadDataset(FineTuningJobsRestTest.promptCompletionSet()).then().statusCode(200).extract().path("id");
        String sha = io.loragate.common.DurableFiles.sha256(new java.io.ByteArrayInputStream(dataset)); // content-addressed
        assertFalse(objects("files/" + sha.substring(0, 2) + "/" + sha).isEmpty(), "the dataset is an object in the bucket");

        String suffix = uniqueName("s3-job");
        String id = given().contentType(ContentType.JSON)
                .body("{\"model\": \"tiny-llama\", \"training_file\": \"" + file + "\", \"suffix\": \"" + suffix + "\", \"seed\": 7,"
                        + " \"method\": {\"type\": \"supervised\", \"hyperparameters\": {\"epochs\": 2, \"batch_size\": 4,"
                        + " \"learning_rate\": 0.02, \"checkpoint_every_steps\": 2}, \"adapter\": {\"r\": 2, \"alpha\": 4,"
                        + " \"dropout\": 0}}}")
                .when().post("/v1/fine_tuning/jobs").then().statusCode(200).extract().path("id");
        JsonPath done = FineTuningJobsRestTest.awaitFinal(id, 300);
        assertEquals("succeeded", done.getString("status"), done::prettify);
        assertFalse(objects("jobs/" + id + "/checkpoints/").isEmpty(), "checkpoints are objects in the bucket");
        String model = done.getString("fine_tuned_model");
        String version = model.substring(model.indexOf('@') + 1);
        String folder = "adapters/default/" + suffix + "/" + version + "/";
        assertEquals(2, objects(folder).size(), "the published version's two files: " + objects(folder));

        assertEquals(model, complete(model).then().statusCode(200).extract().path("model"), "served from the bucket's copy");
        given().delete("/v1/adapters/" + model).then().statusCode(200);
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (!objects(folder).isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertEquals(List.of(), objects(folder), "a deleted version leaves the bucket");
        given().delete("/v1/files/" + file).then().statusCode(200);
        assertEquals(List.of(), objects("files/" + sha.substring(0, 2) + "/" + sha));
    }

    /**
     * The start-up sweep on the bucket: a dataset content without a row that is younger than
     * {@code loragate.store.orphan-grace} (1h) may be another replica's upload whose row is not yet
     * committed and is kept; an older one is deleted.
     */
    @Test
    void theSweepDeletesOnlyOrphanContentsOlderThanTheGracePeriod() throws Exception {
        String youngKey = "files/ad/ad" + "1".repeat(62);
        String oldKey = "files/ae/ae" + "1".repeat(62);
        for (String key : List.of(youngKey, oldKey)) {
            blobs.put(key, new java.io.ByteArrayInputStream(("content of " + key).getBytes(StandardCharsets.UTF_8)));
        }
        // s3rver answers an object's Last-Modified from its file's modification time
        Path oldObject = server.objectFile(((S3BlobStore) blobs).location().prefix() + "/" + oldKey);
        assertTrue(Files.isRegularFile(oldObject), oldObject.toString());
        Files.setLastModifiedTime(oldObject, FileTime.from(Instant.now().minus(config.store().orphanGrace()).minusSeconds(60)));
        assertTrue(blobs.modified(oldKey).isBefore(Instant.now().minus(config.store().orphanGrace())), "the store sees it as old");

        datasets.sweep();
        assertEquals(1, objects(youngKey).size(), "a content without a row, younger than the grace period, is kept");
        assertEquals(List.of(), objects(oldKey), "a content without a row, older than the grace period, is deleted");
        blobs.delete(youngKey);
    }

    @Test
    void whileTheStoreIsDownOnlyRequestsThatNeedItFailAndAllRecoversWithoutARestart() throws Exception {
        Path a = adapter("tiny-llama", 0);
        Path b = adapter("tiny-llama", 1);
        AdapterVersion warm = registry.register("default", uniqueName("s3-warm"), config(a), weights(a));
        AdapterVersion cold = registry.register("default", uniqueName("s3-cold"), config(b), weights(b));
        cache.load(warm).get(120, TimeUnit.SECONDS);
        assertFalse(cache.isResident(cold));
        awaitStatus(200, () -> given().get("/q/health/ready"));

        server.stopForOutage();
        try {
            Response served = complete(warm.name());
            assertEquals(200, served.statusCode(), "a resident adapter is served during the outage: " + served.asString());
            long start = System.nanoTime();
            Response refused = complete(cold.name());
            long coldMillis = (System.nanoTime() - start) / 1_000_000;
            assertEquals(503, refused.statusCode(), "an adapter that is not resident needs the store: " + refused.asString());
            assertTrue(refused.jsonPath().getString("error.message").startsWith("object store unavailable"), refused.asString());
            assertTrue(Integer.parseInt(refused.header("Retry-After")) >= 1);
            start = System.nanoTime();
            Response upload = uploadDataset("{\"text\": \"during the outage\"}\n");
            long uploadMillis = (System.nanoTime() - start) / 1_000_000;
            assertEquals(503, upload.statusCode(), upload.asString());
            assertTrue(upload.jsonPath().getString("error.message").startsWith("object store unavailable"), upload.asString());
            System.out.printf("store down: cold adapter 503 in %d ms, dataset upload 503 in %d ms%n", coldMillis, uploadMillis);
            assertTrue(coldMillis < 20_000 && uploadMillis < 20_000, "failed fast: " + coldMillis + " / " + uploadMillis + " ms");
            Response readiness = given().get("/q/health/ready");
            assertEquals(503, readiness.statusCode(), readiness.asString());
            assertTrue(readiness.asString().contains("object-store") && readiness.asString().contains("object store unavailable"),
                    readiness.asString());
        } finally {
            server.startAgain();
        }

        long back = System.nanoTime();
        awaitStatus(200, () -> given().get("/q/health/ready"));
        System.out.printf("store back: ready again after %d ms%n", (System.nanoTime() - back) / 1_000_000);
        assertEquals(cold.id(), complete(cold.name()).then().statusCode(200).extract().path("model"),
                "the adapter that could not be loaded during the outage loads now");
        uploadDataset("{\"text\": \"after the outage\"}\n").then().statusCode(200);
    }

    static Response awaitStatus(int status, Supplier<Response> response) throws InterruptedException {
        long start = System.nanoTime();
        while (true) {
            Response r = response.get();
            if (r.statusCode() == status) {
                return r;
            }
            if (System.nanoTime() - start > PATIENCE.toNanos()) {
                throw new AssertionError("no " + status + " within " + PATIENCE + "; last: " + r.statusCode() + " " + r.asString());
            }
            Thread.sleep(100);
        }
    }
}
