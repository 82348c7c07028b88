package io.loragate.api.rest.dto;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;
import java.util.Map;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

/**
 * A fine-tuning job's evaluation report, its step metrics, and the diagnostics report of
 * {@code POST /v1/adapters/{id}/diagnostics} (docs/diagnostics-and-sweeps.md explains every number).
 * Numbers that could not be computed (NaN) are null or absent.
 */
public final class ReportSchemas {

    private ReportSchemas() {
    }

    @Schema(name = "EvalMetrics", description = "One model on the validation examples")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record EvalMetrics(@Schema(required = true) long examples,
            @Schema(nullable = true, description = "Mean loss per target token") Double loss,
            @Schema(nullable = true, description = "Causal LM: exp(loss)") Double perplexity,
            @Schema(nullable = true, description = "Classification") Double accuracy,
            @Schema(name = "macro_f1", nullable = true, description = "Classification") Double macroF1,
            @Schema(nullable = true, description = "Classification: expected calibration error") Double ece,
            @Schema(description = "Classification: the reliability table") List<ReliabilityBin> reliability) {
    }

    @Schema(name = "ReliabilityBin", description = "Predictions whose confidence falls in [lo, hi)")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record ReliabilityBin(@Schema(required = true) double lo, @Schema(required = true) double hi,
            @Schema(required = true) double count, @Schema(required = true) double confidence,
            @Schema(required = true) double accuracy) {
    }

    @Schema(name = "NegativeTransferMetric", description = "A metric on which the adapter is worse than the best baseline")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record NegativeTransferMetric(@Schema(required = true, enumeration = {"accuracy", "macro_f1", "loss"}) String metric,
            @Schema(required = true) double adapter,
            @Schema(required = true, description = "base, base_probe or bag_of_words") String baseline,
            @Schema(name = "baseline_value", required = true) double baselineValue) {
    }

    @Schema(name = "Forgetting", description = "Causal LM loss on a reference text, base vs adapter")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Forgetting(@Schema(required = true) boolean applicable,
            @Schema(description = "Why it is not applicable") String reason,
            @Schema(description = "The reference: a file id or the built-in text") String reference,
            Integer examples, @Schema(format = "int64") Long tokens,
            @Schema(name = "base_loss", nullable = true) Double baseLoss,
            @Schema(name = "adapter_loss", nullable = true) Double adapterLoss,
            @Schema(nullable = true, description = "adapter_loss - base_loss; positive: forgetting") Double delta,
            @Schema(nullable = true, description = "adapter_loss / base_loss") Double ratio) {
    }

    @Schema(name = "LayerDiagnostics", description = "One layer: how far the adapter moved its hidden states")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record LayerDiagnostics(@Schema(required = true) int layer,
            @Schema(nullable = true, description = "Linear CKA of base and adapter token states (1: unchanged)") Double cka,
            @Schema(name = "probe_accuracy_base", nullable = true, description = "Classification") Double probeAccuracyBase,
            @Schema(name = "probe_accuracy_adapter", nullable = true, description = "Classification") Double probeAccuracyAdapter) {
    }

    @Schema(name = "SliceDiagnostics", description = "The metrics of the examples of one slice")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record SliceDiagnostics(@Schema(required = true) int examples, EvalMetrics base,
            @Schema(name = "base_probe") EvalMetrics baseProbe, EvalMetrics adapter,
            @Schema(name = "eval_loss_ratio", nullable = true) Double evalLossRatio,
            @Schema(name = "negative_transfer", required = true) boolean negativeTransfer,
            @Schema(name = "negative_transfer_metrics", required = true) List<NegativeTransferMetric> negativeTransferMetrics) {
    }

    @Schema(name = "DiagnosticsSettings", description = "How the diagnostics were computed")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record DiagnosticsSettings(@Schema(name = "validation_examples", required = true) int validationExamples,
            @Schema(name = "virtual_tokens", description = "Prompt tuning: virtual tokens in front of every input")
            Integer virtualTokens,
            @Schema(required = true) List<Integer> layers,
            @Schema(name = "cka_token_rows", required = true) int ckaTokenRows,
            @Schema(name = "probe_train_examples", description = "Classification") Integer probeTrainExamples,
            @Schema(required = true, description = "The probe used, or why none") String probe,
            @Schema(required = true) double seconds) {
    }

    @Schema(name = "PublishIfOutcome", description = "The publication gate's verdict")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record PublishIfOutcome(@Schema(description = "The gate as requested") JobSchemas.PublishIf gate,
            @Schema(required = true) boolean passed,
            @Schema(required = true, description = "The bounds that failed") List<String> reasons) {
    }

    @Schema(name = "JobReport", description = "A finished job's evaluation: base vs adapter on the validation examples,"
            + " baselines, diagnostics and the gate")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record JobReport(@Schema(required = true, enumeration = {"supervised", "classification"}) String task,
            @Schema(name = "validation_examples", required = true) long validationExamples,
            @Schema(required = true) long steps,
            @Schema(name = "early_stopped", required = true) boolean earlyStopped,
            @Schema(description = "The epochs the job was set to (resolved for epochs \"auto\")") Integer epochs,
            @Schema(name = "auto_epochs", description = "epochs \"auto\"") Boolean autoEpochs,
            @Schema(name = "best_step", format = "int64", description = "epochs \"auto\": the step of the lowest validation"
                    + " loss, whose weights the job kept") Long bestStep,
            @Schema(required = true) EvalMetrics base,
            @Schema(name = "base_probe", nullable = true, description = "Classification: a linear probe on the frozen base")
            EvalMetrics baseProbe,
            @Schema(required = true) EvalMetrics adapter,
            @Schema(name = "bag_of_words", description = "Classification: a model-free baseline") EvalMetrics bagOfWords,
            @Schema(name = "gain_over_baseline", description = "Classification: accuracy over bag_of_words") Double gainOverBaseline,
            @Schema(name = "eval_loss_ratio", description = "adapter loss / base loss") Double evalLossRatio,
            @Schema(name = "negative_transfer") Boolean negativeTransfer,
            @Schema(name = "negative_transfer_metrics") List<NegativeTransferMetric> negativeTransferMetrics,
            Forgetting forgetting,
            List<LayerDiagnostics> layers,
            @Schema(description = "Per slice (the examples' \"slice\" field)") Map<String, SliceDiagnostics> slices,
            DiagnosticsSettings diagnostics,
            @Schema(name = "diagnostics_error", description = "Why the diagnostics failed (the job did not)") String diagnosticsError,
            @Schema(name = "publish_if", required = true) PublishIfOutcome publishIf,
            @Schema(description = "How long examples were read (jobs finished before it was reported have none)")
            InputsReport inputs,
            @Schema(description = "Where this attempt's step time went (jobs finished before it was reported have none)")
            JobTiming timing) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @Schema(name = "JobTiming", description = "This attempt's steps: the training loop's compute against the runner's"
            + " bookkeeping after each step (events, progress, lease and cancel checks, checkpoints); evaluations and waits"
            + " for serving apart")
    public record JobTiming(@Schema(required = true) long steps,
            @Schema(name = "compute_seconds_per_step", required = true, description = "Batches, forward, backward, clipping,"
                    + " optimizer") double computeSecondsPerStep,
            @Schema(name = "bookkeeping_seconds_per_step", required = true) double bookkeepingSecondsPerStep,
            @Schema(name = "database_seconds_per_step", required = true) double databaseSecondsPerStep,
            @Schema(name = "database_writes", required = true, description = "Writes of the steps' events and progress"
                    + " (each also the lease and cancel check)") long databaseWrites,
            @Schema(name = "checkpoint_seconds_per_step", required = true) double checkpointSecondsPerStep,
            @Schema(required = true) long checkpoints,
            @Schema(name = "evaluation_seconds", required = true) double evaluationSeconds,
            @Schema(name = "gate_wait_seconds", required = true, description = "Waiting for serving (yield-policy idle)")
            double gateWaitSeconds) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @Schema(name = "InputsReport", description = "The examples longer than the effective length: never a failure, cut or windowed")
    public record InputsReport(@Schema(name = "max_length", required = true, description = "min(max_seq_length, the model's"
            + " context); sliding_window: the window (the model's positions less virtual tokens)") int maxLength,
            @Schema(required = true, enumeration = {"truncate", "sliding_window"}) String pooling,
            @Schema(required = true, description = "Examples (training and validation) that lost tokens: longer than max_length,"
                    + " or with sliding_window past max_windows windows") int cut,
            @Schema(description = "sliding_window: examples read in more than one window") Integer windowed,
            @Schema(name = "max_windows", description = "sliding_window: loragate.limits.max-windows-per-input") Integer maxWindows) {
    }

    @Schema(name = "StepMetrics", description = "A training step's numbers (eval_*: when the step evaluated)")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record StepMetrics(@Schema(required = true) long step,
            @Schema(name = "total_steps", required = true) long totalSteps, int epoch,
            @Schema(name = "train_loss") Double trainLoss,
            @Schema(name = "learning_rate") Double learningRate,
            @Schema(name = "grad_norm", description = "Before clipping") Double gradNorm,
            @Schema(name = "tokens_per_second") Double tokensPerSecond,
            @Schema(name = "eta_seconds") Double etaSeconds,
            @Schema(name = "eval_loss") Double evalLoss,
            @Schema(name = "eval_accuracy", description = "Classification") Double evalAccuracy) {
    }

    @Schema(name = "JobEventData", description = "A metrics event's data: a step's numbers (StepMetrics), or for the"
            + " final evaluation the last point of the curves, the base's, and every field of the job's report (JobReport)")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record JobEventData(@Schema(required = true) long step,
            @Schema(name = "total_steps", required = true) long totalSteps, int epoch,
            @Schema(name = "train_loss") Double trainLoss,
            @Schema(name = "learning_rate") Double learningRate,
            @Schema(name = "grad_norm") Double gradNorm,
            @Schema(name = "tokens_per_second") Double tokensPerSecond,
            @Schema(name = "eta_seconds") Double etaSeconds,
            @Schema(name = "eval_loss") Double evalLoss,
            @Schema(name = "eval_accuracy") Double evalAccuracy,
            @Schema(name = "base_eval_loss", description = "Evaluation event") Double baseEvalLoss,
            @Schema(name = "base_eval_accuracy", description = "Evaluation event, classification") Double baseEvalAccuracy,
            @Schema(description = "Evaluation event: the report's fields follow") String task,
            @Schema(name = "validation_examples") Long validationExamples,
            Long steps,
            @Schema(name = "early_stopped") Boolean earlyStopped,
            Integer epochs,
            @Schema(name = "auto_epochs") Boolean autoEpochs,
            @Schema(name = "best_step", format = "int64") Long bestStep,
            EvalMetrics base,
            @Schema(name = "base_probe", nullable = true) EvalMetrics baseProbe,
            EvalMetrics adapter,
            @Schema(name = "bag_of_words") EvalMetrics bagOfWords,
            @Schema(name = "gain_over_baseline") Double gainOverBaseline,
            @Schema(name = "eval_loss_ratio") Double evalLossRatio,
            @Schema(name = "negative_transfer") Boolean negativeTransfer,
            @Schema(name = "negative_transfer_metrics") List<NegativeTransferMetric> negativeTransferMetrics,
            Forgetting forgetting,
            List<LayerDiagnostics> layers,
            Map<String, SliceDiagnostics> slices,
            DiagnosticsSettings diagnostics,
            @Schema(name = "diagnostics_error") String diagnosticsError,
            @Schema(name = "publish_if") PublishIfOutcome publishIf,
            InputsReport inputs,
            JobTiming timing) {
    }

    @Schema(name = "DiagnosticsReport", description = "An adapter on a dataset: the diagnostics a job's report carries")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record DiagnosticsReport(@Schema(required = true, enumeration = "adapter.diagnostics") String object,
            @Schema(name = "adapter_id", required = true, description = "name@version") String adapterId,
            @Schema(required = true) String file,
            @Schema(required = true, enumeration = {"supervised", "classification"}) String task,
            @Schema(name = "validation_examples", required = true) long validationExamples,
            @Schema(name = "probe_train_examples", description = "Classification: the first half of the file trains the probe")
            Integer probeTrainExamples,
            @Schema(name = "base_probe", nullable = true, description = "Classification") EvalMetrics baseProbe,
            @Schema(description = "Causal LM") EvalMetrics base,
            @Schema(required = true) EvalMetrics adapter,
            @Schema(name = "eval_loss_ratio", nullable = true, description = "Causal LM") Double evalLossRatio,
            @Schema(name = "negative_transfer", required = true) boolean negativeTransfer,
            @Schema(name = "negative_transfer_metrics", required = true) List<NegativeTransferMetric> negativeTransferMetrics,
            @Schema(required = true) Forgetting forgetting,
            @Schema(required = true) List<LayerDiagnostics> layers,
            @Schema(required = true) Map<String, SliceDiagnostics> slices,
            @Schema(required = true) DiagnosticsSettings diagnostics) {
    }
}
