package io.loragate.training.trainer;

/**
 * How a run ended.
 *
 * @param steps     optimizer steps completed (including any a resumed run skipped)
 * @param firstLoss loss of the first step this call ran
 * @param lastLoss  loss of the last step
 * @param tokens    real tokens processed
 * @param seconds   wall time
 * @param stopped   ended early by {@link CausalLmTrainer#requestStop()}
 */
public record TrainingResult(long steps, double firstLoss, double lastLoss, long tokens, double seconds, boolean stopped) {
}
