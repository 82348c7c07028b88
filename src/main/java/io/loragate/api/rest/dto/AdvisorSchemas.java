package io.loragate.api.rest.dto;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;
import java.util.Map;
import org.eclipse.microprofile.openapi.annotations.enums.SchemaType;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

/**
 * On-demand diagnostics, recommendations and sweeps: their requests, and the answers of
 * recommendations and sweeps (the diagnostics report is in {@link ReportSchemas}). Fields of the
 * answers that do not apply are left out.
 */
public final class AdvisorSchemas {

    private AdvisorSchemas() {
    }

    @Schema(name = "DiagnosticsRequest")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record DiagnosticsRequest(@Schema(required = true, description = "A file id: the examples to diagnose on") String file,
            @Schema(maxItems = 48, description = "0-based layers; at most loragate.diagnostics.max-layers") List<Integer> layers,
            @Schema(name = "max_examples", minimum = "2", maximum = "64", description = "At most loragate.diagnostics.max-examples")
            Integer maxExamples,
            @Schema(name = "reference_file", description = "A file id whose texts measure forgetting") String referenceFile) {
    }

    @Schema(name = "Budget")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Budget(@Schema(name = "max_train_minutes", minimum = "0", exclusiveMinimum = true) Double maxTrainMinutes,
            @Schema(name = "max_adapter_bytes", minimum = "1", format = "int64") Long maxAdapterBytes) {
    }

    @Schema(name = "RecommendationRequest")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record RecommendationRequest(@Schema(name = "training_file", required = true, description = "A file id")
            String trainingFile,
            @Schema(description = "supervised or classification; default: from the dataset's format") String task,
            Budget budget,
            @Schema(name = "top_k", minimum = "1", maximum = "8", description = "How many methods to rank") Integer topK,
            @Schema(minimum = "1", maximum = "1000", defaultValue = "3") Integer epochs,
            @Schema(name = "sample_size", minimum = "1", maximum = "1024", description = "Examples to measure the shift on")
            Integer sampleSize) {
    }

    @Schema(name = "SweepRequest")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record SweepRequest(@Schema(required = true) String model,
            @Schema(name = "training_file", required = true) String trainingFile,
            @Schema(name = "validation_file") String validationFile,
            @Schema(description = "supervised or classification") String task,
            @Schema(description = "Methods to compare; default: the recommender's top_k") List<String> methods,
            @Schema(name = "top_k", minimum = "1", maximum = "8") Integer topK,
            JobSchemas.Hyperparameters hyperparameters,
            Budget budget,
            @Schema(format = "int64") Long seed,
            @Schema(description = "Adapters are named <suffix>-<method>") String suffix) {
    }

    @Schema(name = "Recommendation", description = "The methods to try first on a dataset (docs: recommendations)")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Recommendation(@Schema(required = true, enumeration = "recommendation") String object,
            @Schema(name = "training_file", required = true) String trainingFile,
            @Schema(required = true, description = "The base model") String model,
            @Schema(required = true, enumeration = {"supervised", "classification"}) String task,
            @Schema(required = true, enumeration = {"tiny", "medium", "large"}, description = "By example count") String regime,
            @Schema(required = true) DatasetFacts dataset,
            @Schema(required = true) DomainShift shift,
            @Schema(required = true) RecommendationThresholds thresholds,
            @Schema(required = true, description = "The budget applied; empty: none") Budget budget,
            @Schema(required = true, description = "Ranked, best first") List<MethodPlan> methods,
            @Schema(required = true, description = "Over the budget; the first reason says which limit") List<MethodPlan> excluded,
            @Schema(name = "cost_model", required = true) CostAssumptions costModel) {
    }

    @Schema(name = "DatasetFacts", description = "What the recommender read from the dataset's report")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record DatasetFacts(@Schema(required = true) String format, @Schema(required = true) int examples,
            @Schema(required = true, format = "int64") long tokens,
            @Schema(name = "mean_tokens", required = true) double meanTokens,
            @Schema(required = true, description = "Classification: distinct labels; else 0") int labels,
            @Schema(name = "label_counts", required = true) Map<String, Integer> labelCounts,
            @Schema(name = "majority_rate", description = "Classification: share of the most common label") Double majorityRate) {
    }

    @Schema(name = "DomainShift", description = "How far the dataset is from what the base already does")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record DomainShift(@Schema(required = true, enumeration = {"base_perplexity", "linear_probe", "none"}) String measure,
            @Schema(name = "sample_size", required = true) int sampleSize,
            @Schema(name = "base_loss") Double baseLoss,
            @Schema(name = "base_perplexity") Double basePerplexity,
            @Schema(name = "probe_accuracy") Double probeAccuracy,
            @Schema(name = "majority_rate") Double majorityRate,
            @Schema(required = true, minimum = "0", maximum = "1", description = "0: no shift .. 1: maximal") double score,
            @Schema(required = true, enumeration = {"low", "medium", "high"}) String level,
            @Schema(required = true) double seconds) {
    }

    @Schema(name = "RecommendationThresholds", description = "The constants the plan was made with")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record RecommendationThresholds(@Schema(name = "tiny_below_examples", required = true) int tinyBelowExamples,
            @Schema(name = "large_above_examples", required = true) int largeAboveExamples,
            @Schema(name = "shift_low_below", required = true) double shiftLowBelow,
            @Schema(name = "shift_high_from", required = true) double shiftHighFrom) {
    }

    @Schema(name = "MethodPlan", description = "One method with its settings, cost and reasons")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record MethodPlan(@Schema(required = true) int rank,
            @Schema(required = true) String method,
            @Schema(required = true) MethodSettings settings,
            @Schema(name = "learning_rate", required = true) double learningRate,
            @Schema(required = true) MethodCompute compute,
            @Schema(required = true) List<String> reasons) {
    }

    @Schema(name = "MethodSettings", description = "A job's method.adapter for the method; absent fields keep the job defaults")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record MethodSettings(@Schema(required = true) String method, Integer r, Double alpha,
            @Schema(name = "layers_to_transform") List<Integer> layersToTransform,
            @Schema(name = "num_virtual_tokens") Integer numVirtualTokens,
            @Schema(name = "bottleneck_size") Integer bottleneckSize,
            String placement,
            @Schema(name = "partial_layers") Integer partialLayers) {
    }

    @Schema(name = "MethodCompute", description = "The estimated cost of a method's job")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record MethodCompute(@Schema(name = "trainable_params", required = true, format = "int64") long trainableParams,
            @Schema(name = "adapter_bytes", required = true, format = "int64") long adapterBytes,
            @Schema(name = "train_flops", required = true) double trainFlops,
            @Schema(name = "train_seconds", required = true, description = "The whole job, the next two included")
            double trainSeconds,
            @Schema(name = "diagnostics_seconds", required = true) double diagnosticsSeconds,
            @Schema(name = "checkpoint_seconds", required = true) double checkpointSeconds) {
    }

    @Schema(name = "CostAssumptions", description = "The cost model's assumptions")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record CostAssumptions(@Schema(name = "flops_per_second", required = true) double flopsPerSecond,
            @Schema(name = "step_overhead_seconds", required = true) double stepOverheadSeconds,
            @Schema(required = true) int epochs,
            @Schema(name = "batch_size", required = true) int batchSize,
            @Schema(name = "validation_share", required = true) double validationShare) {
    }

    @Schema(name = "Sweep", description = "One job per method on the same data and their comparison (docs: sweeps)")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Sweep(@Schema(required = true, enumeration = "fine_tuning.sweep") String object,
            @Schema(required = true) String id,
            @Schema(required = true, enumeration = {"running", "succeeded", "failed", "cancelled"}) String status,
            @Schema(name = "created_at", required = true) long createdAt,
            @Schema(name = "finished_at", description = "Absent until every row is final") Long finishedAt,
            @Schema(required = true) String model,
            @Schema(name = "training_file", required = true) String trainingFile,
            @Schema(name = "validation_file") String validationFile,
            String task,
            @Schema(required = true) List<String> methods,
            @Schema(required = true) List<SweepRow> table,
            @Schema(name = "table_markdown", required = true, description = "The table, the baseline's row, the choice and the"
                    + " warnings") String tableMarkdown,
            @Schema(name = "validation_examples", format = "int64", description = "The examples every row was evaluated on")
            Long validationExamples,
            @Schema(description = "Classification: the bag-of-words baseline on the same validation data") SweepBaseline baseline,
            @Schema(description = "The chosen method: highest validation accuracy, ties within one validation example broken by"
                    + " the lower validation loss; causal LM: lowest validation loss") String best,
            @Schema(description = "Why best was chosen") String selection,
            @Schema(description = "No row beats the baseline; the validation set is too small to separate the rows")
            List<String> warnings) {
    }

    @Schema(name = "SweepBaseline", description = "The bag-of-words baseline's validation metrics, from the jobs' reports")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record SweepBaseline(@Schema(required = true, enumeration = "bag_of_words") String method,
            @Schema(format = "int64") Long examples,
            Double accuracy,
            @Schema(name = "macro_f1") Double macroF1,
            Double loss) {
    }

    @Schema(name = "SweepRow", description = "One method of a sweep: its job and results; sizes measured, reported or estimated")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record SweepRow(@Schema(required = true) String method,
            @Schema(name = "job_id", description = "Absent while pending") String jobId,
            @Schema(required = true, description = "pending, or the job's status") String status,
            String error,
            @Schema(name = "fine_tuned_model") String fineTunedModel,
            MethodSettings settings,
            @Schema(name = "learning_rate", required = true) double learningRate,
            @Schema(name = "trainable_params", format = "int64") Long trainableParams,
            @Schema(name = "adapter_bytes", format = "int64") Long adapterBytes,
            @Schema(enumeration = {"measured", "reported", "estimated"}) String sizes,
            @Schema(name = "train_seconds") Double trainSeconds,
            @Schema(name = "estimated_train_seconds") Double estimatedTrainSeconds,
            @Schema(name = "base_eval_loss") Double baseEvalLoss,
            @Schema(name = "eval_loss") Double evalLoss,
            @Schema(name = "eval_loss_ratio") Double evalLossRatio,
            Double perplexity,
            @Schema(name = "base_accuracy") Double baseAccuracy,
            Double accuracy,
            @Schema(name = "macro_f1") Double macroF1,
            Double ece,
            @Schema(description = "The job report's forgetting", type = SchemaType.OBJECT, ref = "Forgetting") JsonNode forgetting,
            @Schema(description = "The job report's diagnostics settings", type = SchemaType.OBJECT, ref = "DiagnosticsSettings")
            JsonNode diagnostics,
            @Schema(name = "beats_baseline", description = "Classification: validation accuracy above the baseline's")
            Boolean beatsBaseline) {
    }

    @Schema(name = "SweepList")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record SweepList(@Schema(required = true, enumeration = "list") String object, @Schema(required = true) List<Sweep> data) {
    }
}
