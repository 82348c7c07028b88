package io.loragate.service;

import java.util.List;

/**
 * A new fine-tuning job as a transport parsed it (REST body or gRPC message); null fields take the
 * defaults. {@link JobService} checks the values.
 */
public record JobCommand(String model, String trainingFile, String validationFile, String suffix, Long seed, Method method,
        PublishIf publishIf, boolean activate, Diagnostics diagnostics) {

    /** The report's diagnostics options. */
    public record Diagnostics(String referenceFile, List<Integer> layers, Integer maxExamples) {
    }

    /** {@code type}: supervised or classification. */
    public record Method(String type, Hyperparameters hyperparameters, AdapterSettings adapter) {
    }

    /**
     * @param pooling    classification: {@code truncate} or {@code sliding_window}; null: truncate
     * @param autoEpochs true for {@code epochs: "auto"} ({@code epochs} then null)
     */
    public record Hyperparameters(Integer epochs, Integer batchSize, Integer gradientAccumulationSteps, Double learningRate,
            Integer warmupSteps, String schedule, Double weightDecay, Double maxGradNorm, Integer maxSeqLength,
            Integer evalEverySteps, Integer checkpointEverySteps, Integer earlyStoppingPatience, Double validationSplit,
            String pooling, Boolean autoEpochs) {

        /** Without a pooling (the default), fixed (or default) epochs. */
        public Hyperparameters(Integer epochs, Integer batchSize, Integer gradientAccumulationSteps, Double learningRate,
                Integer warmupSteps, String schedule, Double weightDecay, Double maxGradNorm, Integer maxSeqLength,
                Integer evalEverySteps, Integer checkpointEverySteps, Integer earlyStoppingPatience, Double validationSplit) {
            this(epochs, batchSize, gradientAccumulationSteps, learningRate, warmupSteps, schedule, weightDecay, maxGradNorm,
                    maxSeqLength, evalEverySteps, checkpointEverySteps, earlyStoppingPatience, validationSplit, null, null);
        }
    }

    public record AdapterSettings(Integer r, Double alpha, Double dropout, List<String> targetModules, Boolean useRslora,
            String method, List<Integer> layersToTransform, Integer numVirtualTokens, String promptInitText,
            Integer bottleneckSize, String placement, Integer partialLayers) {
    }

    /** Publish only if every given bound holds. */
    public record PublishIf(Double minEvalAccuracy, Double maxEvalLossRatio, Double maxForgetting, Double minGainOverBaseline) {
    }
}
