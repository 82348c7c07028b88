package io.loragate.service;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * A sweep: one fine-tuning job per method on the same data, and their comparison table. Times are
 * Unix seconds; null fields do not apply (yet).
 *
 * @param validationExamples the validation examples every row was evaluated on
 * @param baseline           classification: the bag-of-words baseline on the same validation data
 * @param best               the chosen method: highest validation accuracy (ties within one example: lower
 *                           validation loss), or for a causal LM the lowest validation loss
 * @param selection          why {@code best} was chosen
 * @param warnings           no row beats the baseline; the validation set is too small to separate the rows
 */
public record SweepView(String object, String id, String status, long createdAt, Long finishedAt, String model,
        String trainingFile, String validationFile, String task, List<String> methods, List<Row> table, String tableMarkdown,
        Long validationExamples, Baseline baseline, String best, String selection, List<String> warnings) {

    /** The bag-of-words baseline's validation metrics. */
    public record Baseline(String method, Long examples, Double accuracy, Double macroF1, Double loss) {
    }

    /**
     * One row of the comparison table.
     *
     * @param sizes       {@code measured} on the published adapter, {@code reported} by the job or {@code estimated}
     * @param forgetting  the job report's forgetting section (JSON)
     * @param diagnostics the job report's diagnostics settings section (JSON)
     * @param beatsBaseline classification: validation accuracy above the bag-of-words baseline's
     */
    public record Row(String method, String jobId, String status, String error, String fineTunedModel,
            RecommendationView.MethodSettings settings, double learningRate, Long trainableParams, Long adapterBytes, String sizes,
            Double trainSeconds, Double estimatedTrainSeconds, Double baseEvalLoss, Double evalLoss, Double evalLossRatio,
            Double perplexity, Double baseAccuracy, Double accuracy, Double macroF1, Double ece, JsonNode forgetting,
            JsonNode diagnostics, Boolean beatsBaseline) {
    }
}
