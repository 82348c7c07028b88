package io.loragate.training.jobs;

import io.loragate.adapter.AdapterMethods;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.adapter.TrainableLora;
import io.loragate.common.LoragateException;
import io.loragate.model.AdapterHook;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.model.TextTokenizer;
import io.loragate.registry.JobEventDraft;
import io.loragate.registry.JobLeases;
import io.loragate.registry.JobRecord;
import io.loragate.registry.JobStore;
import io.loragate.training.data.ClassificationExample;
import io.loragate.training.trainer.BagOfWordsBaseline;
import io.loragate.training.trainer.CausalLmTrainer;
import io.loragate.training.trainer.ClassificationTrainer;
import io.loragate.training.trainer.EvalMetrics;
import io.loragate.training.trainer.StepMetrics;
import io.loragate.training.trainer.TrainingConfig;
import io.loragate.training.trainer.TrainingResult;
import io.loragate.training.trainer.TrainingRun;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * Runs one job on a trainer thread: loads and splits its data, builds the {@link TrainingRun},
 * resumes from the last complete checkpoint, trains with a checkpoint every
 * {@code checkpoint_every_steps} and after every evaluation, then evaluates base vs adapter and
 * hands the adapter to its {@link Publication}. Cancellation stops at the next step and publishes
 * nothing; a shutdown checkpoints the current step and puts the job back in the queue.
 *
 * <p>The job is this replica's only while it holds the job's lease ({@link JobLeases}): the steps'
 * events and progress are written together at most every {@code loragate.jobs.step-write-interval}
 * ({@link StepJournal}; and before every evaluation's checkpoint, every checkpoint, a stop and the end) by a write that
 * only an owner can make and that reads the cancel flag, which any replica may set; publication
 * renews the lease first. A runner that finds another owner stops where it is, writes no event,
 * checkpoint, status or adapter: the other replica resumes the job from its last checkpoint.
 * {@link StepTiming} measures where the step time goes (the report's {@code timing}).
 *
 * <p>With {@code epochs: "auto"} the epochs are resolved from the training examples here, and the
 * job keeps the weights of its best evaluation (lowest validation loss), held in memory or, after a
 * restart, read back from that evaluation's checkpoint while it is still kept.
 */
final class JobRunner {

    private static final Logger LOG = Logger.getLogger(JobRunner.class);

    private final JobContext context;
    private final JobStore store;
    private final JobRecord job;
    private volatile TrainingRun run;
    private volatile boolean cancelled;
    private volatile boolean shutdown;
    private volatile boolean earlyStopped;
    private volatile boolean leaseLost;
    /** The epochs the run takes ({@link JobSpec.Hyper#epochsFor}). */
    private int epochs;
    /** epochs "auto": the state after the best evaluation so far, its step and optimizer steps (null: none in memory). */
    private Map<String, float[]> bestState;
    private long bestStateStep;
    private long bestOptimizerSteps;
    /** Step events not yet written. */
    private final StepJournal journal;
    private final StepTiming timing = new StepTiming();
    /** When the last step callback returned (the next step's compute starts there). */
    private long lastStepEnd;

    JobRunner(JobContext context, JobRecord job) {
        this.context = context;
        this.store = context.store();
        this.job = job;
        this.cancelled = job.cancelRequested();
        this.journal = new StepJournal(context.stepWriteInterval());
    }

    void cancel() {
        cancelled = true;
        TrainingRun r = run;
        if (r != null) {
            r.requestStop();
        }
    }

    /** Another replica took the job over: stop without writing anything more. */
    void leaseLost() {
        if (!leaseLost && run != null) {
            LOG.warnf("job %s: replica %s lost its lease (another replica took the job over); stopping", job.id(),
                    context.replica());
        }
        leaseLost = true;
        TrainingRun r = run;
        if (r != null) {
            r.requestStop();
        }
    }

    String jobId() {
        return job.id();
    }

    void stopForShutdown() {
        shutdown = true;
        TrainingRun r = run;
        if (r != null) {
            r.requestStop();
        }
    }

    void run() {
        try {
            if (cancelled) {
                finishCancelled();
                return;
            }
            JobSpec spec = JobSpec.fromJson(job.methodJson());
            JobData data = JobData.load(job, spec, context.datasets(), context.resident());
            try (Built built = newRun(spec, data)) {
                TrainingRun r = built.run();
                run = r;
                if (cancelled || shutdown) {
                    r.requestStop();
                }
                train(r, spec, data);
            }
        } catch (LoragateException e) {
            fail(e.getMessage());
        } catch (RuntimeException | Error e) {
            LOG.errorf(e, "fine-tuning job %s failed", job.id());
            fail("internal error: " + e);
        } finally {
            run = null;
        }
    }

    private void fail(String reason) {
        if (leaseLost) {
            LOG.warnf("fine-tuning job %s stopped here after losing its lease: %s", job.id(), reason);
            return;
        }
        LOG.warnf("fine-tuning job %s failed: %s", job.id(), reason);
        store.transitionOwned(job.id(), context.replica(), JobStore.FAILED, "error", reason, reason, null);
    }

    /**
     * Renews the lease and answers whether this replica still owns the job, from the database (a
     * cancel asked on any replica is seen here too). Losing it stops the run.
     */
    private boolean stillOwned() {
        if (leaseLost) {
            return false;
        }
        return follow(context.leases().renew(job.id(), context.replica(), context.leaseDuration()));
    }

    /** Acts on what a lease write answered: false when the lease is lost; a requested cancel starts here. */
    private boolean follow(JobLeases.Lease lease) {
        if (!lease.held()) {
            leaseLost();
            return false;
        }
        if (lease.cancelRequested() && !cancelled) {
            cancel();
        }
        return true;
    }

    // ---------------------------------------------------------------------------------------------
    // The run

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
        int trainExamples = spec.type().equals(JobSpec.CLASSIFICATION) ? data.trainLabeled.size() : data.train.size();
        epochs = spec.hyperparameters().epochsFor(trainExamples);
        TrainingConfig config = spec.trainingConfig(job.seed(), epochs);
        return spec.type().equals(JobSpec.CLASSIFICATION) ? classificationRun(spec, data, config) : causalRun(spec, data, config);
    }

    private Built classificationRun(JobSpec spec, JobData data, TrainingConfig config) {
        BaseModel base = context.resident().model();
        TextTokenizer tok = context.resident().tokenizer();
        List<ClassificationExample> train = data.trainTokens;
        List<ClassificationExample> validation = data.validationTokens;
        TrainableLora adapter = AdapterMethods.create(base, tok, context.resident().id(), spec.adapter().options(), "SEQ_CLS", job.seed(),
                ClassificationTrainer.headSpec(base, ClassificationTrainer.labelSet(train)));
        try {
            adapter.note(io.loragate.model.InputPooling.CONFIG_KEY, data.inputs.pooling().wireName()); // serving reads as training did
            return new Built(new ClassificationTrainer(base, adapter, config, train, validation, data.inputs), adapter);
        } catch (RuntimeException e) {
            adapter.close();
            throw e;
        }
    }

    private Built causalRun(JobSpec spec, JobData data, TrainingConfig config) {
        BaseModel base = context.resident().model();
        TrainableLora lora = AdapterMethods.create(base, context.resident().tokenizer(), context.resident().id(), spec.adapter().options(),
                "CAUSAL_LM", job.seed(), null);
        try {
            return new Built(new CausalLmTrainer((CausalModel) base, lora, config, data.train, data.validation), lora);
        } catch (RuntimeException e) {
            lora.close();
            throw e;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Training

    private void train(TrainingRun r, JobSpec spec, JobData data) {
        JobProgress progress = resume(r, spec, data);
        store.progress(job.id(), progress.startStep(), r.totalSteps(), progress.tokens());
        TrainingGate gate = context.gate();
        lastStepEnd = System.nanoTime();
        TrainingResult result = r.train(m -> onStep(r, spec.hyperparameters(), progress, m, gate), progress.startStep());
        writeSteps(r, progress, result.steps()); // what a stop left in the journal
        if (leaseLost) {
            store.event(job.id(), "warn", "message", "Replica " + context.replica() + " stopped at step " + result.steps()
                    + ": another replica took the job over; nothing was published here", null);
            return;
        }
        if (cancelled) {
            finishCancelled();
            return;
        }
        if (shutdown && result.stopped() && !earlyStopped) {
            store.transitionOwned(job.id(), context.replica(), JobStore.QUEUED, "warn", "The server is shutting down; the"
                    + " job resumes from its checkpoint at step " + result.steps() + " at the next start (or on another replica)",
                    null, null);
            return;
        }
        finish(r, spec, data, result, progress);
    }

    /** Restores the last complete checkpoint, if any, and says so (or what the job trains) in an event. */
    private JobProgress resume(TrainingRun r, JobSpec spec, JobData data) {
        JobCheckpoints checkpoints = context.checkpoints();
        checkpoints.sweep(job.id());
        long step = checkpoints.latestStep(job.id());
        if (step == 0) {
            store.event(job.id(), "info", "message", "Training " + spec.type() + " LoRA r=" + spec.adapter().r() + " on "
                    + data.describe() + ": " + r.totalSteps() + " steps, " + epochsText(spec.hyperparameters(), r.totalSteps())
                    + ", on replica " + context.replica(), null);
            return JobProgress.fresh();
        }
        CheckpointFiles.Loaded c = checkpoints.read(job.id(), step);
        r.restore(c.state(), JobProgress.optimizerSteps(c.meta(), step));
        store.event(job.id(), "info", "message", "Resumed from the checkpoint at step " + step + " of " + r.totalSteps()
                + " on replica " + context.replica() + " (attempt " + job.attempts() + ")", null);
        return JobProgress.resumed(step, c.meta());
    }

    /**
     * After each optimizer step, on the training thread: evaluates when due, records the step's
     * metrics (written with the steps before it when {@link StepJournal#due}, and always before a
     * checkpoint), checkpoints, stops early when validation stopped improving, and waits for its
     * turn while inference is busy.
     */
    private void onStep(TrainingRun r, JobSpec.Hyper h, JobProgress progress, StepMetrics m, TrainingGate gate) {
        long entered = System.nanoTime();
        long compute = entered - lastStepEnd;
        progress.addTokens(m.tokens());
        long step = m.step();
        long total = r.totalSteps();
        double eta = progress.etaSeconds(step, total);
        EvalMetrics eval = null;
        long evaluation = 0;
        if (evaluationDue(h, step, total, epochs)) {
            eval = r.evaluateAdapter();
            evaluation = System.nanoTime() - entered;
            timing.evaluation(evaluation);
        }
        boolean improved = eval != null && progress.recordEvaluation(step, eval.loss());
        String metricsJson = JobReport.json(stepMetrics(m, total, eta, eval));
        journal.add(new JobEventDraft(Instant.now(), "info", "metrics", String.format(Locale.ROOT,
                "Step %d/%d: training loss=%.4f%s", step, total, m.loss(),
                eval == null ? "" : String.format(Locale.ROOT, ", validation loss=%.4f", eval.loss())), metricsJson));
        boolean stopEarly = eval != null && h.earlyStoppingPatience() > 0
                && progress.evalsWithoutImprovement() >= h.earlyStoppingPatience() && step < total;
        boolean checkpointDue = eval != null || step % h.checkpointEverySteps() == 0 || shutdown;
        if (checkpointDue || stopEarly || step == total || cancelled || journal.due()) {
            if (!writeSteps(r, progress, step)) {
                return; // another replica resumes from the last checkpoint: write none over it
            }
        }
        if (checkpointDue) {
            long t = System.nanoTime();
            Map<String, float[]> state = r.state();
            if (improved && h.autoEpochs()) {
                bestState = state;
                bestStateStep = step;
                bestOptimizerSteps = r.optimizerSteps();
            }
            context.checkpoints().write(job.id(), step, state, progress.checkpointMeta(r.optimizerSteps()), metricsJson);
            timing.checkpoint(System.nanoTime() - t);
        }
        if (stopEarly) {
            earlyStopped = true;
            store.event(job.id(), "info", "message", "Early stopping at step " + step + ": no validation improvement in "
                    + progress.evalsWithoutImprovement() + " evaluations", null);
            r.requestStop();
        }
        long bookkept = System.nanoTime();
        timing.step(compute, bookkept - entered - evaluation);
        if (!cancelled && !shutdown && !earlyStopped && step < total) {
            awaitTurn(r, gate);
        }
        lastStepEnd = System.nanoTime();
        timing.gateWait(lastStepEnd - bookkept);
    }

    /**
     * Writes the journal's events and the progress after {@code step} if this replica still owns the
     * job (otherwise nothing: the run stops), and sees a cancel asked on any replica. Answers
     * whether it still owns the job.
     */
    private boolean writeSteps(TrainingRun r, JobProgress progress, long step) {
        if (leaseLost) {
            return false;
        }
        long t = System.nanoTime();
        long total = r.totalSteps();
        double eta = progress.etaSeconds(step, total);
        // OpenAI's estimated_finish: the remaining steps at this attempt's mean pace (evaluations included)
        JobLeases.Lease lease = store.recordSteps(job.id(), context.replica(), journal.drain(), step, total, progress.tokens(),
                Instant.now().plusMillis(Math.round(eta * 1000)));
        timing.databaseWrite(System.nanoTime() - t);
        return follow(lease);
    }

    /** The epochs part of the training message. */
    private String epochsText(JobSpec.Hyper h, long totalSteps) {
        if (!h.autoEpochs()) {
            return epochs + " epochs";
        }
        return String.format(Locale.ROOT, "epochs auto: %d (at least %d steps, %d to %d epochs; evaluation every %d steps,"
                + " early stopping after %d without a lower validation loss, the best evaluation's weights kept)", epochs,
                h.autoMinSteps(), JobSpec.AUTO_MIN_EPOCHS, h.epochs(), h.evaluationInterval(totalSteps, epochs),
                h.earlyStoppingPatience());
    }

    /** Every {@link JobSpec.Hyper#evaluationInterval} steps, and after the last step. */
    private static boolean evaluationDue(JobSpec.Hyper h, long step, long total, int epochs) {
        return step % h.evaluationInterval(total, epochs) == 0 || step == total;
    }

    private static Map<String, Object> stepMetrics(StepMetrics m, long total, double eta, EvalMetrics eval) {
        Map<String, Object> metrics = new LinkedHashMap<>();
        metrics.put("step", m.step());
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
        }
        return metrics;
    }

    /** Waits until serving lets the next step run; an interrupt stops the run as a shutdown does. */
    private void awaitTurn(TrainingRun r, TrainingGate gate) {
        try {
            gate.awaitTurn();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            r.requestStop();
            shutdown = true;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // The end

    private void finishCancelled() {
        context.publication().discard(job);
        store.transitionOwned(job.id(), context.replica(), JobStore.CANCELLED, "info", "Job cancelled; nothing was published",
                null, null);
    }

    /** Evaluation, the diagnostics, the report, the gate, publication and activation. */
    private void finish(TrainingRun r, JobSpec spec, JobData data, TrainingResult result, JobProgress progress) {
        if (!stillOwned()) {
            return;
        }
        Long kept = keepBest(r, spec, progress, result.steps());
        JobReport.Evaluation evaluation = evaluate(r, spec, data);
        List<String> refused = Publication.refusals(job, evaluation);
        ObjectNode report = JobReport.of(spec, new JobReport.Run(result.steps(), earlyStopped, epochs, kept), evaluation);
        report.set("inputs", data.inputsReport());
        report.set("publish_if", Publication.reportSection(job, refused));
        report.set("timing", timing.json());
        store.setReport(job.id(), report.toString());
        store.event(job.id(), "info", "metrics", JobReport.evaluationMessage(evaluation),
                JobReport.evaluationData(result.steps(), r.totalSteps(), evaluation, report).toString());
        if (cancelled) {
            finishCancelled();
            return;
        }
        if (!stillOwned()) {
            return; // the evaluation outlasted the lease and another replica took over: it publishes
        }
        if (!refused.isEmpty()) {
            store.transitionOwned(job.id(), context.replica(), JobStore.SUCCEEDED, "warn", "Not published: "
                    + String.join("; ", refused), null, null);
            return;
        }
        // once per job id whoever gets here: a replica that took over meanwhile gets this same version
        Publication.Published published = context.publication().publish(job, r);
        if (!store.transitionOwned(job.id(), context.replica(), JobStore.SUCCEEDED, "info", published.message(), null,
                published.versionId())) {
            LOG.warnf("job %s published %s but was no longer running here (cancelled, or taken over by another replica)",
                    job.id(), published.versionId());
        }
    }

    /**
     * epochs "auto": puts back the weights of the best evaluation when training went on past it (from
     * memory, or after a restart from its checkpoint if still kept); answers the step whose weights
     * the job keeps (null: not auto, or no evaluation).
     */
    private Long keepBest(TrainingRun r, JobSpec spec, JobProgress progress, long steps) {
        long best = progress.bestStep();
        if (!spec.hyperparameters().autoEpochs() || best == 0 || best == steps) {
            return spec.hyperparameters().autoEpochs() && best > 0 ? best : null;
        }
        Map<String, float[]> state = bestState;
        long optimizerSteps = bestOptimizerSteps;
        if (state == null || bestStateStep != best) {
            CheckpointFiles files = context.checkpoints().files(job.id());
            if (!files.exists(best)) {
                store.event(job.id(), "warn", "message", "The checkpoint of the best evaluation (step " + best + ") is no longer"
                        + " kept; the job keeps the weights of step " + steps, null);
                return null;
            }
            CheckpointFiles.Loaded c = files.read(best);
            state = c.state();
            optimizerSteps = JobProgress.optimizerSteps(c.meta(), best);
        }
        r.restore(state, optimizerSteps);
        bestState = null;
        store.event(job.id(), "info", "message", String.format(Locale.ROOT, "Kept the weights of step %d (lowest validation"
                + " loss %.4f); training stopped at step %d", best, progress.bestEvalLoss(), steps), null);
        return best;
    }

    /** Base and adapter on the validation set, the bag-of-words baseline (classification) and the diagnostics. */
    private JobReport.Evaluation evaluate(TrainingRun r, JobSpec spec, JobData data) {
        EvalMetrics base = r.evaluateBase();
        EvalMetrics adapter = r.evaluateAdapter();
        // the obvious baseline, on the same validation data: a model-free classifier of the training texts
        EvalMetrics bagOfWords = spec.type().equals(JobSpec.CLASSIFICATION)
                ? BagOfWordsBaseline.evaluate(data.trainLabeled, data.validationLabeled) : null;
        return new JobReport.Evaluation(base, adapter, bagOfWords, diagnostics(r, spec, data, base, adapter, bagOfWords));
    }

    /**
     * The diagnostics section (never fails the job: an error is reported as {@code diagnostics_error},
     * and a {@code max_forgetting} gate then refuses publication).
     */
    private JobDiagnostics.Outcome diagnostics(TrainingRun r, JobSpec spec, JobData data, EvalMetrics base, EvalMetrics adapter,
            EvalMetrics bagOfWords) {
        JobDiagnostics d = context.diagnostics();
        AdapterHook hook = r.adapterHook();
        if (d == JobDiagnostics.NONE || hook == null) {
            return null;
        }
        List<String> labels = r instanceof ClassificationTrainer c ? c.labels() : List.of();
        try {
            return d.run(new JobDiagnostics.Input(job, spec, hook, labels, data.trainLabeled, data.validationLabeled,
                    data.validation, data.validationSlices, base, adapter, bagOfWords));
        } catch (RuntimeException e) {
            LOG.warnf(e, "diagnostics of job %s failed", job.id());
            ObjectNode n = JobReport.JSON.createObjectNode();
            n.put("diagnostics_error", String.valueOf(e.getMessage()));
            return new JobDiagnostics.Outcome(n, null);
        }
    }
}
