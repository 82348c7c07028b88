package io.loragate.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/** The S3 store against s3rver: the same behaviours as the file store, plus the checked, bounded local cache. */
class S3BlobStoreTest {

    private static final String SHA256_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    @TempDir
    Path tmp;

    private final S3rverServer server = S3rverServer.shared();
    private final String prefix = "unit/" + UUID.randomUUID();

    private S3Settings settings(long cacheMaxBytes, Duration minAge) {
        return new S3Settings(Optional.of(server.endpoint()), Optional.of(S3rverServer.REGION), true,
                S3Settings.MIN_PART_SIZE, tmp.resolve("cache"), tmp.resolve("staging"), cacheMaxBytes, minAge,
                () -> new FileAttribute<?>[0]);
    }

    private S3BlobStore store(long cacheMaxBytes, Duration minAge) {
        return (S3BlobStore) BlobStore.fromUrl(server.url(prefix), () -> new FileAttribute<?>[0], settings(cacheMaxBytes, minAge));
    }

    private S3BlobStore store() {
        return store(1L << 30, Duration.ZERO);
    }

    private static ByteArrayInputStream bytes(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aBlobIsPutReadListedAndDeleted() throws IOException {
        try (S3BlobStore store = store()) {
            String key = "files/ba/" + SHA256_ABC;
            assertEquals(SHA256_ABC, store.put(key, bytes("abc")));
            assertEquals("abc", Files.readString(store.get(key)));
            assertEquals(3, store.size(key));
            assertEquals(-1, store.size("files/ba/nothing"));
            assertTrue(store.exists(key));
            assertTrue(store.exists("files"), "a prefix of a blob exists");
            assertFalse(store.exists("files/zz"));
            assertTrue(store.modified(key) != null);
            assertNull(store.modified("files/ba/nothing"));
            assertEquals(List.of(key), store.list("files"));
            try (S3Client client = server.client()) {
                assertEquals(SHA256_ABC, client.headObject(b -> b.bucket(S3rverServer.BUCKET).key(prefix + "/" + key))
                        .metadata().get("sha256"), "the SHA-256 is recorded as the object's metadata");
            }
            store.delete("files");
            assertEquals(List.of(), store.list("files"));
            assertFalse(Files.exists(store.get(key)), "a deleted blob is absent locally too");
            store.delete("files"); // nothing there is fine
        }
    }

    @Test
    void aPublishedFolderReplacesTheOldOneAndIsListedByPrefix() throws IOException {
        try (S3BlobStore store = store()) {
            String key = "adapters/default/support/1";
            store.put(key + "/leftover.bin", bytes("from a crashed publication"));
            Path staged = Files.createDirectories(tmp.resolve("publish-x"));
            Files.writeString(staged.resolve("adapter_config.json"), "{}");
            Files.writeString(staged.resolve("adapter_model.safetensors"), "w");
            store.publish(key, staged);
            List<String> both = List.of(key + "/adapter_config.json", key + "/adapter_model.safetensors");
            assertEquals(both, store.list("adapters"));
            assertEquals(both, store.list(key));
            Path local = store.get(key);
            assertEquals("w", Files.readString(local.resolve("adapter_model.safetensors")));
            assertEquals("{}", Files.readString(local.resolve("adapter_config.json")));
            assertFalse(Files.exists(local.resolve("leftover.bin")));
        }
    }

    @Test
    void unpublishGivesTheStagedContentBackForARetry() throws IOException {
        try (S3BlobStore store = store()) {
            Path staged = Files.createDirectories(tmp.resolve("publish-y"));
            Files.writeString(staged.resolve("a"), "1");
            store.publish("adapters/t/n/2", staged);
            assertTrue(store.exists("adapters/t/n/2"));
            store.unpublish("adapters/t/n/2", staged);
            assertFalse(store.exists("adapters/t/n/2"));
            assertEquals("1", Files.readString(staged.resolve("a")));
        }
    }

    @Test
    void stagedPathsAreLocalAndSweptByDeleteStaged() throws IOException {
        try (S3BlobStore store = store()) {
            String checkpoints = "jobs/ftjob-000000000000000000000001/checkpoints";
            Path staged = store.stage(checkpoints + "/step-3");
            assertTrue(staged.getFileName().toString().startsWith(".tmp-step-3-"), staged.toString());
            Files.createDirectories(staged);
            Files.writeString(staged.resolve("meta.json"), "{}");
            store.put(checkpoints + "/step-2/meta.json", bytes("{}"));
            assertEquals(List.of(checkpoints + "/step-2/meta.json"), store.list(checkpoints));
            store.deleteStaged(checkpoints);
            assertFalse(Files.exists(staged));
            assertTrue(store.exists(checkpoints + "/step-2/meta.json"));
        }
    }

    @Test
    void contentChangedInTheStoreIsRefusedNamingTheKeyAndTheLocalCopyIsDropped() throws IOException {
        try (S3BlobStore store = store(); S3Client client = server.client()) {
            String key = "files/ba/" + SHA256_ABC;
            store.put(key, bytes("abc"));
            Path local = store.get(key);
            assertEquals("abc", Files.readString(local));
            // the object is replaced behind the store's back, keeping the recorded SHA-256
            client.putObject(b -> b.bucket(S3rverServer.BUCKET).key(prefix + "/" + key).metadata(Map.of("sha256", SHA256_ABC)),
                    RequestBody.fromString("abd"));
            LoragateException e = assertThrows(LoragateException.class, () -> store.get(key));
            assertEquals(LoragateException.Kind.DATA_LOSS, e.kind());
            assertTrue(e.getMessage().contains(key) && e.getMessage().contains(SHA256_ABC), e.getMessage());
            assertFalse(Files.exists(local), "the cached copy is dropped");
            assertEquals(0, store.cachedBytes());

            client.putObject(b -> b.bucket(S3rverServer.BUCKET).key(prefix + "/files/no/sha"), RequestBody.fromString("x"));
            LoragateException unrecorded = assertThrows(LoragateException.class, () -> store.get("files/no/sha"));
            assertTrue(unrecorded.getMessage().contains("files/no/sha") && unrecorded.getMessage().contains("no recorded SHA-256"),
                    unrecorded.getMessage());
        }
    }

    @Test
    void theCacheStaysWithinItsBoundEvictingTheLeastRecentlyUsed() throws IOException {
        try (S3BlobStore store = store(2500, Duration.ZERO)) {
            String content = "x".repeat(1000);
            for (String k : List.of("a", "b", "c")) {
                store.put("files/" + k, bytes(content + k));
            }
            Path a = store.get("files/a");
            store.get("files/b");
            assertEquals(2002, store.cachedBytes());
            store.get("files/a"); // used again: b is now the least recently used
            Path c = store.get("files/c");
            assertTrue(store.cachedBytes() <= 2500, "cached " + store.cachedBytes());
            assertTrue(Files.exists(a) && Files.exists(c));
            assertFalse(Files.exists(tmp.resolve("cache/files/b")), "the least recently used copy is evicted");
            assertEquals(content + "b", Files.readString(store.get("files/b")), "an evicted blob is read from the store again");
            assertTrue(store.cachedBytes() <= 2500, "cached " + store.cachedBytes());
        }
    }

    @Test
    void aCopyHandedOutRecentlyIsNotEvicted() throws IOException {
        try (S3BlobStore store = store(1500, Duration.ofHours(1))) {
            store.put("files/a", bytes("x".repeat(1000)));
            store.put("files/b", bytes("y".repeat(1000)));
            Path a = store.get("files/a");
            Path b = store.get("files/b");
            assertTrue(Files.exists(a) && Files.exists(b), "both are younger than the minimum age");
            assertEquals(2000, store.cachedBytes());
        }
    }

    @Test
    void aBlobLargerThanThePartSizeIsUploadedInPartsFromAStream() throws IOException {
        long size = 2 * S3Settings.MIN_PART_SIZE + 12345;
        List<String> requests = new java.util.concurrent.CopyOnWriteArrayList<>();
        S3Settings settings = settings(1L << 30, Duration.ZERO);
        S3Client counted = S3Clients.builder(settings).overrideConfiguration(o -> o.addExecutionInterceptor(new ExecutionInterceptor() {
            @Override
            public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
                requests.add(context.request().getClass().getSimpleName());
            }
        })).build();
        try (S3BlobStore store = new S3BlobStore(counted, S3Location.parse(server.url(prefix)), settings)) {
            String sha = store.put("files/big", new Generated(size));
            assertEquals(DurableFiles.sha256(new Generated(size)), sha);
            assertEquals(size, store.size("files/big"));
            assertEquals(3, requests.stream().filter("UploadPartRequest"::equals).count(), "three parts: " + requests);
            assertEquals(1, requests.stream().filter("CompleteMultipartUploadRequest"::equals).count(), requests.toString());
            Path local = store.get("files/big");
            assertEquals(size, Files.size(local));
            assertEquals(sha, DurableFiles.sha256(local));
        }
    }

    @Test
    void whileTheStoreIsDownRequestsFailAsUnavailableAndWorkWhenItIsBack() throws IOException {
        try (S3BlobStore store = store()) {
            store.put("files/x", bytes("x"));
            store.probe();
            server.stopForOutage();
            try {
                long start = System.nanoTime();
                LoragateException e = assertThrows(LoragateException.class, () -> store.get("files/x"));
                long millis = (System.nanoTime() - start) / 1_000_000;
                System.out.printf("store down: get failed in %d ms%n", millis);
                assertEquals(LoragateException.Kind.UNAVAILABLE, e.kind());
                assertTrue(e.getMessage().startsWith("object store unavailable"), e.getMessage());
                assertTrue(e.retryAfterSeconds() > 0);
                // "Fast" means it did not wait on a dead connection until the read timeout.
                assertTrue(millis < S3Clients.READ_TIMEOUT.toMillis(),
                        "failed before the read timeout (" + S3Clients.READ_TIMEOUT + "): " + millis + " ms");
                assertThrows(LoragateException.class, store::probe);
            } finally {
                server.startAgain();
            }
            assertEquals("x", Files.readString(store.get("files/x")));
            store.probe();
        }
    }

    @Test
    void theUrlNamesBucketAndPrefixAndBadOnesAreRefused() {
        assertEquals(new S3Location("my-bucket", "a/b"), S3Location.parse("s3://my-bucket/a/b/"));
        assertEquals(new S3Location("my-bucket", ""), S3Location.parse("s3://my-bucket"));
        assertEquals("a/b/files/x", S3Location.parse("s3://my-bucket/a/b").object("files/x"));
        for (String bad : new String[] {"s3://", "s3://B/x", "s3://ok-bucket/../x", "s3://ok-bucket/a//b", "s3://ok-bucket/.x"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> S3Location.parse(bad), bad);
            assertTrue(e.getMessage().contains("loragate.store.url"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> BlobStore.fromUrl("s3://ok-bucket/x", () -> new FileAttribute<?>[0]),
                "an S3 URL without its settings");
    }

    /** {@code size} pseudo-random bytes, produced as they are read (nothing held in memory). */
    static final class Generated extends InputStream {
        private long left;
        private long state = 42;

        Generated(long size) {
            this.left = size;
        }

        @Override
        public int read() {
            if (left <= 0) {
                return -1;
            }
            left--;
            state = state * 6364136223846793005L + 1442695040888963407L;
            return (int) (state >>> 56) & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (left <= 0) {
                return -1;
            }
            int n = (int) Math.min(len, left);
            for (int i = 0; i < n; i++) {
                b[off + i] = (byte) read();
            }
            return n;
        }
    }
}
