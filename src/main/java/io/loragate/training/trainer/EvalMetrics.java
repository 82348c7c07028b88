package io.loragate.training.trainer;

import java.util.Map;

/**
 * Held-out metrics of one model (the base or base + adapter) on one validation set. Fields that do
 * not apply to the task are null.
 *
 * @param examples     validation examples
 * @param loss         mean cross-entropy (per target token for causal LM, per example for classification)
 * @param perplexity   {@code exp(loss)} (causal LM)
 * @param accuracy     classification only
 * @param macroF1      classification only: unweighted mean of the per-label F1
 * @param ece          classification only: expected calibration error over 10 equal-width confidence bins
 * @param reliability  classification only: per bin {@code {"lo","hi","count","confidence","accuracy"}}
 */
public record EvalMetrics(long examples, double loss, Double perplexity, Double accuracy, Double macroF1, Double ece,
        java.util.List<Map<String, Double>> reliability) {

    /** Causal LM metrics. */
    public static EvalMetrics causal(long examples, double loss) {
        return new EvalMetrics(examples, loss, Math.exp(loss), null, null, null, null);
    }
}
