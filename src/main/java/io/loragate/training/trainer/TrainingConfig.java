package io.loragate.training.trainer;

/**
 * Hyperparameters of a LoRA training run. {@link #defaults()} documents the defaults.
 *
 * @param epochs                passes over the training examples (default 3)
 * @param batchSize             examples per forward (default 8)
 * @param gradientAccumulation  forwards per optimizer step (default 1); the loss is the mean over
 *                              every target token of the step, as one big batch would give
 * @param learningRate          peak learning rate (default 2e-4)
 * @param warmupSteps           optimizer steps of linear warmup from 0 (default 0)
 * @param schedule              decay after warmup (default linear to 0)
 * @param weightDecay           AdamW's decoupled weight decay (default 0)
 * @param maxGradNorm           clip the global gradient norm to this; 0 or less: no clipping (default 1.0)
 * @param beta1                 AdamW β₁ (default 0.9)
 * @param beta2                 AdamW β₂ (default 0.999)
 * @param eps                   AdamW ε (default 1e-8)
 * @param seed                  data order and LoRA dropout masks (default 42)
 */
public record TrainingConfig(int epochs, int batchSize, int gradientAccumulation, double learningRate, int warmupSteps,
        LrSchedule.Kind schedule, double weightDecay, double maxGradNorm, double beta1, double beta2, double eps, long seed) {

    public TrainingConfig {
        check(epochs >= 1, "epochs", epochs);
        check(batchSize >= 1, "batch_size", batchSize);
        check(gradientAccumulation >= 1, "gradient_accumulation_steps", gradientAccumulation);
        check(learningRate > 0 && Double.isFinite(learningRate), "learning_rate", learningRate);
        check(warmupSteps >= 0, "warmup_steps", warmupSteps);
        check(weightDecay >= 0 && Double.isFinite(weightDecay), "weight_decay", weightDecay);
        check(!Double.isNaN(maxGradNorm), "max_grad_norm", maxGradNorm);
        check(beta1 >= 0 && beta1 < 1, "beta1", beta1);
        check(beta2 >= 0 && beta2 < 1, "beta2", beta2);
        check(eps > 0, "eps", eps);
        if (schedule == null) {
            schedule = LrSchedule.Kind.LINEAR;
        }
    }

    private static void check(boolean ok, String name, Object value) {
        if (!ok) {
            throw new io.loragate.common.LoragateException(io.loragate.common.LoragateException.Kind.INVALID_ARGUMENT,
                    "hyperparameter " + name + " = " + value + " is out of range").withParam(name);
        }
    }

    public static TrainingConfig defaults() {
        return new TrainingConfig(3, 8, 1, 2e-4, 0, LrSchedule.Kind.LINEAR, 0.0, 1.0, 0.9, 0.999, 1e-8, 42);
    }

    public TrainingConfig withEpochs(int v) {
        return new TrainingConfig(v, batchSize, gradientAccumulation, learningRate, warmupSteps, schedule, weightDecay,
                maxGradNorm, beta1, beta2, eps, seed);
    }

    public TrainingConfig withBatchSize(int v) {
        return new TrainingConfig(epochs, v, gradientAccumulation, learningRate, warmupSteps, schedule, weightDecay,
                maxGradNorm, beta1, beta2, eps, seed);
    }

    public TrainingConfig withGradientAccumulation(int v) {
        return new TrainingConfig(epochs, batchSize, v, learningRate, warmupSteps, schedule, weightDecay, maxGradNorm,
                beta1, beta2, eps, seed);
    }

    public TrainingConfig withLearningRate(double v) {
        return new TrainingConfig(epochs, batchSize, gradientAccumulation, v, warmupSteps, schedule, weightDecay,
                maxGradNorm, beta1, beta2, eps, seed);
    }

    public TrainingConfig withWarmup(int v, LrSchedule.Kind kind) {
        return new TrainingConfig(epochs, batchSize, gradientAccumulation, learningRate, v, kind, weightDecay, maxGradNorm,
                beta1, beta2, eps, seed);
    }

    public TrainingConfig withWeightDecay(double v) {
        return new TrainingConfig(epochs, batchSize, gradientAccumulation, learningRate, warmupSteps, schedule, v,
                maxGradNorm, beta1, beta2, eps, seed);
    }

    public TrainingConfig withMaxGradNorm(double v) {
        return new TrainingConfig(epochs, batchSize, gradientAccumulation, learningRate, warmupSteps, schedule, weightDecay,
                v, beta1, beta2, eps, seed);
    }

    public TrainingConfig withSeed(long v) {
        return new TrainingConfig(epochs, batchSize, gradientAccumulation, learningRate, warmupSteps, schedule, weightDecay,
                maxGradNorm, beta1, beta2, eps, v);
    }

    /** Optimizer steps per epoch for {@code examples} examples (the last step of an epoch may be short). */
    public int stepsPerEpoch(int examples) {
        int forwards = (examples + batchSize - 1) / batchSize;
        return (forwards + gradientAccumulation - 1) / gradientAccumulation;
    }
}
