package io.loragate.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DurableFilesTest {

    private static final String SHA256_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    private static final String SHA256_EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    @TempDir
    Path tmp;

    private List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void writeCreatesTheFolderAndReplacesTheContentLeavingNoTemporaryFile() throws IOException {
        Path file = tmp.resolve("a/b/config.json");
        DurableFiles.write(file, "old".getBytes(StandardCharsets.UTF_8));
        DurableFiles.write(file, "new content".getBytes(StandardCharsets.UTF_8));
        assertEquals("new content", Files.readString(file));
        assertEquals(List.of("config.json"), names(file.getParent()));
    }

    @Test
    void aFailedWriteLeavesTheOldContentAndNoTemporaryFile() throws IOException {
        Path file = tmp.resolve("state.safetensors");
        DurableFiles.write(file, "old".getBytes(StandardCharsets.UTF_8));
        IOException e = assertThrows(IOException.class, () -> DurableFiles.write(file, ch -> {
            DurableFiles.writeFully(ch, ByteBuffer.wrap("half of the new".getBytes(StandardCharsets.UTF_8)));
            throw new IOException("disk full");
        }));
        assertEquals("disk full", e.getMessage());
        assertEquals("old", Files.readString(file));
        assertEquals(List.of("state.safetensors"), names(tmp));
    }

    @Test
    void aFailedRuntimeWriteCleansUpToo() throws IOException {
        Path file = tmp.resolve("x.json");
        assertThrows(IllegalStateException.class, () -> DurableFiles.write(file, ch -> {
            throw new IllegalStateException("bug");
        }));
        assertEquals(List.of(), names(tmp));
    }

    /** A reader racing repeated replacements sees one whole version or the other, never a mix or a part. */
    @Test
    void readersSeeTheOldOrTheNewContentNeverAPart() throws Exception {
        Path file = tmp.resolve("blob");
        byte[] a = new byte[256 * 1024];
        byte[] b = new byte[256 * 1024];
        Arrays.fill(a, (byte) 'a');
        Arrays.fill(b, (byte) 'b');
        DurableFiles.write(file, a);
        AtomicBoolean writing = new AtomicBoolean(true);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<?> writer = pool.submit(() -> {
                try {
                    for (int i = 0; i < 200; i++) {
                        DurableFiles.write(file, i % 2 == 0 ? b : a);
                    }
                } finally {
                    writing.set(false);
                }
                return null;
            });
            int reads = 0;
            while (writing.get() || reads < 10) {
                byte[] seen = Files.readAllBytes(file);
                assertTrue(Arrays.equals(seen, a) || Arrays.equals(seen, b), "a read saw " + seen.length + " mixed bytes");
                reads++;
            }
            writer.get(60, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
        assertEquals(List.of("blob"), names(tmp));
    }

    @Test
    void copyAnswersTheDigestAndNeverOverwrites() throws IOException {
        Path src = Files.writeString(tmp.resolve("src"), "abc");
        Path dst = tmp.resolve("dst");
        assertEquals(SHA256_ABC, DurableFiles.copy(src, dst));
        assertEquals("abc", Files.readString(dst));
        assertThrows(FileAlreadyExistsException.class, () -> DurableFiles.copy(src, dst));
        assertEquals("abc", Files.readString(dst));
    }

    @Test
    void replaceFolderSwapsInTheStagedFolderWhole() throws IOException {
        Path target = Files.createDirectories(tmp.resolve("checkpoints/step-4"));
        Files.writeString(target.resolve("old.json"), "old");
        Path staged = Files.createDirectories(tmp.resolve("checkpoints/.tmp-step-4-x"));
        DurableFiles.write(staged.resolve("meta.json"), "new".getBytes(StandardCharsets.UTF_8));
        DurableFiles.replaceFolder(staged, target);
        assertEquals(List.of("meta.json"), names(target));
        assertEquals(List.of("step-4"), names(tmp.resolve("checkpoints")));
    }

    @Test
    void deleteRecursivelyRemovesATreeAndNeverFollowsALink() throws IOException {
        Path outside = Files.writeString(tmp.resolve("outside.txt"), "keep me");
        Path root = Files.createDirectories(tmp.resolve("job/checkpoints/step-1"));
        Files.writeString(root.resolve("state"), "x");
        Files.createSymbolicLink(root.resolve("link"), outside);
        DurableFiles.deleteRecursively(tmp.resolve("job"));
        assertFalse(Files.exists(tmp.resolve("job")));
        assertEquals("keep me", Files.readString(outside));
        DurableFiles.deleteRecursively(tmp.resolve("job")); // gone already: nothing to do
        Path file = Files.writeString(tmp.resolve("single"), "x");
        DurableFiles.deleteRecursively(file);
        assertFalse(Files.exists(file));
    }

    @Test
    void sha256IsTheKnownDigestForFilesAndStreams() throws IOException {
        assertEquals(SHA256_ABC, DurableFiles.sha256(Files.writeString(tmp.resolve("abc"), "abc")));
        assertEquals(SHA256_EMPTY, DurableFiles.sha256(Files.write(tmp.resolve("empty"), new byte[0])));
        assertEquals(SHA256_ABC, DurableFiles.sha256(new ByteArrayInputStream("abc".getBytes(StandardCharsets.US_ASCII))));
    }

    @Test
    void temporaryNamesAreRecognised() throws IOException {
        Path file = tmp.resolve("adapter_config.json");
        assertThrows(IOException.class, () -> DurableFiles.write(file, ch -> {
            try (Stream<Path> s = Files.list(tmp)) {
                String name = s.findFirst().orElseThrow().getFileName().toString();
                assertTrue(DurableFiles.isTemporary(name), name);
            }
            throw new IOException("stop");
        }));
        assertFalse(DurableFiles.isTemporary("adapter_config.json"));
        assertFalse(DurableFiles.isTemporary("x.tmp-name"));
    }
}
