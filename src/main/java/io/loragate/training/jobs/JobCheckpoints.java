package io.loragate.training.jobs;

import io.loragate.common.BlobStore;
import io.loragate.registry.CheckpointRecord;
import io.loragate.registry.JobStore;
import java.util.Map;

/**
 * The checkpoints of every job: one prefix per job in the {@link BlobStore} ({@link CheckpointFiles}
 * writes and reads each checkpoint atomically), a row per checkpoint in the {@link JobStore}, the
 * newest complete one to resume from, and the oldest deleted beyond {@code loragate.jobs.keep-checkpoints}.
 */
final class JobCheckpoints {

    private final JobStore store;
    private final BlobStore blobs;
    private final int keep;

    JobCheckpoints(JobStore store, BlobStore blobs, int keep) {
        this.store = store;
        this.blobs = blobs;
        this.keep = Math.max(1, keep);
    }

    /** The job's checkpoints in the store. */
    CheckpointFiles files(String jobId) {
        return new CheckpointFiles(blobs, JobStore.blobPrefix(jobId) + "/checkpoints");
    }

    /** Deletes the temporary folders a crash left among the job's checkpoints. */
    void sweep(String jobId) {
        files(jobId).sweep();
    }

    /** The newest checkpoint whose row says its state is kept and whose folder is complete (0: none). */
    long latestStep(String jobId) {
        CheckpointFiles files = files(jobId);
        for (CheckpointRecord c : store.checkpoints(jobId)) {
            if (c.hasState() && files.exists(c.step())) {
                return c.step();
            }
        }
        return 0;
    }

    CheckpointFiles.Loaded read(String jobId, long step) {
        return files(jobId).read(step);
    }

    /**
     * Writes the checkpoint after {@code step} steps and its row (with the step's metrics), then
     * deletes the state of the oldest checkpoints beyond the number kept; their rows stay.
     */
    void write(String jobId, long step, Map<String, float[]> state, Map<String, Object> meta, String metricsJson) {
        CheckpointFiles files = files(jobId);
        files.write(step, state, meta);
        store.addCheckpoint(jobId, step, metricsJson);
        int kept = 0;
        for (CheckpointRecord c : store.checkpoints(jobId)) {
            if (!c.hasState()) {
                continue;
            }
            if (++kept > keep) {
                files.delete(c.step());
                store.checkpointPruned(jobId, c.step());
            }
        }
    }
}
