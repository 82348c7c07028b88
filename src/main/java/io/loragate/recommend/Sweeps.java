package io.loragate.recommend;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.loragate.adapter.LoraAdapter;
import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import io.loragate.model.safetensors.SafetensorsFile;
import io.loragate.model.safetensors.TensorInfo;
import io.loragate.registry.AdapterRegistry;
import io.loragate.registry.AdapterVersion;
import io.loragate.registry.JobRecord;
import io.loragate.registry.JobStore;
import io.loragate.runtime.ResidentModel;
import io.loragate.training.jobs.FineTuningJobs;
import io.loragate.training.jobs.JobRequest;
import io.loragate.training.jobs.JobSpec;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Sweeps: one fine-tuning job per adaptation method on the same data (the first {@code top_k}
 * recommended methods with their recommended settings, or an explicit list), run through the
 * ordinary job queue, compared in one table once every job is final.
 *
 * <p>The sweep row is written first with every method pending; jobs are then created in order
 * ({@link #advance}). A job the tenant's job quota refuses (RESOURCE_EXHAUSTED) stays pending and is
 * created later by a ticker that advances running sweeps every {@link #TICK_SECONDS} s (so a sweep of
 * more methods than {@code loragate.jobs.max-per-tenant} still runs them all, a few at a time); any
 * other refusal is recorded as that method's error and becomes a failed row. The table is computed
 * from the jobs whenever the sweep is read; the status becomes final (and is stored) once every row
 * is final. Everything lives in the database, so a restart loses nothing (the jobs resume on their own).
 */
@ApplicationScoped
public class Sweeps {

    private static final Logger LOG = Logger.getLogger(Sweeps.class);

    public static final String RUNNING = "running";
    public static final String SUCCEEDED = "succeeded";
    public static final String FAILED = "failed";
    public static final String CANCELLED = "cancelled";
    public static final int DEFAULT_TOP_K = 3;
    static final long TICK_SECONDS = 2;

    private final SweepStore store;
    private final Recommendations recommendations;
    private final FineTuningJobs jobs;
    private final AdapterRegistry registry;
    private final ResidentModel resident;
    private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "loragate-sweeps");
        t.setDaemon(true);
        return t;
    });

    public Sweeps(SweepStore store, Recommendations recommendations, FineTuningJobs jobs, AdapterRegistry registry,
            ResidentModel resident) {
        this.store = store;
        this.recommendations = recommendations;
        this.jobs = jobs;
        this.registry = registry;
        this.resident = resident;
    }

    void onStart(@Observes StartupEvent ev) {
        resident.whenLoaded().thenRun(() -> ticker.scheduleWithFixedDelay(this::tick, 0, TICK_SECONDS, TimeUnit.SECONDS));
    }

    void onStop(@Observes ShutdownEvent ev) {
        ticker.shutdownNow();
    }

    /**
     * @param methods         explicit methods (null or empty: the first {@code topK} recommended)
     * @param topK            null: {@value #DEFAULT_TOP_K}
     * @param hyperparameters shared by every job; a method's recommended learning rate applies unless
     *                        this sets one
     * @param suffix          adapter names are {@code <suffix>-<method>}; null: {@code sweep-<8 hex of the id>}
     */
    public record Request(String model, String trainingFile, String validationFile, String task, List<String> methods,
            Integer topK, JobRequest.Hyperparameters hyperparameters, Budget budget, Long seed, String suffix) {
    }

    /** One row of the comparison table; sizes are measured on the published adapter, else estimated. */
    public record Row(String method, String jobId, String status, String error, String fineTunedModel, MethodSettings settings,
            double learningRate, Long trainableParams, Long adapterBytes, String sizes, Double trainSeconds,
            Double estimatedTrainSeconds, Double baseEvalLoss, Double evalLoss, Double evalLossRatio, Double perplexity,
            Double baseAccuracy, Double accuracy, Double macroF1, Double ece, JsonNode forgetting, JsonNode diagnostics,
            Boolean beatsBaseline) {
    }

    /** The bag-of-words baseline's validation metrics, as the jobs' reports give them (the same validation data). */
    public record Baseline(String method, Long examples, Double accuracy, Double macroF1, Double loss) {
    }

    /**
     * A sweep as the API answers it.
     *
     * @param validationExamples the examples each row was evaluated on (null: no report yet)
     * @param baseline           classification: the bag-of-words baseline (null: none reported yet)
     * @param best               the chosen method ({@link SweepSelection}); null while no row has a validation metric
     * @param selection          why {@code best} was chosen
     * @param warnings           no row beats the baseline; the validation set is too small to separate rows
     */
    public record View(String object, String id, String status, long createdAt, Long finishedAt, String model,
            String trainingFile, String validationFile, String task, List<String> methods, List<Row> table, String tableMarkdown,
            Long validationExamples, Baseline baseline, String best, String selection, List<String> warnings) {
    }

    public View create(String tenant, Request request) {
        if (request.model() == null || request.model().isEmpty()) {
            throw Recommendations.bad("model", "'model' (the base model id) is required");
        }
        if (!request.model().equals(resident.id())) {
            throw new LoragateException(Kind.NOT_FOUND, "base model '" + request.model() + "' not found; this server serves '"
                    + resident.id() + "'").withParam("model");
        }
        int topK = request.topK() == null ? DEFAULT_TOP_K : request.topK();
        if (topK < 1 || topK > JobSpec.METHODS.size()) {
            throw Recommendations.bad("top_k", "top_k must be in [1, " + JobSpec.METHODS.size() + "], was " + topK);
        }
        List<String> explicit = new ArrayList<>();
        if (request.methods() != null) {
            for (String m : request.methods()) {
                String n = m == null ? null : m.toLowerCase(Locale.ROOT);
                if (!JobSpec.METHODS.contains(n)) {
                    throw Recommendations.bad("methods", "methods must be among " + JobSpec.METHODS + ", got '" + m + "'");
                }
                explicit.add(n);
            }
            if (new LinkedHashSet<>(explicit).size() != explicit.size()) {
                throw Recommendations.bad("methods", "methods must not repeat a method");
            }
        }
        String id = SweepStore.newId();
        String suffix = request.suffix() == null || request.suffix().isEmpty() ? "sweep-" + id.substring(6, 14) : request.suffix();
        try {
            AdapterRegistry.checkName(suffix + "-prompt_tuning");
        } catch (LoragateException e) {
            throw Recommendations.bad("suffix", "suffix '" + suffix + "' does not make valid adapter names: " + e.getMessage());
        }
        int epochs = request.hyperparameters() == null || request.hyperparameters().epochs() == null ? Recommendations.DEFAULT_EPOCHS
                : request.hyperparameters().epochs();
        Recommendations.Recommendation rec = recommendations.recommend(tenant, new Recommendations.Request(request.trainingFile(),
                request.task(), request.budget(), null, Math.max(1, Math.min(1000, epochs)), null));
        List<SweepRecord.Entry> entries = new ArrayList<>();
        if (explicit.isEmpty()) {
            if (rec.methods().isEmpty()) {
                throw Recommendations.bad("budget", "no method fits the budget: " + rec.excluded().stream()
                        .map(p -> p.method() + " (" + p.reasons().get(0) + ")").toList());
            }
            rec.methods().stream().limit(topK).forEach(p -> entries.add(entry(p, suffix)));
        } else {
            Recommender.Plan plan = new Recommender.Plan(rec.regime(), rec.shift().level(), rec.methods(), rec.excluded());
            for (String m : explicit) {
                Recommender.MethodPlan p = plan.find(m);
                entries.add(p != null ? entry(p, suffix)
                        : new SweepRecord.Entry(m, MethodSettings.of(m), 2e-4, null, suffix + "-" + m, null, null));
            }
        }
        SweepRecord sweep = store.create(id, tenant, Recommendations.JSON.valueToTree(request).toString(),
                Recommendations.json(rec).toString(), entries);
        LOG.infof("created sweep %s for %s: %s on %s", id, tenant, entries.stream().map(SweepRecord.Entry::method).toList(),
                request.trainingFile());
        return view(advance(sweep));
    }

    public View get(String tenant, String id) {
        SweepRecord s = store.get(tenant, id);
        if (RUNNING.equals(s.status())) {
            s = advance(s);
        }
        return view(s);
    }

    public List<View> list(String tenant, int limit) {
        if (limit < 1 || limit > 100) {
            throw Recommendations.bad("limit", "limit must be in [1, 100], was " + limit);
        }
        return store.list(tenant, limit).stream().map(this::view).toList();
    }

    /** Cancels every unfinished job of the sweep; methods not yet started are recorded as cancelled. */
    public View cancel(String tenant, String id) {
        SweepRecord s = store.get(tenant, id);
        synchronized (this) {
            s = store.get(tenant, id);
            List<SweepRecord.Entry> entries = new ArrayList<>();
            for (SweepRecord.Entry e : s.entries()) {
                if (e.pending()) {
                    entries.add(e.withError("cancelled before its job was created"));
                    continue;
                }
                if (e.jobId() != null) {
                    try {
                        jobs.cancel(tenant, e.jobId());
                    } catch (LoragateException ex) {
                        LOG.debugf("sweep %s: cancelling %s: %s", id, e.jobId(), ex.getMessage());
                    }
                }
                entries.add(e);
            }
            store.updateEntries(id, entries);
        }
        return get(tenant, id);
    }

    // ---------------------------------------------------------------------------------------------

    private static SweepRecord.Entry entry(Recommender.MethodPlan p, String suffix) {
        return new SweepRecord.Entry(p.method(), p.settings(), p.learningRate(), p.compute(), suffix + "-" + p.method(), null, null);
    }

    /** Creates the pending jobs in order until the quota refuses one; finishes the sweep once every row is final. */
    synchronized SweepRecord advance(SweepRecord sweep) {
        SweepRecord s = store.get(sweep.tenant(), sweep.id());
        if (!RUNNING.equals(s.status())) {
            return s;
        }
        Request request;
        try {
            request = Recommendations.JSON.readValue(s.requestJson(), Request.class);
        } catch (JsonProcessingException e) {
            throw new LoragateException(Kind.DATA_LOSS, "sweep " + s.id() + ": stored request is unreadable", e);
        }
        String task;
        try {
            task = Recommendations.JSON.readTree(s.recommendationJson()).path("task").asText(null);
        } catch (JsonProcessingException e) {
            throw new LoragateException(Kind.DATA_LOSS, "sweep " + s.id() + ": stored recommendation is unreadable", e);
        }
        List<SweepRecord.Entry> entries = new ArrayList<>(s.entries());
        boolean changed = false;
        for (int i = 0; i < entries.size(); i++) {
            SweepRecord.Entry e = entries.get(i);
            if (!e.pending()) {
                continue;
            }
            try {
                JobRecord j = jobs.create(s.tenant(), jobRequest(request, task, e));
                entries.set(i, e.withJob(j.id()));
                changed = true;
            } catch (LoragateException ex) {
                if (ex.kind() == Kind.RESOURCE_EXHAUSTED) {
                    break; // the tenant's job quota: later
                }
                entries.set(i, e.withError(ex.getMessage()));
                changed = true;
            }
        }
        if (changed) {
            store.updateEntries(s.id(), entries);
        }
        boolean allFinal = true;
        boolean anySucceeded = false;
        boolean anyCancelled = false;
        for (SweepRecord.Entry e : entries) {
            if (e.pending()) {
                allFinal = false;
            } else if (e.jobId() != null) {
                JobRecord j = job(s.tenant(), e.jobId());
                if (j != null && !j.isFinal()) {
                    allFinal = false;
                }
                anySucceeded |= j != null && JobStore.SUCCEEDED.equals(j.status());
                anyCancelled |= j != null && JobStore.CANCELLED.equals(j.status());
            }
        }
        if (allFinal) {
            store.finish(s.id(), anySucceeded ? SUCCEEDED : anyCancelled ? CANCELLED : FAILED);
        }
        return store.get(s.tenant(), s.id());
    }

    private void tick() {
        try {
            for (SweepRecord s : store.running()) {
                advance(s);
            }
        } catch (RuntimeException e) {
            LOG.warnf("advancing sweeps failed: %s", e.getMessage());
        }
    }

    private static JobRequest jobRequest(Request r, String task, SweepRecord.Entry e) {
        JobRequest.Hyperparameters h = r.hyperparameters() == null ? JobRequest.Hyperparameters.DEFAULTS : r.hyperparameters();
        h = new JobRequest.Hyperparameters(h.epochs(), h.batchSize(), h.gradientAccumulationSteps(),
                h.learningRate() == null ? e.learningRate() : h.learningRate(), h.warmupSteps(), h.schedule(), h.weightDecay(),
                h.maxGradNorm(), h.maxSeqLength(), h.evalEverySteps(), h.checkpointEverySteps(), h.earlyStoppingPatience(),
                h.validationSplit(), h.pooling(), h.autoEpochs());
        return new JobRequest(r.model(), r.trainingFile(), r.validationFile(), e.suffix(), r.seed(),
                new JobRequest.Method(task, h, e.settings().toAdapterSettings()), null, false);
    }

    private JobRecord job(String tenant, String id) {
        try {
            return jobs.get(tenant, id);
        } catch (LoragateException e) {
            if (e.kind() == Kind.NOT_FOUND) {
                return null;
            }
            throw e;
        }
    }

    View view(SweepRecord s) {
        Request request;
        JsonNode rec;
        try {
            request = Recommendations.JSON.readValue(s.requestJson(), Request.class);
            rec = Recommendations.JSON.readTree(s.recommendationJson());
        } catch (JsonProcessingException e) {
            throw new LoragateException(Kind.DATA_LOSS, "sweep " + s.id() + ": stored JSON is unreadable", e);
        }
        String task = rec.path("task").asText(null);
        List<Row> rows = new ArrayList<>();
        Baseline baseline = null;
        Long validationExamples = null;
        for (SweepRecord.Entry e : s.entries()) {
            JsonNode report = report(s.tenant(), e);
            rows.add(row(s.tenant(), e, report));
            if (baseline == null) {
                baseline = baseline(report);
            }
            if (validationExamples == null && report != null && report.path("validation_examples").canConvertToLong()
                    && report.path("validation_examples").isIntegralNumber()) {
                validationExamples = report.get("validation_examples").asLong();
            }
        }
        if (baseline != null && baseline.accuracy() != null) {
            double bow = baseline.accuracy();
            rows = rows.stream().map(r -> r.accuracy() == null ? r : withBeats(r, SweepSelection.beats(r.accuracy(), bow))).toList();
        }
        SweepSelection.Choice choice = SweepSelection.choose(candidates(rows), JobSpec.CLASSIFICATION.equals(task),
                validationExamples == null ? null : Math.toIntExact(Math.min(Integer.MAX_VALUE, validationExamples)),
                baseline == null ? null : baseline.accuracy());
        return new View("fine_tuning.sweep", s.id(), s.status(), s.created().getEpochSecond(),
                s.finished() == null ? null : s.finished().getEpochSecond(), request.model(), request.trainingFile(),
                request.validationFile(), task, s.entries().stream().map(SweepRecord.Entry::method).toList(),
                rows, SweepTable.markdown(rows, baseline, choice), validationExamples, baseline, choice.best(), choice.reason(),
                choice.warnings());
    }

    /** The succeeded rows as selection candidates. */
    private static List<SweepSelection.Candidate> candidates(List<Row> rows) {
        return rows.stream().filter(r -> JobStore.SUCCEEDED.equals(r.status()))
                .map(r -> new SweepSelection.Candidate(r.method(), r.accuracy(), r.evalLoss(), r.trainableParams())).toList();
    }

    private static Row withBeats(Row r, boolean beats) {
        return new Row(r.method(), r.jobId(), r.status(), r.error(), r.fineTunedModel(), r.settings(), r.learningRate(),
                r.trainableParams(), r.adapterBytes(), r.sizes(), r.trainSeconds(), r.estimatedTrainSeconds(), r.baseEvalLoss(),
                r.evalLoss(), r.evalLossRatio(), r.perplexity(), r.baseAccuracy(), r.accuracy(), r.macroF1(), r.ece(), r.forgetting(),
                r.diagnostics(), beats);
    }

    /** The report's bag-of-words section as the sweep's baseline; null when it has none. */
    private static Baseline baseline(JsonNode report) {
        JsonNode b = report == null ? null : report.get("bag_of_words");
        if (b == null || !b.isObject()) {
            return null;
        }
        return new Baseline("bag_of_words", b.path("examples").isIntegralNumber() ? b.get("examples").asLong() : null,
                number(b, "accuracy"), number(b, "macro_f1"), number(b, "loss"));
    }

    /** The job's stored report (null: no job, no report yet, or unreadable). */
    private JsonNode report(String tenant, SweepRecord.Entry e) {
        JobRecord j = e.jobId() == null ? null : job(tenant, e.jobId());
        if (j == null || j.reportJson() == null) {
            return null;
        }
        try {
            return Recommendations.JSON.readTree(j.reportJson());
        } catch (JsonProcessingException ex) {
            return null;
        }
    }

    private Row row(String tenant, SweepRecord.Entry e, JsonNode report) {
        Long params = e.estimate() == null ? null : e.estimate().trainableParams();
        Long bytes = e.estimate() == null ? null : e.estimate().adapterBytes();
        Double estSeconds = e.estimate() == null ? null : e.estimate().trainSeconds();
        String sizes = params == null ? null : "estimated";
        if (e.jobId() == null) {
            return new Row(e.method(), null, e.pending() ? "pending" : FAILED, e.error(), null, e.settings(), e.learningRate(), params,
                    bytes, sizes, null, estSeconds, null, null, null, null, null, null, null, null, null, null, null);
        }
        JobRecord j = job(tenant, e.jobId());
        if (j == null) {
            return new Row(e.method(), e.jobId(), FAILED, "the job no longer exists", null, e.settings(), e.learningRate(), params,
                    bytes, sizes, null, estSeconds, null, null, null, null, null, null, null, null, null, null, null);
        }
        Double seconds = null;
        if (j.started() != null) {
            Instant end = j.finished() != null ? j.finished() : Instant.now();
            seconds = Duration.between(j.started(), end).toMillis() / 1000.0;
        }
        if (j.fineTunedModel() != null) {
            try {
                AdapterVersion v = registry.resolve(tenant, j.fineTunedModel());
                bytes = v.bytes();
                params = countParams(registry.folder(v).resolve(LoraAdapter.WEIGHTS_FILE));
                sizes = "measured";
            } catch (RuntimeException ex) {
                LOG.debugf("sweep row %s: sizes of %s: %s", e.method(), j.fineTunedModel(), ex.getMessage());
            }
        }
        if (report != null && report.path("trainable_params").isIntegralNumber() && !"measured".equals(sizes)) {
            params = report.get("trainable_params").asLong();
            sizes = "reported";
        }
        JsonNode adapter = report == null ? null : report.path("adapter");
        JsonNode base = report == null ? null : report.path("base");
        return new Row(e.method(), j.id(), j.status(), j.error(), j.fineTunedModel(), e.settings(), e.learningRate(), params, bytes,
                sizes, seconds, estSeconds, number(base, "loss"), number(adapter, "loss"), number(report, "eval_loss_ratio"),
                number(adapter, "perplexity"), number(base, "accuracy"), number(adapter, "accuracy"), number(adapter, "macro_f1"),
                firstNumber(number(adapter, "ece"), number(report, "ece")), node(report, "forgetting"), node(report, "diagnostics"),
                null);
    }

    /** Elements of every tensor of a safetensors file (the adapter's trainable parameters). */
    static long countParams(java.nio.file.Path weights) {
        try (SafetensorsFile f = SafetensorsFile.open(weights)) {
            long n = 0;
            for (TensorInfo t : f.tensors().values()) {
                n += t.numel();
            }
            return n;
        }
    }

    private static Double number(JsonNode n, String field) {
        if (n == null || n.isMissingNode() || n.isNull()) {
            return null;
        }
        JsonNode v = n.get(field);
        return v != null && v.isNumber() ? v.asDouble() : null;
    }

    private static Double firstNumber(Double a, Double b) {
        return a != null ? a : b;
    }

    private static JsonNode node(JsonNode n, String field) {
        if (n == null) {
            return null;
        }
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v;
    }
}
