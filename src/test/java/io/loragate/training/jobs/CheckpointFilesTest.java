package io.loragate.training.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.common.FileBlobStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointFilesTest {

    private static final String JOB = "ftjob-0123456789abcdef01234567";

    @TempDir
    Path data;

    private CheckpointFiles checkpoints() {
        return new CheckpointFiles(new FileBlobStore(data, () -> new FileAttribute<?>[0]), "jobs/" + JOB + "/checkpoints");
    }

    private List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aCheckpointIsWrittenToTheJobsFolderAndReadBack() throws IOException {
        CheckpointFiles files = checkpoints();
        files.write(4, Map.of("lora_A", new float[] {1f, -2.5f, 3f}), Map.of("trained_tokens", 123));
        Path folder = data.resolve("jobs/" + JOB + "/checkpoints/step-4");
        assertEquals(List.of("meta.json", "state.safetensors"), names(folder), "the folder layout of earlier versions");
        assertEquals(List.of("step-4"), names(folder.getParent()), "nothing staged is left behind");
        assertTrue(files.exists(4));
        assertFalse(files.exists(5));
        CheckpointFiles.Loaded loaded = files.read(4);
        assertEquals(4, loaded.step());
        assertArrayEquals(new float[] {1f, -2.5f, 3f}, loaded.state().get("lora_A"));
        assertEquals(123, ((Number) loaded.meta().get("trained_tokens")).intValue());
        assertEquals(4, ((Number) loaded.meta().get("step")).intValue());
    }

    @Test
    void rewritingAStepReplacesItAndDeleteRemovesIt() {
        CheckpointFiles files = checkpoints();
        files.write(2, Map.of("w", new float[] {1f}), Map.of());
        files.write(2, Map.of("w", new float[] {2f}), Map.of());
        assertArrayEquals(new float[] {2f}, files.read(2).state().get("w"));
        files.delete(2);
        assertFalse(files.exists(2));
    }

    @Test
    void sweepRemovesWhatACrashedWriteLeft() throws IOException {
        CheckpointFiles files = checkpoints();
        files.write(1, Map.of("w", new float[] {1f}), Map.of());
        Path dir = data.resolve("jobs/" + JOB + "/checkpoints");
        Path crashed = Files.createDirectories(dir.resolve(".tmp-step-2-0f8c"));
        Files.writeString(crashed.resolve("meta.json"), "{\"step\":");
        assertFalse(files.exists(2));
        files.sweep();
        assertEquals(List.of("step-1"), names(dir));
    }
}
