package io.loragate.api.rest.dto;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;
import org.eclipse.microprofile.openapi.annotations.enums.SchemaType;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

/**
 * {@code /v1/fine_tuning/jobs}. Request limits are those {@code JobSpec.resolve} and
 * {@code FineTuningJobs.create} check; numeric hyperparameters also accept OpenAI's {@code "auto"}
 * (= the default).
 */
public final class JobSchemas {

    private JobSchemas() {
    }

    @Schema(name = "FineTuningJobRequest")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record FineTuningJobRequest(@Schema(required = true, description = "The base model's id") String model,
            @Schema(name = "training_file", required = true, description = "A file id (POST /v1/files)") String trainingFile,
            @Schema(name = "validation_file", description = "A file id; absent: a seeded split of the training file")
            String validationFile,
            @Schema(required = true, pattern = "^[a-z0-9][a-z0-9._-]{0,63}$", description = "The adapter name to publish under")
            String suffix,
            @Schema(format = "int64", defaultValue = "42") Long seed,
            JobMethod method,
            @Schema(description = "OpenAI's older place for the hyperparameters (method.hyperparameters wins)")
            Hyperparameters hyperparameters,
            @Schema(name = "publish_if", description = "Publish only if every given bound holds") PublishIf publishIf,
            @Schema(defaultValue = "false", description = "Make the new version the active one once published") Boolean activate,
            DiagnosticsOptions diagnostics) {
    }

    @Schema(name = "JobMethod")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record JobMethod(@Schema(enumeration = {"supervised", "classification"}, defaultValue = "supervised") String type,
            Hyperparameters hyperparameters, AdapterSettings adapter,
            @Schema(description = "OpenAI's nesting: {\"type\": \"supervised\", \"supervised\": {\"hyperparameters\": {...}}}")
            MethodOptions supervised,
            @Schema(description = "As supervised, for type classification") MethodOptions classification) {
    }

    @Schema(name = "MethodOptions")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record MethodOptions(Hyperparameters hyperparameters) {
    }

    @Schema(name = "Hyperparameters", description = "Every field optional")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Hyperparameters(@Schema(minimum = "1", maximum = "1000", defaultValue = "3", description = "Or \"auto\":"
            + " at least loragate.training.auto-min-steps optimizer steps, early stopping on validation loss, the best"
            + " evaluated weights kept") Integer epochs,
            @Schema(name = "n_epochs", minimum = "1", maximum = "1000", description = "OpenAI's name of epochs") Integer nEpochs,
            @Schema(name = "batch_size", minimum = "1", maximum = "1024", defaultValue = "8") Integer batchSize,
            @Schema(name = "gradient_accumulation_steps", minimum = "1", maximum = "1024", defaultValue = "1")
            Integer gradientAccumulationSteps,
            @Schema(name = "learning_rate", minimum = "0", exclusiveMinimum = true, maximum = "1",
                    description = "Default 2e-4 (supervised), 2e-3 (classification), 1e-2 (linear_probe)") Double learningRate,
            @Schema(name = "warmup_steps", minimum = "0", maximum = "1000000", defaultValue = "0") Integer warmupSteps,
            @Schema(enumeration = {"linear", "cosine", "constant"}, defaultValue = "linear") String schedule,
            @Schema(name = "weight_decay", minimum = "0", maximum = "1", defaultValue = "0") Double weightDecay,
            @Schema(name = "max_grad_norm", minimum = "0", maximum = "1000000", defaultValue = "1") Double maxGradNorm,
            @Schema(name = "max_seq_length", minimum = "2", maximum = "512",
                    description = "Default and maximum: loragate.training.max-seq-length") Integer maxSeqLength,
            @Schema(name = "eval_every_steps", minimum = "0", maximum = "1000000", defaultValue = "0",
                    description = "0 = at the end of each epoch; with epochs \"auto\", 0 = every tenth of the job's steps") Integer evalEverySteps,
            @Schema(name = "checkpoint_every_steps", minimum = "1", maximum = "1000000", defaultValue = "20")
            Integer checkpointEverySteps,
            @Schema(name = "early_stopping_patience", minimum = "0", maximum = "1000", defaultValue = "0",
                    description = "0 = never stop early") Integer earlyStoppingPatience,
            @Schema(name = "validation_split", minimum = "0", exclusiveMinimum = true, maximum = "1", exclusiveMaximum = true,
                    defaultValue = "0.1") Double validationSplit,
            @Schema(enumeration = {"truncate", "sliding_window"}, defaultValue = "truncate",
                    description = "Classification on an encoder: how an example longer than the model's window is read:"
                    + " 'truncate' (its first tokens and closing special token) or 'sliding_window' (overlapping windows,"
                    + " their head features averaged weighted by tokens). Stored with the adapter; serving reads long inputs"
                    + " the same way") String pooling) {
    }

    @Schema(name = "AdapterSettings", description = "What to train; every field optional")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record AdapterSettings(@Schema(minimum = "1", maximum = "64", defaultValue = "8",
            description = "LoRA rank, at most loragate.adapters.max-rank") Integer r,
            @Schema(minimum = "0", exclusiveMinimum = true, defaultValue = "16") Double alpha,
            @Schema(name = "lora_alpha", minimum = "0", exclusiveMinimum = true, description = "PEFT's name of alpha") Double loraAlpha,
            @Schema(minimum = "0", maximum = "1", exclusiveMaximum = true, defaultValue = "0.05") Double dropout,
            @Schema(name = "lora_dropout", minimum = "0", maximum = "1", exclusiveMaximum = true, description = "PEFT's name of dropout")
            Double loraDropout,
            @Schema(name = "target_modules", description = "Default: the architecture's attention projections")
            List<String> targetModules,
            @Schema(name = "use_rslora", defaultValue = "false") Boolean useRslora,
            @Schema(enumeration = {"linear_probe", "prompt_tuning", "ia3", "bottleneck", "lora", "rslora", "dora", "partial"},
                    defaultValue = "lora") String method,
            @Schema(name = "layers_to_transform", description = "0-based layer indexes (one index is also accepted)")
            List<Integer> layersToTransform,
            @Schema(name = "num_virtual_tokens", minimum = "1", maximum = "512", defaultValue = "8") Integer numVirtualTokens,
            @Schema(name = "prompt_init_text", description = "prompt_tuning: start from this text's token embeddings")
            String promptInitText,
            @Schema(name = "bottleneck_size", minimum = "1", maximum = "4096", defaultValue = "16") Integer bottleneckSize,
            @Schema(enumeration = {"pfeiffer", "houlsby"}, defaultValue = "pfeiffer") String placement,
            @Schema(name = "partial_layers", minimum = "1", maximum = "1000", defaultValue = "1") Integer partialLayers) {
    }

    @Schema(name = "PublishIf")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record PublishIf(@Schema(name = "min_eval_accuracy", minimum = "0", maximum = "1",
            description = "Classification only") Double minEvalAccuracy,
            @Schema(name = "max_eval_loss_ratio", minimum = "0", exclusiveMinimum = true,
                    description = "Adapter eval loss / base eval loss") Double maxEvalLossRatio,
            @Schema(name = "max_forgetting", description = "Decoder bases: nats per token on the reference text") Double maxForgetting,
            @Schema(name = "min_gain_over_baseline", minimum = "-1", maximum = "1",
                    description = "Classification: accuracy over the bag-of-words baseline") Double minGainOverBaseline) {
    }

    @Schema(name = "DiagnosticsOptions")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record DiagnosticsOptions(@Schema(name = "reference_file", description = "A file id") String referenceFile,
            @Schema(maxItems = 48, description = "0-based layers; at most loragate.diagnostics.max-layers") List<Integer> layers,
            @Schema(name = "max_examples", minimum = "2", maximum = "64", description = "At most loragate.diagnostics.max-examples")
            Integer maxExamples) {
    }

    @Schema(name = "FineTuningJob")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record FineTuningJob(@Schema(required = true, enumeration = "fine_tuning.job") String object,
            @Schema(required = true) String id, @Schema(required = true) String model,
            @Schema(name = "created_at", required = true) long createdAt,
            @Schema(name = "finished_at", required = true, nullable = true) Long finishedAt,
            @Schema(required = true, enumeration = {"validating_files", "queued", "running", "succeeded", "failed", "cancelled"})
            String status,
            @Schema(name = "training_file", required = true) String trainingFile,
            @Schema(name = "validation_file", required = true, nullable = true) String validationFile,
            @Schema(required = true) String suffix,
            @Schema(name = "fine_tuned_model", required = true, nullable = true, description = "name@version once published")
            String fineTunedModel,
            @Schema(required = true) long seed,
            @Schema(required = true, description = "The method with every default filled in") ResolvedMethod method,
            @Schema(required = true) ResolvedHyperparameters hyperparameters,
            @Schema(name = "publish_if", required = true, ref = "PublishIf") JsonNode publishIf,
            @Schema(required = true, ref = "DiagnosticsOptions") JsonNode diagnostics,
            @Schema(required = true) boolean activate,
            @Schema(name = "trained_tokens", required = true) long trainedTokens,
            @Schema(required = true) JobProgress progress,
            @Schema(name = "estimated_finish", required = true, nullable = true,
                    description = "Unix seconds when the running job should end, from its step timings; null until the"
                            + " first step of an attempt and when not running") Long estimatedFinish,
            @Schema(required = true, nullable = true) JobError error,
            @Schema(required = true, type = SchemaType.OBJECT, description = "The evaluation report, once the job ends (docs: jobs)",
                    ref = "JobReport")
            JsonNode report,
            @Schema(name = "result_files", required = true, description = "Always empty") List<String> resultFiles) {
    }

    @Schema(name = "ResolvedMethod")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record ResolvedMethod(@Schema(required = true, enumeration = {"supervised", "classification"}) String type,
            @Schema(required = true) ResolvedHyperparameters hyperparameters, @Schema(required = true) ResolvedAdapter adapter) {
    }

    @Schema(name = "ResolvedHyperparameters")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record ResolvedHyperparameters(@Schema(required = true) int epochs,
            @Schema(name = "batch_size", required = true) int batchSize,
            @Schema(name = "gradient_accumulation_steps", required = true) int gradientAccumulationSteps,
            @Schema(name = "learning_rate", required = true) double learningRate,
            @Schema(name = "warmup_steps", required = true) int warmupSteps,
            @Schema(required = true) String schedule,
            @Schema(name = "weight_decay", required = true) double weightDecay,
            @Schema(name = "max_grad_norm", required = true) double maxGradNorm,
            @Schema(name = "max_seq_length", required = true) int maxSeqLength,
            @Schema(name = "eval_every_steps", required = true) int evalEverySteps,
            @Schema(name = "checkpoint_every_steps", required = true) int checkpointEverySteps,
            @Schema(name = "early_stopping_patience", required = true) int earlyStoppingPatience,
            @Schema(name = "validation_split", required = true) double validationSplit,
            @Schema(required = true, enumeration = {"truncate", "sliding_window"}) String pooling,
            @Schema(name = "auto_min_steps", nullable = true, description = "epochs \"auto\": the least optimizer steps; epochs is then the most"
                    + " epochs; null: fixed epochs") Integer autoMinSteps) {
    }

    @Schema(name = "ResolvedAdapter")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record ResolvedAdapter(@Schema(required = true) int r, @Schema(required = true) double alpha,
            @Schema(required = true) double dropout,
            @Schema(name = "target_modules", required = true) List<String> targetModules,
            @Schema(name = "use_rslora", required = true) boolean useRslora,
            @Schema(required = true) String method,
            @Schema(name = "layers_to_transform", required = true) List<Integer> layersToTransform,
            @Schema(name = "num_virtual_tokens", required = true) int numVirtualTokens,
            @Schema(name = "prompt_init_text", required = true, nullable = true) String promptInitText,
            @Schema(name = "bottleneck_size", required = true) int bottleneckSize,
            @Schema(required = true) String placement,
            @Schema(name = "partial_layers", required = true) int partialLayers) {
    }

    @Schema(name = "JobProgress")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record JobProgress(@Schema(required = true) long step, @Schema(name = "total_steps", required = true) long totalSteps) {
    }

    @Schema(name = "JobError")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record JobError(@Schema(required = true, enumeration = "job_failed") String code, @Schema(required = true) String message) {
    }

    @Schema(name = "FineTuningJobList")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record FineTuningJobList(@Schema(required = true, enumeration = "list") String object,
            @Schema(required = true) List<FineTuningJob> data, @Schema(name = "has_more", required = true) boolean hasMore) {
    }

    @Schema(name = "JobEvent")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record JobEvent(@Schema(required = true, enumeration = "fine_tuning.job.event") String object,
            @Schema(required = true) String id, @Schema(name = "created_at", required = true) long createdAt,
            @Schema(required = true, enumeration = {"info", "warn", "error"}) String level,
            @Schema(required = true) String message,
            @Schema(required = true, description = "message or metrics") String type,
            @Schema(required = true, type = SchemaType.OBJECT, description = "metrics events: the step's numbers; null otherwise",
                    ref = "JobEventData")
            JsonNode data,
            @Schema(required = true, nullable = true, description = "The job's status when the event was written") String status) {
    }

    @Schema(name = "JobEventList", description = "Newest first; page on with after = the last id of a page")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record JobEventList(@Schema(required = true, enumeration = "list") String object,
            @Schema(required = true) List<JobEvent> data, @Schema(name = "has_more", required = true) boolean hasMore) {
    }

    @Schema(name = "JobCheckpoint")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record JobCheckpoint(@Schema(required = true, enumeration = "fine_tuning.job.checkpoint") String object,
            @Schema(required = true) String id, @Schema(name = "created_at", required = true) long createdAt,
            @Schema(name = "fine_tuning_job_id", required = true) String fineTuningJobId,
            @Schema(name = "step_number", required = true) long stepNumber,
            @Schema(required = true, description = "The step's numbers when it was written",
                    type = SchemaType.OBJECT, ref = "StepMetrics")
            JsonNode metrics,
            @Schema(name = "state_kept", required = true, description = "Whether the job can resume from it") boolean stateKept) {
    }

    @Schema(name = "JobCheckpointList")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record JobCheckpointList(@Schema(required = true, enumeration = "list") String object,
            @Schema(required = true) List<JobCheckpoint> data, @Schema(name = "has_more", required = true) boolean hasMore) {
    }
}
