package io.loragate.training.jobs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.training.trainer.EvalMetrics;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What a job tells about its training as JSON: the metrics of each step's event, and at the end the
 * report stored with the job (base vs adapter, the baseline, the diagnostics) and the evaluation
 * event that carries it.
 */
final class JobReport {

    static final ObjectMapper JSON = new ObjectMapper();

    private JobReport() {
    }

    /**
     * The final evaluation on the validation set.
     *
     * @param base        the base alone (classification: the untrained adapter's fresh head)
     * @param adapter     the trained adapter
     * @param bagOfWords  classification: the model-free baseline (null: none, e.g. one label)
     * @param diagnostics what the diagnostics added (null: none ran)
     */
    record Evaluation(EvalMetrics base, EvalMetrics adapter, EvalMetrics bagOfWords, JobDiagnostics.Outcome diagnostics) {

        /** Adapter over base validation loss; not finite when the base's loss is 0 or missing. */
        double lossRatio() {
            return adapter.loss() / base.loss();
        }
    }

    /**
     * How the training went.
     *
     * @param steps        the steps trained (where training stopped)
     * @param earlyStopped stopped by early stopping
     * @param epochs       the epochs the run was set to (resolved for {@code "auto"})
     * @param bestStep     epochs "auto": the step of the best evaluation, whose weights the job kept
     *                     (null: the job kept the last weights)
     */
    record Run(long steps, boolean earlyStopped, int epochs, Long bestStep) {
    }

    /**
     * The job's report without its {@code publish_if} section ({@link Publication#reportSection}):
     * the diagnostics' fields come last and never replace the job's own.
     */
    static ObjectNode of(JobSpec spec, Run run, Evaluation e) {
        ObjectNode report = JSON.createObjectNode();
        report.put("task", spec.type());
        report.put("validation_examples", e.adapter().examples());
        report.put("steps", run.steps());
        report.put("early_stopped", run.earlyStopped());
        report.put("epochs", run.epochs());
        if (spec.hyperparameters().autoEpochs()) {
            report.put("auto_epochs", true);
        }
        if (run.bestStep() != null) {
            report.put("best_step", run.bestStep());
        }
        report.set("base", metrics(e.base()));
        if (e.diagnostics() != null && e.diagnostics().fields().has("base_probe")) {
            report.set("base_probe", e.diagnostics().fields().get("base_probe"));
        }
        report.set("adapter", metrics(e.adapter()));
        if (e.bagOfWords() != null) {
            report.set("bag_of_words", metrics(e.bagOfWords()));
            report.put("gain_over_baseline", e.adapter().accuracy() - e.bagOfWords().accuracy());
        }
        putFinite(report, "eval_loss_ratio", e.lossRatio());
        if (e.diagnostics() != null) {
            putAbsent(report, e.diagnostics().fields());
        }
        return report;
    }

    /** The evaluation event's line. */
    static String evaluationMessage(Evaluation e) {
        EvalMetrics base = e.base();
        EvalMetrics adapter = e.adapter();
        return String.format(Locale.ROOT, "Evaluation: base loss=%.4f, adapter loss=%.4f%s", base.loss(), adapter.loss(),
                adapter.accuracy() == null ? "" : String.format(Locale.ROOT, ", base accuracy=%.3f, adapter accuracy=%.3f",
                        base.accuracy(), adapter.accuracy()));
    }

    /**
     * The evaluation event's data: the final point of the curves (step, total_steps, eval_loss,
     * eval_accuracy of the adapter, and the base's), as the step events carry them, then the report.
     */
    static ObjectNode evaluationData(long steps, long totalSteps, Evaluation e, ObjectNode report) {
        ObjectNode d = JSON.createObjectNode();
        d.put("step", steps);
        d.put("total_steps", totalSteps);
        putFinite(d, "eval_loss", e.adapter().loss());
        if (e.adapter().accuracy() != null) {
            d.put("eval_accuracy", e.adapter().accuracy());
        }
        putFinite(d, "base_eval_loss", e.base().loss());
        if (e.base().accuracy() != null) {
            d.put("base_eval_accuracy", e.base().accuracy());
        }
        putAbsent(d, report);
        return d;
    }

    /** Metrics as a JSON object, nulls and non-finite numbers left out. */
    static String json(Map<String, Object> fields) {
        Map<String, Object> m = new LinkedHashMap<>();
        fields.forEach((k, v) -> {
            if (v != null && !(v instanceof Double d && !Double.isFinite(d))) {
                m.put(k, v);
            }
        });
        try {
            return JSON.writeValueAsString(m);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ObjectNode metrics(EvalMetrics m) {
        ObjectNode n = JSON.createObjectNode();
        n.put("examples", m.examples());
        putFinite(n, "loss", m.loss());
        if (m.perplexity() != null) {
            putFinite(n, "perplexity", m.perplexity());
        }
        if (m.accuracy() != null) {
            n.put("accuracy", m.accuracy());
        }
        if (m.macroF1() != null) {
            n.put("macro_f1", m.macroF1());
        }
        if (m.ece() != null) {
            n.put("ece", m.ece());
        }
        if (m.reliability() != null) {
            n.set("reliability", JSON.valueToTree(m.reliability()));
        }
        return n;
    }

    private static void putFinite(ObjectNode n, String k, double v) {
        if (Double.isFinite(v)) {
            n.put(k, v);
        }
    }

    /** Copies the fields of {@code from} that {@code to} does not have yet. */
    private static void putAbsent(ObjectNode to, ObjectNode from) {
        from.fields().forEachRemaining(e -> {
            if (!to.has(e.getKey())) {
                to.set(e.getKey(), e.getValue());
            }
        });
    }
}
