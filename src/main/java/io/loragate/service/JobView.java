package io.loragate.service;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * A fine-tuning job as the transports answer it. Times are Unix seconds.
 *
 * @param method          the method with every default filled in
 * @param publishIf       the gate as requested (JSON), null when none
 * @param diagnostics     the report's diagnostics options as requested (JSON), null when none
 * @param estimatedFinish null until the running job has timed a step, and once it stops running
 * @param report          the evaluation report (JSON), null until the job ends
 */
public record JobView(String id, String model, long createdAt, Long finishedAt, String status, String trainingFile,
        String validationFile, String suffix, String fineTunedModel, long seed, Method method, JsonNode publishIf,
        JsonNode diagnostics, boolean activate, long trainedTokens, long completedSteps, long totalSteps, Long estimatedFinish,
        String error, JsonNode report) {

    public record Method(String type, Hyperparameters hyperparameters, Adapter adapter) {
    }

    /**
     * @param epochs       the epochs, or with {@code epochs: "auto"} the most it may take
     * @param autoMinSteps {@code epochs: "auto"}: the least optimizer steps (null: fixed epochs)
     */
    public record Hyperparameters(int epochs, int batchSize, int gradientAccumulationSteps, double learningRate, int warmupSteps,
            String schedule, double weightDecay, double maxGradNorm, int maxSeqLength, int evalEverySteps,
            int checkpointEverySteps, int earlyStoppingPatience, double validationSplit, String pooling,
            Integer autoMinSteps) {
    }

    /** @param promptInitText null when prompt tuning starts from random embeddings */
    public record Adapter(int r, double alpha, double dropout, List<String> targetModules, boolean useRslora, String method,
            List<Integer> layersToTransform, int numVirtualTokens, String promptInitText, int bottleneckSize, String placement,
            int partialLayers) {
    }
}
