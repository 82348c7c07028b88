package io.loragate.training.trainer;

/** Receives a trainer's progress on the training thread; must be quick. */
@FunctionalInterface
public interface TrainingListener {

    /** Does nothing. */
    TrainingListener NONE = m -> {
    };

    void onStep(StepMetrics metrics);
}
