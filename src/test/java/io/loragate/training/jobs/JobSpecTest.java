package io.loragate.training.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** How a job's resolved hyperparameters turn into epochs and an evaluation interval once its data is known. */
class JobSpecTest {

    /** Batch 8, no accumulation; {@code autoMinSteps} 0 = fixed epochs. */
    static JobSpec.Hyper hyper(int epochs, int evalEvery, int autoMinSteps) {
        return new JobSpec.Hyper(epochs, 8, 1, 2e-3, 0, "linear", 0, 1.0, 128, evalEvery, 20,
                autoMinSteps > 0 ? JobSpec.AUTO_PATIENCE : 0, 0.1, "truncate", autoMinSteps);
    }

    @Test
    void autoEpochsReachTheMinimumStepsWithinTheirBounds() {
        JobSpec.Hyper auto = hyper(JobSpec.AUTO_MAX_EPOCHS, 0, 60);
        assertEquals(8, auto.epochsFor(64), "8 steps an epoch: 8 epochs reach 60 steps");
        assertEquals(3, auto.epochsFor(1000), "125 steps an epoch: never fewer than 3 epochs");
        assertEquals(JobSpec.AUTO_MAX_EPOCHS, auto.epochsFor(2), "one step an epoch: capped");
        assertEquals(5, hyper(5, 0, 0).epochsFor(1000), "fixed epochs stay as asked");
    }

    @Test
    void autoEvaluatesEveryTenthOfTheJobsStepsWhateverTheDatasetSize() {
        JobSpec.Hyper auto = hyper(JobSpec.AUTO_MAX_EPOCHS, 0, 60);
        assertEquals(7, auto.evaluationInterval(64, 8), "64 examples: 64 steps, 10 evaluations");
        assertEquals(38, auto.evaluationInterval(375, 3), "1,000 examples: 375 steps, 10 evaluations, not 62");
        assertEquals(1, auto.evaluationInterval(3, 3));
        assertEquals(5, hyper(JobSpec.AUTO_MAX_EPOCHS, 5, 60).evaluationInterval(375, 3), "a request's interval wins");
        assertEquals(125, hyper(3, 0, 0).evaluationInterval(375, 3), "fixed epochs: at the end of each epoch");
        assertEquals(4, hyper(3, 4, 0).evaluationInterval(375, 3));
    }
}
