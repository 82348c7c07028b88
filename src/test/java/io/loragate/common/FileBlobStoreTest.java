package io.loragate.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileBlobStoreTest {

    private static final String SHA256_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    @TempDir
    Path tmp;

    private FileBlobStore store() {
        return new FileBlobStore(tmp.resolve("data"), () -> new FileAttribute<?>[0]);
    }

    private static ByteArrayInputStream bytes(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aKeyIsItsPathUnderTheDataDirectory() throws IOException {
        FileBlobStore store = store();
        String sha = store.put("files/ba/" + SHA256_ABC, bytes("abc"));
        assertEquals(SHA256_ABC, sha);
        Path file = tmp.resolve("data/files/ba/" + SHA256_ABC);
        assertEquals("abc", Files.readString(file));
        assertEquals(file, store.get("files/ba/" + SHA256_ABC));
        assertEquals(3, store.size("files/ba/" + SHA256_ABC));
        assertEquals(-1, store.size("files/ba/nothing"));
        assertTrue(store.exists("files"));
        assertFalse(store.exists("files/zz"));
    }

    @Test
    void aPublishedFolderReplacesTheOldOneAndIsListedByPrefix() throws IOException {
        FileBlobStore store = store();
        String key = "adapters/default/support/1";
        Path old = Files.createDirectories(tmp.resolve("data/" + key));
        Files.writeString(old.resolve("leftover.bin"), "from a crashed publication");
        Path staged = Files.createDirectories(tmp.resolve("data/tmp/publish-x"));
        DurableFiles.write(staged.resolve("adapter_config.json"), "{}".getBytes(StandardCharsets.UTF_8));
        DurableFiles.write(staged.resolve("adapter_model.safetensors"), "w".getBytes(StandardCharsets.UTF_8));
        store.publish(key, staged);
        assertEquals(List.of(key + "/adapter_config.json", key + "/adapter_model.safetensors"), store.list("adapters"));
        assertEquals(List.of(key + "/adapter_config.json", key + "/adapter_model.safetensors"), store.list(key));
        assertFalse(Files.exists(staged), "renamed into place");
        assertEquals("w", Files.readString(store.get(key).resolve("adapter_model.safetensors")));
    }

    @Test
    void unpublishGivesTheStagedContentBackForARetry() throws IOException {
        FileBlobStore store = store();
        Path staged = Files.createDirectories(tmp.resolve("data/tmp/publish-y"));
        Files.writeString(staged.resolve("a"), "1");
        store.publish("adapters/t/n/2", staged);
        store.unpublish("adapters/t/n/2", staged);
        assertFalse(store.exists("adapters/t/n/2"));
        assertEquals("1", Files.readString(staged.resolve("a")));
    }

    @Test
    void aPublishedFileReplacesTheOldBlob() throws IOException {
        FileBlobStore store = store();
        store.put("files/ab/x", bytes("cut sho"));
        Path staged = Files.writeString(Files.createDirectories(tmp.resolve("data/tmp")).resolve("dataset-1"), "whole");
        store.publish("files/ab/x", staged);
        assertEquals("whole", Files.readString(store.get("files/ab/x")));
        assertFalse(Files.exists(staged));
    }

    @Test
    void stagedPathsAreHiddenFromListingsAndSweptByDeleteStaged() throws IOException {
        FileBlobStore store = store();
        String prefix = "jobs/ftjob-000000000000000000000001/checkpoints";
        Path staged = store.stage(prefix + "/step-3");
        assertTrue(staged.getFileName().toString().startsWith(".tmp-step-3-"), staged.toString());
        Files.createDirectories(staged);
        Files.writeString(staged.resolve("meta.json"), "{}");
        store.put(prefix + "/step-2/meta.json", bytes("{}"));
        assertEquals(List.of(prefix + "/step-2/meta.json"), store.list(prefix));
        store.deleteStaged(prefix);
        assertFalse(Files.exists(staged));
        assertTrue(store.exists(prefix + "/step-2/meta.json"));
    }

    @Test
    void deleteRemovesEverythingUnderAPrefix() throws IOException {
        FileBlobStore store = store();
        store.put("adapters/t/a/1/f", bytes("1"));
        store.put("adapters/t/a/2/f", bytes("2"));
        store.put("adapters/u/a/1/f", bytes("3"));
        store.delete("adapters/t");
        assertEquals(List.of("adapters/u/a/1/f"), store.list("adapters"));
        store.delete("adapters/t"); // nothing there is fine
        assertEquals(List.of(), store.list("nothing/here"));
    }

    @Test
    void keysThatAreNotPlainSegmentsAreRefused() {
        FileBlobStore store = store();
        for (String bad : new String[] {"../x", "a/../b", "a//b", "/abs", ".hidden/x", "a/", ""}) {
            assertThrows(LoragateException.class, () -> store.exists(bad), bad);
        }
    }

    @Test
    void aLinkInsideAFolderBlobIsRefusedNotFollowed() throws IOException {
        FileBlobStore store = store();
        store.put("adapters/t/a/1/adapter_config.json", bytes("{}"));
        Path secret = Files.writeString(tmp.resolve("secret"), "x");
        Files.createSymbolicLink(tmp.resolve("data/adapters/t/a/1/adapter_model.safetensors"), secret);
        LoragateException e = assertThrows(LoragateException.class, () -> store.get("adapters/t/a/1"));
        assertEquals(LoragateException.Kind.DATA_LOSS, e.kind());
    }

    @Test
    void theUrlSelectsTheStoreAndAnUnknownSchemeIsNamed() {
        BlobStore file = BlobStore.fromUrl("file:" + tmp.resolve("d"), () -> new FileAttribute<?>[0]);
        assertEquals(tmp.resolve("d"), ((FileBlobStore) file).root());
        BlobStore uri = BlobStore.fromUrl(tmp.resolve("e").toUri().toString(), () -> new FileAttribute<?>[0]);
        assertEquals(tmp.resolve("e"), ((FileBlobStore) uri).root());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BlobStore.fromUrl("ftp://bucket/prefix", () -> new FileAttribute<?>[0]));
        assertTrue(e.getMessage().contains("'ftp'") && e.getMessage().contains("loragate.store.url"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> BlobStore.fromUrl("file:", () -> new FileAttribute<?>[0]));
    }
}
