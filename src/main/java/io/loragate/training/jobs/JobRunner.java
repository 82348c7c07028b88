package io.loragate.training.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.adapter.LoraAdapter;
import io.loragate.adapter.PeftConfig;
import io.loragate.adapter.TrainableLora;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.common.LoragateException;
import io.loragate.model.TextTokenizer;
import io.loragate.common.LoragateException.Kind;
import io.loragate.registry.AdapterInfo;
import io.loragate.registry.AdapterRegistry;
import io.loragate.registry.AdapterVersion;
import io.loragate.registry.CheckpointRecord;
import io.loragate.registry.JobRecord;
import io.loragate.registry.JobStore;
import io.loragate.training.data.ClassificationExample;
import io.loragate.training.trainer.BagOfWordsBaseline;
import io.loragate.training.trainer.CausalLmTrainer;
import io.loragate.training.trainer.ClassificationTrainer;
import io.loragate.training.trainer.EvalMetrics;
import io.loragate.training.trainer.TrainingConfig;
import io.loragate.training.trainer.TrainingResult;
import io.loragate.training.trainer.TrainingRun;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jboss.logging.Logger;

/**
 * Runs one job on a trainer thread: loads and splits its data, builds the {@link TrainingRun},
 * resumes from the last complete checkpoint, trains with a checkpoint every
 * {@code checkpoint_every_steps} and after every evaluation, then evaluates base vs adapter,
 * applies the publication gate, publishes the adapter through the registry and (if asked) makes it
 * active. Cancellation stops at the next step and publishes nothing; a shutdown checkpoints the
 * current step and puts the job back in the queue.
 */
final class JobRunner {

    private static final Logger LOG = Logger.getLogger(JobRunner.class);

    private final FineTuningJobs jobs;
    private final JobStore store;
    private final JobRecord job;
    private volatile TrainingRun run;
    private volatile boolean cancelled;
    private volatile boolean shutdown;
    private volatile boolean earlyStopped;

    JobRunner(FineTuningJobs jobs, JobRecord job) {
        this.jobs = jobs;
        this.store = jobs.store();
        this.job = job;
        this.cancelled = job.cancelRequested();
    }

    void cancel() {
        cancelled = true;
        TrainingRun r = run;
        if (r != null) {
            r.requestStop();
        }
    }

    void stopForShutdown() {
        shutdown = true;
        TrainingRun r = run;
        if (r != null) {
            r.requestStop();
        }
    }

    void run() {
        String id = job.id();
        try {
            if (cancelled) {
                finishCancelled();
                return;
            }
            JobSpec spec = JobSpec.fromJson(job.methodJson());
            JobData data = JobData.load(job, spec, jobs.datasets(), jobs.resident());
            try (Built built = newRun(spec, data)) {
                TrainingRun r = built.run();
                run = r;
                if (cancelled || shutdown) {
                    r.requestStop();
                }
                train(r, spec, data);
            }
        } catch (LoragateException e) {
            jobs.fail(id, Set.of(JobStore.RUNNING), e.getMessage());
        } catch (RuntimeException | Error e) {
            LOG.errorf(e, "fine-tuning job %s failed", id);
            jobs.fail(id, Set.of(JobStore.RUNNING), "internal error: " + e);
        } finally {
            run = null;
        }
    }

    /** A run and the adapter it trains (null when the run owns it). */
    private record Built(TrainingRun run, TrainableLora lora) implements AutoCloseable {
        @Override
        public void close() {
            try {
                run.close();
            } finally {
                if (lora != null) {
                    lora.close();
                }
            }
        }
    }

    private Built newRun(JobSpec spec, JobData data) {
        BaseModel base = jobs.resident().model();
        long seed = job.seed();
        JobSpec.Adapter a = spec.adapter();
        boolean classification = spec.type().equals(JobSpec.CLASSIFICATION);
        TrainingConfig config = spec.trainingConfig(seed);
        if (classification) {
            int maxLength = data.maxLength;
            TextTokenizer tok = jobs.resident().tokenizer();
            List<ClassificationExample> train = data.trainLabeled.stream()
                    .map(e -> ClassificationExample.of(tok, e.text(), e.label(), maxLength)).toList();
            List<ClassificationExample> validation = data.validationLabeled.stream()
                    .map(e -> ClassificationExample.of(tok, e.text(), e.label(), maxLength)).toList();
            TrainableLora adapter = AdapterMethods.create(base, tok, jobs.resident().id(), a, "SEQ_CLS", seed,
                    ClassificationTrainer.headSpec(base, ClassificationTrainer.labelSet(train)));
            try {
                return new Built(new ClassificationTrainer(base, adapter, config, train, validation), adapter);
            } catch (RuntimeException e) {
                adapter.close();
                throw e;
            }
        }
        TrainableLora lora = AdapterMethods.create(base, jobs.resident().tokenizer(), jobs.resident().id(), a, "CAUSAL_LM",
                seed, null);
        try {
            return new Built(new CausalLmTrainer((CausalModel) base, lora, config, data.train, data.validation), lora);
        } catch (RuntimeException e) {
            lora.close();
            throw e;
        }
    }

    /** Early-stopping and progress state that a checkpoint carries. */
    private static final class Progress {
        long tokens;
        double bestEval = Double.POSITIVE_INFINITY;
        int evalsWithoutImprovement;
        long startNanos = System.nanoTime();
        long startStep;
    }

    private void train(TrainingRun r, JobSpec spec, JobData data) {
        String id = job.id();
        Path dir = jobs.checkpointDir(id);
        CheckpointFiles.sweep(dir);
        Progress p = new Progress();
        long total = r.totalSteps();
        long resumeFrom = jobs.latestCheckpointStep(id);
        if (resumeFrom > 0) {
            CheckpointFiles.Loaded c = CheckpointFiles.read(dir, resumeFrom);
            r.restore(c.state(), ((Number) c.meta().getOrDefault("optimizer_steps", resumeFrom)).longValue());
            p.tokens = ((Number) c.meta().getOrDefault("trained_tokens", 0L)).longValue();
            p.bestEval = ((Number) c.meta().getOrDefault("best_eval_loss", Double.POSITIVE_INFINITY)).doubleValue();
            p.evalsWithoutImprovement = ((Number) c.meta().getOrDefault("evals_without_improvement", 0)).intValue();
            store.event(id, "info", "message", "Resumed from the checkpoint at step " + resumeFrom + " of " + total, null);
        } else {
            store.event(id, "info", "message", "Training " + spec.type() + " LoRA r=" + spec.adapter().r() + " on "
                    + data.describe() + ": " + total + " steps", null);
        }
        p.startStep = resumeFrom;
        store.progress(id, resumeFrom, total, p.tokens);
        JobSpec.Hyper h = spec.hyperparameters();
        long stepsPerEpoch = Math.max(1, total / h.epochs());
        TrainingGate gate = jobs.gate();
        TrainingResult result = r.train(m -> {
            p.tokens += m.tokens();
            long step = m.step();
            double elapsed = (System.nanoTime() - p.startNanos) / 1e9;
            double eta = (total - step) * elapsed / Math.max(1, step - p.startStep);
            boolean evalNow = h.evalEverySteps() > 0 ? step % h.evalEverySteps() == 0 || step == total
                    : step % stepsPerEpoch == 0 || step == total;
            EvalMetrics eval = evalNow ? r.evaluateAdapter() : null;
            Map<String, Object> metrics = new LinkedHashMap<>();
            metrics.put("step", step);
            metrics.put("total_steps", total);
            metrics.put("epoch", m.epoch());
            metrics.put("train_loss", m.loss());
            metrics.put("learning_rate", m.learningRate());
            metrics.put("grad_norm", m.gradNorm());
            metrics.put("tokens_per_second", m.tokensPerSecond());
            metrics.put("eta_seconds", eta);
            if (eval != null) {
                metrics.put("eval_loss", eval.loss());
                metrics.put("eval_accuracy", eval.accuracy());
                if (eval.loss() < p.bestEval) {
                    p.bestEval = eval.loss();
                    p.evalsWithoutImprovement = 0;
                } else {
                    p.evalsWithoutImprovement++;
                }
            }
            String json = FineTuningJobs.json(metrics);
            store.event(id, "info", "metrics", String.format(java.util.Locale.ROOT, "Step %d/%d: training loss=%.4f%s", step,
                    total, m.loss(), eval == null ? "" : String.format(java.util.Locale.ROOT, ", validation loss=%.4f", eval.loss())),
                    json);
            // OpenAI's estimated_finish: the remaining steps at this attempt's mean pace (evaluations included)
            store.progress(id, step, total, p.tokens, java.time.Instant.now().plusMillis(Math.round(eta * 1000)));
            boolean stopEarly = eval != null && h.earlyStoppingPatience() > 0 && p.evalsWithoutImprovement >= h.earlyStoppingPatience()
                    && step < total;
            if (eval != null || step % h.checkpointEverySteps() == 0 || shutdown) {
                checkpoint(r, step, p, json);
            }
            if (stopEarly) {
                earlyStopped = true;
                store.event(id, "info", "message", "Early stopping at step " + step + ": no validation improvement in "
                        + p.evalsWithoutImprovement + " evaluations", null);
                r.requestStop();
            }
            if (!cancelled && !shutdown && !earlyStopped && step < total) {
                try {
                    gate.awaitTurn();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    r.requestStop();
                    shutdown = true;
                }
            }
        }, resumeFrom);
        if (cancelled) {
            finishCancelled();
            return;
        }
        if (shutdown && result.stopped() && !earlyStopped) {
            store.transition(id, Set.of(JobStore.RUNNING), JobStore.QUEUED, "warn", "The server is shutting down; the job"
                    + " resumes from its checkpoint at step " + result.steps() + " at the next start", null, null);
            return;
        }
        finish(r, spec, data, result);
    }

    private void checkpoint(TrainingRun r, long step, Progress p, String metricsJson) {
        String id = job.id();
        Path dir = jobs.checkpointDir(id);
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("optimizer_steps", r.optimizerSteps());
        meta.put("trained_tokens", p.tokens);
        if (Double.isFinite(p.bestEval)) {
            meta.put("best_eval_loss", p.bestEval);
        }
        meta.put("evals_without_improvement", p.evalsWithoutImprovement);
        CheckpointFiles.write(dir, step, r.state(), meta);
        store.addCheckpoint(id, step, metricsJson);
        int keep = Math.max(1, jobs.config().jobs().keepCheckpoints());
        int kept = 0;
        for (CheckpointRecord c : store.checkpoints(id)) {
            if (!c.hasState()) {
                continue;
            }
            if (++kept > keep) {
                CheckpointFiles.delete(dir, c.step());
                store.checkpointPruned(id, c.step());
            }
        }
    }

    private void finishCancelled() {
        String id = job.id();
        CheckpointFiles.deleteRecursively(jobs.store().jobPath(id, "adapter"));
        store.transition(id, Set.of(JobStore.RUNNING), JobStore.CANCELLED, "info", "Job cancelled; nothing was published",
                null, null);
    }

    /** Evaluation, the diagnostics, the gate, publication and activation. */
    private void finish(TrainingRun r, JobSpec spec, JobData data, TrainingResult result) {
        String id = job.id();
        EvalMetrics base = r.evaluateBase();
        EvalMetrics adapter = r.evaluateAdapter();
        // the obvious baseline, on the same validation data: a model-free classifier of the training texts
        EvalMetrics bagOfWords = spec.type().equals(JobSpec.CLASSIFICATION)
                ? BagOfWordsBaseline.evaluate(data.trainLabeled, data.validationLabeled) : null;
        JobDiagnostics.Outcome diag = diagnostics(r, spec, data, base, adapter, bagOfWords);
        ObjectNode report = FineTuningJobs.JSON.createObjectNode();
        report.put("task", spec.type());
        report.put("validation_examples", adapter.examples());
        report.put("steps", result.steps());
        report.put("early_stopped", earlyStopped);
        report.set("base", metricsJson(base));
        if (diag != null && diag.fields().has("base_probe")) {
            report.set("base_probe", diag.fields().get("base_probe"));
        }
        report.set("adapter", metricsJson(adapter));
        if (bagOfWords != null) {
            report.set("bag_of_words", metricsJson(bagOfWords));
            report.put("gain_over_baseline", adapter.accuracy() - bagOfWords.accuracy());
        }
        double ratio = adapter.loss() / base.loss();
        if (Double.isFinite(ratio)) {
            report.put("eval_loss_ratio", ratio);
        }
        if (diag != null) {
            diag.fields().fields().forEachRemaining(e -> {
                if (!report.has(e.getKey())) {
                    report.set(e.getKey(), e.getValue());
                }
            });
        }
        List<String> refused = gate(adapter, ratio, diag, bagOfWords);
        ObjectNode g = report.putObject("publish_if");
        if (job.publishIfJson() != null) {
            g.set("gate", readJson(job.publishIfJson()));
        }
        g.put("passed", refused.isEmpty());
        g.set("reasons", FineTuningJobs.JSON.valueToTree(refused));
        store.setReport(id, report.toString());
        store.event(id, "info", "metrics", String.format(java.util.Locale.ROOT, "Evaluation: base loss=%.4f, adapter loss=%.4f%s",
                base.loss(), adapter.loss(), adapter.accuracy() == null ? ""
                        : String.format(java.util.Locale.ROOT, ", base accuracy=%.3f, adapter accuracy=%.3f", base.accuracy(),
                                adapter.accuracy())), evaluationData(r, result, base, adapter, report).toString());
        if (cancelled) {
            finishCancelled();
            return;
        }
        if (!refused.isEmpty()) {
            store.transition(id, Set.of(JobStore.RUNNING), JobStore.SUCCEEDED, "warn", "Not published: "
                    + String.join("; ", refused), null, null);
            return;
        }
        Path folder = jobs.store().jobPath(id, "adapter");
        CheckpointFiles.deleteRecursively(folder);
        r.saveAdapter(folder);
        AdapterVersion v = publish(folder);
        CheckpointFiles.deleteRecursively(folder);
        String published = v.id();
        String activeNote = "";
        if (job.activate()) {
            jobs.registry().setActive(job.tenant(), job.suffix(), v.version());
            activeNote = "; '" + job.suffix() + "' now serves version " + v.version();
        }
        if (!store.transition(id, Set.of(JobStore.RUNNING), JobStore.SUCCEEDED, "info", "Published adapter " + published
                + activeNote, null, published)) {
            LOG.warnf("job %s published %s but was no longer running", id, published);
        }
    }

    /**
     * Registers the saved adapter, unless a previous attempt of this job (killed between
     * publication and the status update) already did: the same bytes under the same name.
     */
    private AdapterVersion publish(Path folder) {
        AdapterRegistry registry = jobs.registry();
        String sha = AdapterRegistry.sha256(folder.resolve(LoraAdapter.WEIGHTS_FILE));
        if (job.attempts() > 1) {
            try {
                AdapterInfo info = registry.get(job.tenant(), job.suffix());
                for (AdapterVersion v : info.versions()) {
                    if (v.sha256().equals(sha) && job.created() != null && !v.createdAt().isBefore(job.created())) {
                        return v;
                    }
                }
            } catch (LoragateException e) {
                if (e.kind() != Kind.NOT_FOUND) {
                    throw e;
                }
            }
        }
        try {
            return registry.register(job.tenant(), job.suffix(), folder.resolve(PeftConfig.FILE_NAME),
                    folder.resolve(LoraAdapter.WEIGHTS_FILE));
        } catch (LoragateException e) {
            throw new LoragateException(e.kind(), "publishing the adapter failed: " + e.getMessage(), e);
        }
    }

    /**
     * The diagnostics section (never fails the job: an error is reported as {@code diagnostics_error},
     * and a {@code max_forgetting} gate then refuses publication).
     */
    private JobDiagnostics.Outcome diagnostics(TrainingRun r, JobSpec spec, JobData data, EvalMetrics base, EvalMetrics adapter,
            EvalMetrics bagOfWords) {
        JobDiagnostics d = jobs.diagnostics();
        io.loragate.model.AdapterHook hook = r.adapterHook();
        if (d == JobDiagnostics.NONE || hook == null) {
            return null;
        }
        List<String> labels = r instanceof ClassificationTrainer c ? c.labels() : List.of();
        try {
            return d.run(new JobDiagnostics.Input(job, spec, hook, labels, data.trainLabeled, data.validationLabeled,
                    data.validation, data.validationSlices, base, adapter, bagOfWords));
        } catch (RuntimeException e) {
            LOG.warnf(e, "diagnostics of job %s failed", job.id());
            ObjectNode n = FineTuningJobs.JSON.createObjectNode();
            n.put("diagnostics_error", String.valueOf(e.getMessage()));
            return new JobDiagnostics.Outcome(n, null);
        }
    }

    private List<String> gate(EvalMetrics adapter, double ratio, JobDiagnostics.Outcome diag, EvalMetrics bagOfWords) {
        List<String> refused = new ArrayList<>();
        if (job.publishIfJson() == null) {
            return refused;
        }
        JsonNode g = readJson(job.publishIfJson());
        if (g.has("min_eval_accuracy")) {
            double min = g.get("min_eval_accuracy").asDouble();
            if (adapter.accuracy() == null || adapter.accuracy() < min) {
                refused.add(String.format(java.util.Locale.ROOT, "validation accuracy %.4f < min_eval_accuracy %.4f",
                        adapter.accuracy() == null ? Double.NaN : adapter.accuracy(), min));
            }
        }
        if (g.has("min_gain_over_baseline")) {
            double min = g.get("min_gain_over_baseline").asDouble();
            if (bagOfWords == null) {
                refused.add("the bag-of-words baseline could not be fitted (the training set has one label); min_gain_over_baseline"
                        + " cannot be checked");
            } else if (!(adapter.accuracy() - bagOfWords.accuracy() >= min)) {
                refused.add(String.format(java.util.Locale.ROOT,
                        "validation accuracy %.4f - bag-of-words baseline %.4f = %.4f < min_gain_over_baseline %.4f",
                        adapter.accuracy(), bagOfWords.accuracy(), adapter.accuracy() - bagOfWords.accuracy(), min));
            }
        }
        if (g.has("max_eval_loss_ratio")) {
            double max = g.get("max_eval_loss_ratio").asDouble();
            if (!(ratio <= max)) {
                refused.add(String.format(java.util.Locale.ROOT, "validation loss ratio adapter/base %.4f > max_eval_loss_ratio %.4f",
                        ratio, max));
            }
        }
        if (g.has("max_forgetting")) {
            double max = g.get("max_forgetting").asDouble();
            Double delta = diag == null ? null : diag.forgettingDelta();
            if (delta == null) {
                refused.add("forgetting was not measured (see the report's forgetting and diagnostics_error); max_forgetting"
                        + " cannot be checked");
            } else if (!(delta <= max)) {
                refused.add(String.format(java.util.Locale.ROOT, "forgetting: reference loss adapter - base %.4f > max_forgetting %.4f",
                        delta, max));
            }
        }
        return refused;
    }

    /**
     * The evaluation event's data: the final point of the curves (step, total_steps, eval_loss,
     * eval_accuracy of the adapter, and the base's), as the step events carry them, then the report.
     */
    private static ObjectNode evaluationData(TrainingRun r, TrainingResult result, EvalMetrics base, EvalMetrics adapter,
            ObjectNode report) {
        ObjectNode d = FineTuningJobs.JSON.createObjectNode();
        d.put("step", result.steps());
        d.put("total_steps", r.totalSteps());
        putFinite(d, "eval_loss", adapter.loss());
        if (adapter.accuracy() != null) {
            d.put("eval_accuracy", adapter.accuracy());
        }
        putFinite(d, "base_eval_loss", base.loss());
        if (base.accuracy() != null) {
            d.put("base_eval_accuracy", base.accuracy());
        }
        report.fields().forEachRemaining(e -> {
            if (!d.has(e.getKey())) {
                d.set(e.getKey(), e.getValue());
            }
        });
        return d;
    }

    private static ObjectNode metricsJson(EvalMetrics m) {
        ObjectNode n = FineTuningJobs.JSON.createObjectNode();
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
            n.set("reliability", FineTuningJobs.JSON.valueToTree(m.reliability()));
        }
        return n;
    }

    private static void putFinite(ObjectNode n, String k, double v) {
        if (Double.isFinite(v)) {
            n.put(k, v);
        }
    }

    private static JsonNode readJson(String s) {
        try {
            return FineTuningJobs.JSON.readTree(s);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new LoragateException(Kind.INTERNAL, "stored JSON is unreadable: " + e.getOriginalMessage(), e);
        }
    }
}
