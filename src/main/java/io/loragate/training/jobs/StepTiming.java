package io.loragate.training.jobs;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Where a job's step time went, measured on the training thread: compute (the training loop's own
 * work between two step callbacks: batches, forward, backward, clipping, optimizer) against the
 * runner's bookkeeping after each step (events, progress, the lease and cancel check, checkpoints),
 * with evaluations and waits for serving ({@link TrainingGate}) counted apart. The job report's
 * {@code timing} section.
 */
final class StepTiming {

    private long steps;
    private long computeNanos;
    private long bookkeepingNanos;
    private long databaseNanos;
    private long databaseWrites;
    private long checkpointNanos;
    private long checkpoints;
    private long evaluationNanos;
    private long gateWaitNanos;

    void step(long computeNanos, long bookkeepingNanos) {
        steps++;
        this.computeNanos += computeNanos;
        this.bookkeepingNanos += bookkeepingNanos;
    }

    void databaseWrite(long nanos) {
        databaseWrites++;
        databaseNanos += nanos;
    }

    void checkpoint(long nanos) {
        checkpoints++;
        checkpointNanos += nanos;
    }

    void evaluation(long nanos) {
        evaluationNanos += nanos;
    }

    void gateWait(long nanos) {
        gateWaitNanos += nanos;
    }

    /** Per-step means in seconds and the totals (this attempt only: a resumed job counts from its restart). */
    ObjectNode json() {
        ObjectNode n = JobReport.JSON.createObjectNode();
        double per = Math.max(1, steps);
        n.put("steps", steps);
        n.put("compute_seconds_per_step", computeNanos / 1e9 / per);
        n.put("bookkeeping_seconds_per_step", bookkeepingNanos / 1e9 / per);
        n.put("database_seconds_per_step", databaseNanos / 1e9 / per);
        n.put("database_writes", databaseWrites);
        n.put("checkpoint_seconds_per_step", checkpointNanos / 1e9 / per);
        n.put("checkpoints", checkpoints);
        n.put("evaluation_seconds", evaluationNanos / 1e9);
        n.put("gate_wait_seconds", gateWaitNanos / 1e9);
        return n;
    }
}
