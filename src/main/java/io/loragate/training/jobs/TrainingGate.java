package io.loragate.training.jobs;

/**
 * Lets serving come first: the job runner calls {@link #awaitTurn()} before every optimizer step
 * (after the first), and the implementation may hold the trainer back while inference is busy.
 */
@FunctionalInterface
public interface TrainingGate {

    /** Never waits. */
    TrainingGate NONE = () -> {
    };

    /** Returns when the next training step may run. */
    void awaitTurn() throws InterruptedException;
}
