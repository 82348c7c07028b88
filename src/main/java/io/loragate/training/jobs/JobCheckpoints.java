package io.loragate.training.jobs;

import io.loragate.registry.CheckpointRecord;
import io.loragate.registry.JobStore;
import java.nio.file.Path;
import java.util.Map;

/**
 * The checkpoints of every job: one folder per job in the data directory ({@link CheckpointFiles}
 * writes and reads each checkpoint atomically), a row per checkpoint in the {@link JobStore}, the
 * newest complete one to resume from, and the oldest deleted beyond {@code loragate.jobs.keep-checkpoints}.
 */
final class JobCheckpoints {

    private final JobStore store;
    private final int keep;

    JobCheckpoints(JobStore store, int keep) {
        this.store = store;
        this.keep = Math.max(1, keep);
    }

    /** The job's checkpoint folder. */
    Path dir(String jobId) {
        return store.jobPath(jobId, "checkpoints");
    }

    /** Deletes the temporary folders a crash left in the job's folder. */
    void sweep(String jobId) {
        CheckpointFiles.sweep(dir(jobId));
    }

    /** The newest checkpoint whose row says its state is kept and whose folder is complete (0: none). */
    long latestStep(String jobId) {
        Path dir = dir(jobId);
        for (CheckpointRecord c : store.checkpoints(jobId)) {
            if (c.hasState() && CheckpointFiles.exists(dir, c.step())) {
                return c.step();
            }
        }
        return 0;
    }

    CheckpointFiles.Loaded read(String jobId, long step) {
        return CheckpointFiles.read(dir(jobId), step);
    }

    /**
     * Writes the checkpoint after {@code step} steps and its row (with the step's metrics), then
     * deletes the state of the oldest checkpoints beyond the number kept; their rows stay.
     */
    void write(String jobId, long step, Map<String, float[]> state, Map<String, Object> meta, String metricsJson) {
        Path dir = dir(jobId);
        CheckpointFiles.write(dir, step, state, meta);
        store.addCheckpoint(jobId, step, metricsJson);
        int kept = 0;
        for (CheckpointRecord c : store.checkpoints(jobId)) {
            if (!c.hasState()) {
                continue;
            }
            if (++kept > keep) {
                CheckpointFiles.delete(dir, c.step());
                store.checkpointPruned(jobId, c.step());
            }
        }
    }
}
