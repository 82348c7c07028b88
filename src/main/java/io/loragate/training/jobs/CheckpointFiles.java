package io.loragate.training.jobs;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.loragate.common.BlobStore;
import io.loragate.common.DurableFiles;
import io.loragate.model.safetensors.SafetensorsFile;
import io.loragate.model.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A job's checkpoints in the {@link BlobStore}: {@code <prefix>/step-<n>/} holds
 * {@code state.safetensors} (every trainable array and the optimizer's moments, flat float32, by
 * name) and {@code meta.json} (the step and what the runner needs to continue: tokens so far,
 * early-stopping state). A checkpoint is staged whole and then published, so a checkpoint named
 * {@code step-<n>} is always complete; a crash mid-write leaves only a staged folder that
 * {@link #sweep} deletes.
 */
public final class CheckpointFiles {

    static final String STATE = "state.safetensors";
    static final String META = "meta.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final BlobStore blobs;
    private final String prefix;

    /** The checkpoints under {@code prefix} ({@code jobs/<id>/checkpoints}). */
    public CheckpointFiles(BlobStore blobs, String prefix) {
        this.blobs = blobs;
        this.prefix = prefix;
    }

    /** A checkpoint read back. */
    public record Loaded(long step, Map<String, float[]> state, Map<String, Object> meta) {
    }

    private String key(long step) {
        return prefix + "/step-" + step;
    }

    /** Writes the checkpoint after {@code step} steps atomically; replaces one of the same step. */
    public void write(long step, Map<String, float[]> state, Map<String, Object> meta) {
        String key = key(step);
        Path staged = null;
        try {
            staged = blobs.stage(key);
            Files.createDirectories(staged);
            SafetensorsWriter w = new SafetensorsWriter();
            w.metadata("step", Long.toString(step));
            state.forEach((name, values) -> w.addFloats(name, new long[] {values.length}, values));
            w.write(staged.resolve(STATE));
            Map<String, Object> m = new LinkedHashMap<>(meta);
            m.put("step", step);
            DurableFiles.write(staged.resolve(META), JSON.writeValueAsBytes(m));
            blobs.publish(key, staged);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write checkpoint " + key + ": " + e.getMessage(), e);
        } finally {
            if (staged != null) {
                DurableFiles.deleteRecursively(staged); // what publication left (nothing when it was a rename)
            }
        }
    }

    /** Reads a checkpoint written by {@link #write}. */
    public Loaded read(long step) {
        String key = key(step);
        try {
            // a checkpoint file replaced by a link is refused by the store
            Path f = blobs.get(key);
            try (SafetensorsFile st = SafetensorsFile.open(f.resolve(STATE))) {
                Map<String, float[]> state = new LinkedHashMap<>();
                for (String name : st.names()) {
                    state.put(name, st.readFloats(name));
                }
                Map<String, Object> meta = JSON.readValue(f.resolve(META).toFile(), new TypeReference<Map<String, Object>>() {
                });
                return new Loaded(step, state, meta);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read checkpoint " + key + ": " + e.getMessage(), e);
        }
    }

    /** Whether the complete checkpoint of that step exists. */
    public boolean exists(long step) {
        try {
            return blobs.size(key(step) + "/" + STATE) >= 0 && blobs.size(key(step) + "/" + META) >= 0;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Deletes the state of one checkpoint. */
    public void delete(long step) {
        try {
            blobs.delete(key(step));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Deletes staged checkpoints a crash left behind. */
    public void sweep() {
        try {
            blobs.deleteStaged(prefix);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
