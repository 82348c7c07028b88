package io.loragate.training.jobs;

import io.loragate.common.DurableFiles;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.adapter.LoraAdapter;
import io.loragate.adapter.PeftConfig;
import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import io.loragate.model.CausalModel;
import io.loragate.registry.AdapterRegistry;
import io.loragate.registry.AdapterVersion;
import io.loragate.registry.JobRecord;
import io.loragate.registry.JobStore;
import io.loragate.runtime.ResidentModel;
import io.loragate.training.trainer.TrainingRun;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * How a finished job's adapter becomes servable, in one place: the {@code publish_if} gate (checked
 * when the job is created, stored with it as JSON, applied to the final evaluation and shown in the
 * report), the registration of the adapter as a new version under the job's suffix, and, with
 * {@code activate}, the alias moving to that version.
 */
final class Publication {

    private final AdapterRegistry registry;
    private final JobStore store;

    Publication(AdapterRegistry registry, JobStore store) {
        this.registry = registry;
        this.store = store;
    }

    /** A version published: its id and the line of the job's final event. */
    record Published(String versionId, String message) {
    }

    // ---------------------------------------------------------------------------------------------
    // The gate

    /** Refuses a gate that cannot apply to the job (errors name the field), before the job is stored. */
    static void checkGate(JobRequest.PublishIf gate, String jobType, ResidentModel resident) {
        boolean classification = jobType.equals(JobSpec.CLASSIFICATION);
        if (gate.minEvalAccuracy() != null && !classification) {
            throw JobRequest.invalid("publish_if.min_eval_accuracy", "min_eval_accuracy applies to classification jobs only");
        }
        if (gate.minEvalAccuracy() != null && !(gate.minEvalAccuracy() >= 0 && gate.minEvalAccuracy() <= 1)) {
            throw JobRequest.invalid("publish_if.min_eval_accuracy", "min_eval_accuracy must be in [0, 1]");
        }
        if (gate.minGainOverBaseline() != null && !classification) {
            throw JobRequest.invalid("publish_if.min_gain_over_baseline", "min_gain_over_baseline applies to classification jobs only");
        }
        if (gate.minGainOverBaseline() != null && !(gate.minGainOverBaseline() >= -1 && gate.minGainOverBaseline() <= 1)) {
            throw JobRequest.invalid("publish_if.min_gain_over_baseline",
                    "min_gain_over_baseline is a difference of accuracies, in [-1, 1]");
        }
        if (gate.maxEvalLossRatio() != null && !(gate.maxEvalLossRatio() > 0)) {
            throw JobRequest.invalid("publish_if.max_eval_loss_ratio", "max_eval_loss_ratio must be positive");
        }
        if (gate.maxForgetting() != null) {
            if (!(resident.model() instanceof CausalModel)) {
                throw JobRequest.invalid("publish_if.max_forgetting", "max_forgetting applies to decoder bases only: the base"
                        + " model " + resident.id() + " is an encoder, which has no language-model loss to measure forgetting with");
            }
            if (!Double.isFinite(gate.maxForgetting())) {
                throw JobRequest.invalid("publish_if.max_forgetting", "max_forgetting must be a finite number");
            }
        }
    }

    /** The gate as the job stores it; null: no gate. */
    static String gateJson(JobRequest.PublishIf gate) {
        if (gate == null) {
            return null;
        }
        ObjectNode n = JobReport.JSON.createObjectNode();
        if (gate.minEvalAccuracy() != null) {
            n.put("min_eval_accuracy", gate.minEvalAccuracy());
        }
        if (gate.maxEvalLossRatio() != null) {
            n.put("max_eval_loss_ratio", gate.maxEvalLossRatio());
        }
        if (gate.maxForgetting() != null) {
            n.put("max_forgetting", gate.maxForgetting());
        }
        if (gate.minGainOverBaseline() != null) {
            n.put("min_gain_over_baseline", gate.minGainOverBaseline());
        }
        return n.toString();
    }

    /** Why the job's gate refuses the evaluated adapter, one reason per condition missed; empty: publish. */
    static List<String> refusals(JobRecord job, JobReport.Evaluation e) {
        List<String> refused = new ArrayList<>();
        if (job.publishIfJson() == null) {
            return refused;
        }
        JsonNode g = readJson(job.publishIfJson());
        if (g.has("min_eval_accuracy")) {
            minEvalAccuracy(g.get("min_eval_accuracy").asDouble(), e, refused);
        }
        if (g.has("min_gain_over_baseline")) {
            minGainOverBaseline(g.get("min_gain_over_baseline").asDouble(), e, refused);
        }
        if (g.has("max_eval_loss_ratio")) {
            double max = g.get("max_eval_loss_ratio").asDouble();
            if (!(e.lossRatio() <= max)) {
                refused.add(String.format(Locale.ROOT, "validation loss ratio adapter/base %.4f > max_eval_loss_ratio %.4f",
                        e.lossRatio(), max));
            }
        }
        if (g.has("max_forgetting")) {
            maxForgetting(g.get("max_forgetting").asDouble(), e, refused);
        }
        return refused;
    }

    private static void minEvalAccuracy(double min, JobReport.Evaluation e, List<String> refused) {
        Double accuracy = e.adapter().accuracy();
        if (accuracy == null || accuracy < min) {
            refused.add(String.format(Locale.ROOT, "validation accuracy %.4f < min_eval_accuracy %.4f",
                    accuracy == null ? Double.NaN : accuracy, min));
        }
    }

    private static void minGainOverBaseline(double min, JobReport.Evaluation e, List<String> refused) {
        if (e.bagOfWords() == null) {
            refused.add("the bag-of-words baseline could not be fitted (the training set has one label); min_gain_over_baseline"
                    + " cannot be checked");
            return;
        }
        double adapter = e.adapter().accuracy();
        double baseline = e.bagOfWords().accuracy();
        if (!(adapter - baseline >= min)) {
            refused.add(String.format(Locale.ROOT,
                    "validation accuracy %.4f - bag-of-words baseline %.4f = %.4f < min_gain_over_baseline %.4f",
                    adapter, baseline, adapter - baseline, min));
        }
    }

    private static void maxForgetting(double max, JobReport.Evaluation e, List<String> refused) {
        Double delta = e.diagnostics() == null ? null : e.diagnostics().forgettingDelta();
        if (delta == null) {
            refused.add("forgetting was not measured (see the report's forgetting and diagnostics_error); max_forgetting"
                    + " cannot be checked");
        } else if (!(delta <= max)) {
            refused.add(String.format(Locale.ROOT, "forgetting: reference loss adapter - base %.4f > max_forgetting %.4f",
                    delta, max));
        }
    }

    /** The report's {@code publish_if} section: the gate as stored, whether it passed, and why not. */
    static ObjectNode reportSection(JobRecord job, List<String> refused) {
        ObjectNode g = JobReport.JSON.createObjectNode();
        if (job.publishIfJson() != null) {
            g.set("gate", readJson(job.publishIfJson()));
        }
        g.put("passed", refused.isEmpty());
        g.set("reasons", JobReport.JSON.valueToTree(refused));
        return g;
    }

    // ---------------------------------------------------------------------------------------------
    // Publication and activation

    /**
     * Writes the run's adapter as a PEFT folder in the job's folder, registers it as a new version
     * of the job's suffix, deletes the folder, and with {@code activate} moves the alias to it.
     */
    Published publish(JobRecord job, TrainingRun run) {
        Path folder = adapterFolder(job);
        DurableFiles.deleteRecursively(folder);
        run.saveAdapter(folder);
        AdapterVersion v = register(job, folder);
        DurableFiles.deleteRecursively(folder);
        String message = "Published adapter " + v.id();
        if (job.activate()) {
            registry.setActive(job.tenant(), job.suffix(), v.version());
            message += "; '" + job.suffix() + "' now serves version " + v.version();
        }
        return new Published(v.id(), message);
    }

    /** Deletes what a cancelled job may have left of its adapter folder. */
    void discard(JobRecord job) {
        DurableFiles.deleteRecursively(adapterFolder(job));
    }

    private Path adapterFolder(JobRecord job) {
        return store.jobPath(job.id(), "adapter");
    }

    /**
     * Registers the saved adapter as the job's one version: a previous attempt (killed between
     * publication and the status update) or another replica that published this job already got
     * there, and its version is answered instead (the registry checks the source job in the
     * publishing transaction; a unique index makes it hold across processes).
     */
    private AdapterVersion register(JobRecord job, Path folder) {
        try {
            return registry.register(job.tenant(), job.suffix(), folder.resolve(PeftConfig.FILE_NAME),
                    folder.resolve(LoraAdapter.WEIGHTS_FILE), job.id());
        } catch (LoragateException e) {
            throw new LoragateException(e.kind(), "publishing the adapter failed: " + e.getMessage(), e);
        }
    }

    private static JsonNode readJson(String s) {
        try {
            return JobReport.JSON.readTree(s);
        } catch (JsonProcessingException e) {
            throw new LoragateException(Kind.INTERNAL, "stored JSON is unreadable: " + e.getOriginalMessage(), e);
        }
    }
}
