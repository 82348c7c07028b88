package io.loragate.service;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import io.loragate.registry.CheckpointRecord;
import io.loragate.registry.JobEventRecord;
import io.loragate.registry.JobRecord;
import io.loragate.training.jobs.FineTuningJobs;
import io.loragate.training.jobs.JobRequest;
import io.loragate.training.jobs.JobSpec;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Instant;
import java.util.List;
import java.util.function.Consumer;

/**
 * Fine-tuning jobs as REST {@code /v1/fine_tuning/jobs} and gRPC {@code TrainingService} call them:
 * delegates to the training layer's {@link FineTuningJobs} and answers {@link JobView}s. Every call
 * is scoped by the caller's tenant.
 */
@ApplicationScoped
public class JobService {

    /** The largest page of events: one more is read to tell whether more follow, and the store reads at most 1000. */
    public static final int MAX_EVENTS_PAGE = 999;

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A page of jobs, newest first, and whether more follow. */
    public record JobPage(List<JobView> jobs, boolean hasMore) {
    }

    /** A page of events, newest first, and whether older ones follow. */
    public record EventPage(List<JobEventView> events, boolean hasMore) {
    }

    /** A live watch of a job's events; {@link #close()} ends it. */
    public interface Watch extends AutoCloseable {
        @Override
        void close();
    }

    private final FineTuningJobs jobs;

    public JobService(FineTuningJobs jobs) {
        this.jobs = jobs;
    }

    /** Checks the request and stores the job {@code validating_files}. */
    public JobView create(String tenant, JobCommand command) {
        return view(jobs.create(tenant, request(command)));
    }

    public JobView get(String tenant, String id) {
        return view(jobs.get(tenant, id));
    }

    /** The tenant's jobs, newest first, {@code limit} (1 to 100) after the job {@code after} (null: from the newest). */
    public JobPage list(String tenant, int limit, String after) {
        FineTuningJobs.Page page = jobs.list(tenant, limit, after);
        return new JobPage(page.jobs().stream().map(JobService::view).toList(), page.hasMore());
    }

    /** Cancels a job; a running one stops at its next step and publishes nothing. */
    public JobView cancel(String tenant, String id) {
        return view(jobs.cancel(tenant, id));
    }

    /**
     * Events newest first, as OpenAI's API pages them: {@code limit} (1 to {@value #MAX_EVENTS_PAGE})
     * events older than the event {@code after} (null or empty: from the newest).
     */
    public EventPage events(String tenant, String id, int limit, String after) {
        if (limit < 1 || limit > MAX_EVENTS_PAGE) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "limit must be in [1, " + MAX_EVENTS_PAGE + "], was " + limit)
                    .withParam("limit");
        }
        jobs.get(tenant, id); // an unknown job is NOT_FOUND, not an empty page
        long before = after == null || after.isEmpty() ? Long.MAX_VALUE : FineTuningJobs.eventSeq(id, after);
        List<JobEventRecord> page = jobs.eventsNewestFirst(tenant, id, before, limit + 1);
        List<JobEventView> events = page.subList(0, Math.min(limit, page.size())).stream().map(JobService::event).toList();
        return new EventPage(events, page.size() > limit);
    }

    public List<CheckpointView> checkpoints(String tenant, String id) {
        return jobs.checkpoints(tenant, id).stream().map(c -> checkpoint(id, c)).toList();
    }

    /**
     * Calls {@code onEvent} with every event after the event {@code afterEventId} (null or empty: from
     * the first), then with new ones as they come, and {@code onEnd} once the job is final (or with the
     * error). Callbacks run on a watcher thread.
     */
    public Watch watch(String tenant, String id, String afterEventId, Consumer<JobEventView> onEvent, Consumer<Throwable> onEnd) {
        FineTuningJobs.Watch w = jobs.watch(tenant, id, FineTuningJobs.eventSeq(id, afterEventId), e -> onEvent.accept(event(e)),
                onEnd);
        return w::close;
    }

    // ---------------------------------------------------------------------------------------------

    static JobRequest request(JobCommand c) {
        JobRequest.Method method = null;
        if (c.method() != null) {
            JobCommand.Method m = c.method();
            method = new JobRequest.Method(m.type(), hyperparameters(m.hyperparameters()), adapter(m.adapter()));
        }
        JobRequest.PublishIf publishIf = null;
        if (c.publishIf() != null) {
            JobCommand.PublishIf g = c.publishIf();
            publishIf = new JobRequest.PublishIf(g.minEvalAccuracy(), g.maxEvalLossRatio(), g.maxForgetting(),
                    g.minGainOverBaseline());
        }
        JobRequest.Diagnostics diagnostics = null;
        if (c.diagnostics() != null) {
            JobCommand.Diagnostics d = c.diagnostics();
            diagnostics = new JobRequest.Diagnostics(d.referenceFile(), d.layers(), d.maxExamples());
        }
        return new JobRequest(c.model(), c.trainingFile(), c.validationFile(), c.suffix(), c.seed(), method, publishIf,
                c.activate(), diagnostics);
    }

    /** Null stays null (the defaults); shared with sweeps. */
    static JobRequest.Hyperparameters hyperparameters(JobCommand.Hyperparameters h) {
        if (h == null) {
            return null;
        }
        return new JobRequest.Hyperparameters(h.epochs(), h.batchSize(), h.gradientAccumulationSteps(), h.learningRate(),
                h.warmupSteps(), h.schedule(), h.weightDecay(), h.maxGradNorm(), h.maxSeqLength(), h.evalEverySteps(),
                h.checkpointEverySteps(), h.earlyStoppingPatience(), h.validationSplit(), h.pooling(), h.autoEpochs());
    }

    private static JobRequest.AdapterSettings adapter(JobCommand.AdapterSettings a) {
        if (a == null) {
            return null;
        }
        return new JobRequest.AdapterSettings(a.r(), a.alpha(), a.dropout(), a.targetModules(), a.useRslora(), a.method(),
                a.layersToTransform(), a.numVirtualTokens(), a.promptInitText(), a.bottleneckSize(), a.placement(),
                a.partialLayers());
    }

    static JobView view(JobRecord j) {
        JobSpec spec = JobSpec.fromJson(j.methodJson());
        JobSpec.Hyper h = spec.hyperparameters();
        JobSpec.Adapter a = spec.adapter();
        JobView.Method method = new JobView.Method(spec.type(),
                new JobView.Hyperparameters(h.epochs(), h.batchSize(), h.gradientAccumulationSteps(), h.learningRate(),
                        h.warmupSteps(), h.schedule(), h.weightDecay(), h.maxGradNorm(), h.maxSeqLength(), h.evalEverySteps(),
                        h.checkpointEverySteps(), h.earlyStoppingPatience(), h.validationSplit(), h.pooling(),
                        h.autoMinSteps() > 0 ? h.autoMinSteps() : null),
                new JobView.Adapter(a.r(), a.alpha(), a.dropout(), a.targetModules(), a.useRslora(), a.method(),
                        a.layersToTransform(), a.numVirtualTokens(), a.promptInitText(), a.bottleneckSize(), a.placement(),
                        a.partialLayers()));
        return new JobView(j.id(), j.model(), j.created().getEpochSecond(), seconds(j.finished()), j.status(), j.trainingFile(),
                j.validationFile(), j.suffix(), j.fineTunedModel(), j.seed(), method, tree(j.publishIfJson()),
                tree(j.diagnosticsJson()), j.activate(), j.trainedTokens(), j.completedSteps(), j.totalSteps(),
                seconds(j.estimatedFinish()), j.error(), tree(j.reportJson()));
    }

    static JobEventView event(JobEventRecord e) {
        return new JobEventView(e.id(), e.created().getEpochSecond(), e.level(), e.message(), e.type(), tree(e.dataJson()),
                e.status());
    }

    private static CheckpointView checkpoint(String jobId, CheckpointRecord c) {
        return new CheckpointView(c.publicId(), c.created().getEpochSecond(), jobId, c.step(), tree(c.metricsJson()), c.hasState());
    }

    private static Long seconds(Instant t) {
        return t == null ? null : t.getEpochSecond();
    }

    /** Stored JSON as a tree; null stays null. */
    private static JsonNode tree(String json) {
        if (json == null) {
            return null;
        }
        try {
            return JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored JSON is unreadable", e);
        }
    }
}
