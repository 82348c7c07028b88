package io.loragate.training.trainer;

/**
 * What one optimizer step reports.
 *
 * @param step            1-based optimizer step
 * @param totalSteps      steps the run will take
 * @param epoch           1-based epoch of the step
 * @param loss            mean cross-entropy over the step's target tokens, before the update
 * @param learningRate    the rate the update used
 * @param gradNorm        global gradient norm before clipping
 * @param tokens          real (non-padding) tokens the step's forwards processed
 * @param targetTokens    tokens that counted in the loss
 * @param tokensPerSecond {@code tokens} over the step's wall time
 * @param skipped         the gradient was not finite: no update was made
 */
public record StepMetrics(long step, long totalSteps, int epoch, double loss, double learningRate, double gradNorm,
        long tokens, long targetTokens, double tokensPerSecond, boolean skipped) {
}
