package io.loragate.registry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.DatasetsProfile;
import io.loragate.common.DurableFiles;
import io.loragate.config.LoragateConfig;
import io.loragate.common.LoragateException;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Content-addressed blobs, reference-counted deletes, limits that leave nothing behind, and the start-up sweep. */
@QuarkusTest
@TestProfile(DatasetsProfile.class)
class DatasetStoreTest {

    @Inject
    DatasetStore store;

    @Inject
    LoragateConfig config;

    static String unique() {
        return "{\"text\": \"" + UUID.randomUUID() + "\"}\n";
    }

    StoredFile put(String tenant, byte[] content) {
        try (DatasetStore.Staging s = store.stage(new ByteArrayInputStream(content))) {
            return store.publish(tenant, s, "d.jsonl", "fine-tune", "{}");
        }
    }

    Path tmp() {
        return config.dataDir().resolve("tmp");
    }

    List<Path> staging() throws IOException {
        if (!Files.isDirectory(tmp())) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(tmp())) {
            return s.filter(p -> p.getFileName().toString().startsWith("dataset-")).toList();
        }
    }

    @Test
    void sameContentIsStoredOnceAndDeletedWithItsLastFile() throws IOException {
        byte[] content = (unique() + unique()).getBytes(StandardCharsets.UTF_8);
        StoredFile a = put("tenant-a", content);
        StoredFile b = put("tenant-b", content);
        assertNotEquals(a.id(), b.id());
        assertTrue(a.id().matches("file-[0-9a-f]{24}"), a.id());
        assertEquals(a.sha256(), b.sha256());
        assertEquals(DurableFiles.sha256(store.blob(a)), a.sha256());
        assertEquals(content.length, a.bytes());
        assertEquals(2, a.lines());
        assertEquals(StoredFile.PROCESSED, a.status());
        Path blob = store.blob(a);
        assertEquals(config.dataDir().resolve("files").resolve(a.sha256().substring(0, 2)).resolve(a.sha256()), blob);
        try (Stream<Path> shard = Files.list(blob.getParent())) {
            assertEquals(1, shard.filter(p -> p.getFileName().toString().equals(a.sha256())).count());
        }
        assertEquals(List.of(), staging(), "the second copy was dropped, nothing left in staging");

        // tenant-b cannot see tenant-a's file: exactly the answer for an unknown id
        LoragateException foreign = assertThrows(LoragateException.class, () -> store.get("tenant-b", a.id()));
        LoragateException unknown = assertThrows(LoragateException.class, () -> store.get("tenant-b", "file-000000000000000000000000"));
        assertEquals(LoragateException.Kind.NOT_FOUND, foreign.kind());
        assertEquals(unknown.getMessage().replace("file-000000000000000000000000", a.id()), foreign.getMessage());
        assertThrows(LoragateException.class, () -> store.delete("tenant-b", a.id()));
        assertTrue(Files.exists(blob));

        store.delete("tenant-a", a.id());
        assertTrue(Files.exists(blob), "tenant-b's file still refers to the content");
        try (InputStream in = store.open("tenant-b", b.id())) {
            assertArrayEquals(content, in.readAllBytes());
        }
        store.delete("tenant-b", b.id());
        assertFalse(Files.exists(blob), "the last reference is gone, so is the content");
        assertEquals(LoragateException.Kind.NOT_FOUND,
                assertThrows(LoragateException.class, () -> store.delete("tenant-b", b.id())).kind());
        assertFalse(store.list("tenant-a").stream().anyMatch(f -> f.id().equals(a.id())));
    }

    @Test
    void overTheByteLimitNothingIsLeft() throws IOException {
        byte[] big = new byte[(int) DatasetsProfile.MAX_BYTES + 1];
        java.util.Arrays.fill(big, (byte) 'x');
        LoragateException e = assertThrows(LoragateException.class, () -> store.stage(new ByteArrayInputStream(big)));
        assertEquals(LoragateException.Kind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().contains(DatasetsProfile.MAX_BYTES + " bytes (loragate.files.max-bytes)"), e.getMessage());
        assertEquals("file", e.param());
        assertEquals(List.of(), staging());

        byte[] exactly = java.util.Arrays.copyOf(big, (int) DatasetsProfile.MAX_BYTES);
        try (DatasetStore.Staging s = store.stage(new ByteArrayInputStream(exactly))) {
            assertEquals(DatasetsProfile.MAX_BYTES, s.bytes());
            assertEquals(1, s.lines(), "a last line without newline counts");
        }
        assertEquals(List.of(), staging(), "closing an unpublished staging file deletes it");
    }

    @Test
    void overTheLineLimitNothingIsLeft() throws IOException {
        String line = "{\"text\": \"a\"}\n";
        byte[] limit = line.repeat((int) DatasetsProfile.MAX_LINES).getBytes(StandardCharsets.UTF_8);
        try (DatasetStore.Staging s = store.stage(new ByteArrayInputStream(limit))) {
            assertEquals(DatasetsProfile.MAX_LINES, s.lines());
        }
        byte[] over = (line.repeat((int) DatasetsProfile.MAX_LINES) + "{").getBytes(StandardCharsets.UTF_8);
        LoragateException e = assertThrows(LoragateException.class, () -> store.stage(new ByteArrayInputStream(over)));
        assertTrue(e.getMessage().contains(DatasetsProfile.MAX_LINES + " lines (loragate.files.max-lines)"), e.getMessage());
        assertEquals(List.of(), staging());
    }

    @Test
    void theSweepRemovesOrphansAndOtherProcessesStagingOnly() throws IOException {
        StoredFile kept = put("tenant-a", unique().getBytes(StandardCharsets.UTF_8));
        String orphanSha = "ab" + "0".repeat(62);
        Path orphan = config.dataDir().resolve("files").resolve("ab").resolve(orphanSha);
        Files.createDirectories(orphan.getParent());
        Files.writeString(orphan, "left by a crash before the row was inserted");
        // older than loragate.store.orphan-grace (1h by default): certainly no upload in flight
        Files.setLastModifiedTime(orphan, java.nio.file.attribute.FileTime.from(java.time.Instant.now().minus(config.store().orphanGrace())
                .minusSeconds(60)));
        // written just now: maybe another replica's upload whose row is not committed yet
        String youngSha = "ac" + "0".repeat(62);
        Path young = config.dataDir().resolve("files").resolve("ac").resolve(youngSha);
        Files.createDirectories(young.getParent());
        Files.writeString(young, "uploaded by another replica, its row not yet committed");
        Files.createDirectories(tmp());
        Path leftover = Files.writeString(tmp().resolve("dataset-00000000-0123456789abcdef01234567"), "half an upload");
        // the transports' spools: a body spooled before this process started is an orphan; a fresh one may be in flight
        Path uploads = Files.createDirectories(tmp().resolve("uploads"));
        Path spooled = Files.writeString(uploads.resolve("uploaded-file-1"), "a multipart part of a killed process");
        Files.setLastModifiedTime(spooled, java.nio.file.attribute.FileTime.fromMillis(
                java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime() - 60_000));
        Path inFlight = Files.writeString(uploads.resolve("uploaded-file-2"), "a part being received now");
        Path grpcOld = Files.writeString(Files.createDirectories(tmp().resolve("grpc")).resolve("adapter-1"), "killed");
        Files.setLastModifiedTime(grpcOld, java.nio.file.attribute.FileTime.fromMillis(0));
        try (DatasetStore.Staging running = store.stage()) {
            running.write(new byte[] {'{'}, 0, 1);
            store.sweep();
            assertFalse(Files.exists(orphan), "content without a row, older than the grace period, is deleted");
            assertTrue(Files.exists(young), "content without a row, younger than the grace period, is kept");
            assertFalse(Files.exists(leftover), "an earlier process's staging file is deleted");
            assertTrue(Files.exists(running.path()), "this process's upload in progress is kept");
            assertTrue(Files.exists(store.blob(kept)), "content with a row is kept");
            assertFalse(Files.exists(spooled), "a multipart body spooled before this process started is deleted");
            assertFalse(Files.exists(grpcOld), "a gRPC staging file of an earlier process is deleted");
            assertTrue(Files.exists(inFlight), "a body spooled by this process is kept");
            Files.delete(inFlight);
            Files.delete(young);
        }
        store.delete("tenant-a", kept.id());
    }
}
