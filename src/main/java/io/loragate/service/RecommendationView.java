package io.loragate.service;

import java.util.List;
import java.util.Map;

/**
 * Which adaptation methods to try first on a dataset, with their settings, estimated costs and
 * reasons (docs/diagnostics-and-sweeps.md documents every field). Null fields do not apply.
 *
 * @param methods  ranked, best first
 * @param excluded over the budget, the reason first
 */
public record RecommendationView(String object, String trainingFile, String model, String task, String regime,
        DatasetFacts dataset, Shift shift, Thresholds thresholds, TrainingBudget budget, List<MethodPlan> methods,
        List<MethodPlan> excluded, CostAssumptions costModel) {

    /** What the recommender read from the dataset's preflight report. */
    public record DatasetFacts(String format, int examples, long tokens, double meanTokens, int labels,
            Map<String, Integer> labelCounts, Double majorityRate) {
    }

    /** How far the dataset is from what the frozen base already does (0: no shift .. 1: maximal). */
    public record Shift(String measure, int sampleSize, Double baseLoss, Double basePerplexity, Double probeAccuracy,
            Double majorityRate, double score, String level, double seconds) {
    }

    /** The documented constants the plan was made with. */
    public record Thresholds(int tinyBelowExamples, int largeAboveExamples, double shiftLowBelow, double shiftHighFrom) {
    }

    /** One method of the plan. */
    public record MethodPlan(int rank, String method, MethodSettings settings, double learningRate, Compute compute,
            List<String> reasons) {
    }

    /** The job settings of a method ({@code method.adapter.*}); null fields keep the job's defaults. */
    public record MethodSettings(String method, Integer r, Double alpha, List<Integer> layersToTransform, Integer numVirtualTokens,
            Integer bottleneckSize, String placement, Integer partialLayers) {
    }

    /** The cost estimate of a method's job. */
    public record Compute(long trainableParams, long adapterBytes, double trainFlops, double trainSeconds,
            double diagnosticsSeconds, double checkpointSeconds) {
    }

    /** The cost model's assumptions. */
    public record CostAssumptions(double flopsPerSecond, double stepOverheadSeconds, int epochs, int batchSize,
            double validationShare) {
    }
}
