package io.loragate.training.jobs;

import io.loragate.common.LoragateException;
import io.loragate.training.trainer.BagOfWordsBaseline;
import java.util.List;

/**
 * A fine-tuning job as a client asks for it (REST body or gRPC message); unset fields are null and
 * take the documented defaults in {@link JobSpec#resolve}.
 *
 * @param model          the base model's id
 * @param trainingFile   dataset id
 * @param validationFile dataset id, or null for a seeded held-out split of the training file
 * @param suffix         adapter name to publish under
 * @param seed           data order, initialisation, dropout and split
 * @param method         what to train and how (null: supervised with defaults)
 * @param publishIf      optional publication gate
 * @param activate       switch the adapter's alias to the new version once published
 * @param diagnostics    options of the final report's diagnostics, or null for the defaults
 */
public record JobRequest(String model, String trainingFile, String validationFile, String suffix, Long seed, Method method,
        PublishIf publishIf, boolean activate, Diagnostics diagnostics) {

    /** A request with the default diagnostics. */
    public JobRequest(String model, String trainingFile, String validationFile, String suffix, Long seed, Method method,
            PublishIf publishIf, boolean activate) {
        this(model, trainingFile, validationFile, suffix, seed, method, publishIf, activate, null);
    }

    /** The error for a field of a request ({@code param}: its path, such as {@code publish_if.max_forgetting}). */
    static LoragateException invalid(String param, String message) {
        return new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, message).withParam(param);
    }

    /**
     * Diagnostics options (README, "Diagnostics"); every field optional.
     *
     * @param referenceFile dataset id whose texts measure forgetting (default: loragate.diagnostics.reference-file,
     *                      else the built-in reference)
     * @param layers        0-based layers for CKA and probing (default: all, at most loragate.diagnostics.max-layers)
     * @param maxExamples   most examples per set (default and upper bound: loragate.diagnostics.max-examples)
     */
    public record Diagnostics(String referenceFile, List<Integer> layers, Integer maxExamples) {
    }

    /**
     * @param type            {@code supervised} or {@code classification}
     * @param hyperparameters null: all defaults
     * @param adapter         null: all defaults
     */
    public record Method(String type, Hyperparameters hyperparameters, AdapterSettings adapter) {
    }

    /**
     * Every field optional; see {@link JobSpec} for the defaults.
     *
     * @param pooling classification: {@code truncate} or {@code sliding_window} ({@link io.loragate.model.InputPooling})
     * @param autoEpochs true: {@code epochs: "auto"} (then {@code epochs} must be null)
     */
    public record Hyperparameters(Integer epochs, Integer batchSize, Integer gradientAccumulationSteps, Double learningRate,
            Integer warmupSteps, String schedule, Double weightDecay, Double maxGradNorm, Integer maxSeqLength,
            Integer evalEverySteps, Integer checkpointEverySteps, Integer earlyStoppingPatience, Double validationSplit,
            String pooling, Boolean autoEpochs) {

        public static final Hyperparameters DEFAULTS = new Hyperparameters(null, null, null, null, null, null, null, null, null,
                null, null, null, null, null, null);

        /** Without a pooling (the default) and with fixed (or default) epochs. */
        public Hyperparameters(Integer epochs, Integer batchSize, Integer gradientAccumulationSteps, Double learningRate,
                Integer warmupSteps, String schedule, Double weightDecay, Double maxGradNorm, Integer maxSeqLength,
                Integer evalEverySteps, Integer checkpointEverySteps, Integer earlyStoppingPatience, Double validationSplit) {
            this(epochs, batchSize, gradientAccumulationSteps, learningRate, warmupSteps, schedule, weightDecay, maxGradNorm,
                    maxSeqLength, evalEverySteps, checkpointEverySteps, earlyStoppingPatience, validationSplit, null, null);
        }
    }

    /**
     * What to train; every field optional.
     *
     * @param method            one of {@link JobSpec#METHODS} (default {@code lora})
     * @param layersToTransform only these layers (0-based) for lora / rslora / dora / ia3 / bottleneck
     * @param numVirtualTokens  prompt_tuning: virtual tokens (default 8)
     * @param promptInitText    prompt_tuning: start from the embeddings of this text's tokens (repeated
     *                          or cut to num_virtual_tokens); null: random rows of the vocabulary
     * @param bottleneckSize    bottleneck: width of the down projection (default 16)
     * @param placement         bottleneck: {@code pfeiffer} (after the MLP, default) or {@code houlsby}
     *                          (after attention and MLP)
     * @param partialLayers     partial: train the full linear weights of the last N layers (default 1)
     */
    public record AdapterSettings(Integer r, Double alpha, Double dropout, List<String> targetModules, Boolean useRslora,
            String method, List<Integer> layersToTransform, Integer numVirtualTokens, String promptInitText,
            Integer bottleneckSize, String placement, Integer partialLayers) {

        public static final AdapterSettings DEFAULTS = new AdapterSettings(null, null, null, null, null, null, null, null, null,
                null, null, null);

        /** LoRA settings only (the other methods' fields unset). */
        public AdapterSettings(Integer r, Double alpha, Double dropout, List<String> targetModules, Boolean useRslora) {
            this(r, alpha, dropout, targetModules, useRslora, null, null, null, null, null, null, null);
        }
    }

    /**
     * @param minEvalAccuracy  classification: publish only at or above this validation accuracy
     * @param maxEvalLossRatio publish only if adapter eval loss / base eval loss is at most this
     * @param maxForgetting    decoder bases: publish only if the adapter's loss on the reference text
     *                         exceeds the base's by at most this (nats per token)
     */
    /**
     * @param minGainOverBaseline classification: the least by which the adapter's validation accuracy
     *                            must exceed the bag-of-words baseline's ({@link BagOfWordsBaseline})
     */
    public record PublishIf(Double minEvalAccuracy, Double maxEvalLossRatio, Double maxForgetting, Double minGainOverBaseline) {

        public PublishIf(Double minEvalAccuracy, Double maxEvalLossRatio) {
            this(minEvalAccuracy, maxEvalLossRatio, null, null);
        }

        public PublishIf(Double minEvalAccuracy, Double maxEvalLossRatio, Double maxForgetting) {
            this(minEvalAccuracy, maxEvalLossRatio, maxForgetting, null);
        }
    }
}
