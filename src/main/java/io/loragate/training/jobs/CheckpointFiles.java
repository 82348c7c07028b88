package io.loragate.training.jobs;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.loragate.common.DataPaths;
import io.loragate.model.safetensors.SafetensorsFile;
import io.loragate.model.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * A job's checkpoints on disk: {@code <dir>/step-<n>/} holds {@code state.safetensors} (every
 * trainable array and the optimizer's moments, flat float32, by name) and {@code meta.json} (the
 * step and what the runner needs to continue: tokens so far, early-stopping state). A checkpoint is
 * written into a temporary sibling, fsynced, and renamed into place, so a folder named
 * {@code step-<n>} is always complete; a crash mid-write leaves only a temporary folder that
 * {@link #sweep} deletes.
 */
public final class CheckpointFiles {

    static final String STATE = "state.safetensors";
    static final String META = "meta.json";
    private static final String TMP_PREFIX = ".tmp-";
    private static final ObjectMapper JSON = new ObjectMapper();

    private CheckpointFiles() {
    }

    /** A checkpoint read back. */
    public record Loaded(long step, Map<String, float[]> state, Map<String, Object> meta) {
    }

    public static Path folder(Path dir, long step) {
        return dir.resolve("step-" + step);
    }

    /** Writes the checkpoint after {@code step} steps atomically; replaces one of the same step. */
    public static Path write(Path dir, long step, Map<String, float[]> state, Map<String, Object> meta) {
        Path target = folder(dir, step);
        Path tmp = dir.resolve(TMP_PREFIX + "step-" + step + "-" + UUID.randomUUID());
        try {
            Files.createDirectories(tmp);
            SafetensorsWriter w = new SafetensorsWriter();
            w.metadata("step", Long.toString(step));
            state.forEach((name, values) -> w.addFloats(name, new long[] {values.length}, values));
            w.write(tmp.resolve(STATE));
            Map<String, Object> m = new LinkedHashMap<>(meta);
            m.put("step", step);
            Files.write(tmp.resolve(META), JSON.writeValueAsBytes(m));
            fsync(tmp.resolve(META), false);
            fsync(tmp, true);
            deleteRecursively(target);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target);
            }
            fsync(dir, true);
            return target;
        } catch (IOException e) {
            deleteRecursively(tmp);
            throw new UncheckedIOException("cannot write checkpoint " + target + ": " + e.getMessage(), e);
        }
    }

    /** Reads a checkpoint folder written by {@link #write}. */
    public static Loaded read(Path dir, long step) {
        Path f = folder(dir, step);
        // a checkpoint lies in the data directory: a file there replaced by a link is refused
        DataPaths.refuseLinks(dir, f.resolve(STATE));
        DataPaths.refuseLinks(dir, f.resolve(META));
        try (SafetensorsFile st = SafetensorsFile.open(f.resolve(STATE))) {
            Map<String, float[]> state = new LinkedHashMap<>();
            for (String name : st.names()) {
                state.put(name, st.readFloats(name));
            }
            Map<String, Object> meta = JSON.readValue(f.resolve(META).toFile(), new TypeReference<Map<String, Object>>() {
            });
            return new Loaded(step, state, meta);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read checkpoint " + f + ": " + e.getMessage(), e);
        }
    }

    /** Whether the complete folder of that step exists. */
    public static boolean exists(Path dir, long step) {
        Path f = folder(dir, step);
        return Files.isRegularFile(f.resolve(STATE)) && Files.isRegularFile(f.resolve(META));
    }

    /** Deletes the state of one checkpoint. */
    public static void delete(Path dir, long step) {
        deleteRecursively(folder(dir, step));
    }

    /** Deletes temporary folders a crash left behind. */
    public static void sweep(Path dir) {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, TMP_PREFIX + "*")) {
            for (Path p : entries) {
                deleteRecursively(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void fsync(Path p, boolean directory) {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            if (!directory) {
                throw new UncheckedIOException(e);
            }
            // some file systems cannot sync directories; the rename is still atomic
        }
    }

    public static void deleteRecursively(Path dir) {
        io.loragate.registry.AdapterRegistry.deleteRecursively(dir);
    }
}
