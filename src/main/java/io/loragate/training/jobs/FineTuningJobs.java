package io.loragate.training.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.adapter.TrainableLora;
import io.loragate.common.BlobStore;
import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import io.loragate.config.LoragateConfig;
import io.loragate.model.CausalModel;
import io.loragate.registry.AdapterRegistry;
import io.loragate.registry.Tenants;
import io.loragate.registry.CheckpointRecord;
import io.loragate.registry.JobEventRecord;
import io.loragate.registry.JobLeases;
import io.loragate.registry.JobRecord;
import io.loragate.registry.JobStore;
import io.loragate.registry.ReplicaIdentity;
import io.loragate.runtime.ResidentModel;
import io.loragate.training.data.DatasetFile;
import io.loragate.training.data.DatasetFormat;
import io.loragate.training.data.Datasets;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * Fine-tuning jobs: creation (with every check a client can act on answered synchronously), the
 * persistent queue, the runners, cancellation, events and recovery after a restart.
 *
 * <p>Life of a job: {@code validating_files} (the files are read and tokenized on a validator
 * thread) → {@code queued} (waits in the database for a free runner; {@code loragate.jobs.max-concurrent})
 * → {@code running} → {@code succeeded | failed | cancelled}.
 *
 * <p>Replicas on one database share the queue: each one claims queued jobs while it has a free
 * runner ({@link JobLeases#claim}, when a job of its own ends and every
 * {@code loragate.jobs.poll-interval}) and renews the lease of each job it runs every third of
 * {@code loragate.jobs.lease-duration}. A replica that dies stops renewing: once its leases
 * expired, another replica claims its jobs and each resumes from its last complete checkpoint
 * ({@link JobRunner}). On H2 (one process) a start takes back at once every job left running.
 */
@ApplicationScoped
public class FineTuningJobs {

    private static final Logger LOG = Logger.getLogger(FineTuningJobs.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long WATCH_POLL_MILLIS = 200;

    private final JobStore store;
    private final Datasets datasets;
    private final ResidentModel resident;
    private final LoragateConfig config;
    private final Instance<TrainingGate> gates;
    @jakarta.inject.Inject
    Instance<JobDiagnostics> diagnostics;
    private final Tenants tenants;
    private final JobCheckpoints checkpoints;
    private final Publication publication;
    private final Map<String, JobRunner> active = new ConcurrentHashMap<>();
    private final ExecutorService validator = Executors.newSingleThreadExecutor(daemon("loragate-job-validator"));
    private final ExecutorService runners;
    private final ScheduledExecutorService watchers = Executors.newSingleThreadScheduledExecutor(daemon("loragate-job-watch"));
    /** Two threads: lease renewals never wait behind a slow poll of the queue. */
    private final ScheduledExecutorService leaseKeeper = Executors.newScheduledThreadPool(2, daemon("loragate-job-lease"));
    private final JobLeases leases;
    private final String replica;
    private final Duration leaseDuration;
    private volatile boolean shuttingDown;

    public FineTuningJobs(JobStore store, Datasets datasets, AdapterRegistry registry, ResidentModel resident,
            LoragateConfig config, Instance<TrainingGate> gates, Tenants tenants, BlobStore blobs, JobLeases leases,
            ReplicaIdentity replica) {
        this.leases = leases;
        this.replica = replica.id();
        this.leaseDuration = config.jobs().leaseDuration().compareTo(Duration.ofMillis(300)) < 0 ? Duration.ofMillis(300)
                : config.jobs().leaseDuration();
        this.tenants = tenants;
        this.store = store;
        this.datasets = datasets;
        this.resident = resident;
        this.config = config;
        this.gates = gates;
        this.checkpoints = new JobCheckpoints(store, blobs, config.jobs().keepCheckpoints());
        this.publication = new Publication(registry, store);
        this.runners = Executors.newFixedThreadPool(Math.max(1, config.jobs().maxConcurrent()), daemon("loragate-trainer"));
    }

    // ---------------------------------------------------------------------------------------------
    // Start and stop

    void onStart(@Observes StartupEvent ev) {
        // Runs after the base has loaded: recovery re-validates files with its tokenizer.
        resident.whenLoaded().thenRun(this::recover).exceptionally(e -> {
            LOG.warnf("fine-tuning jobs are not recovered: the base model failed to load (%s)", e.getMessage());
            return null;
        });
    }

    /**
     * Takes over what a previous process left unfinished, then starts polling the queue and renewing
     * leases. A running job is taken back at once only when it is certainly orphaned: on H2 every one
     * (the embedded database is this process's alone), on a shared database those this very replica
     * id owned (a restart under a stable {@code loragate.replica-id}); any other waits for its lease
     * to expire, since its owner may be alive. Files being validated are validated again (idempotent).
     */
    synchronized void recover() {
        boolean shared = leases.shared();
        for (JobRecord j : store.unfinished()) {
            switch (j.status()) {
                case JobStore.RUNNING -> {
                    if (!shared || replica.equals(j.owner())) {
                        checkpoints.sweep(j.id());
                        long step = checkpoints.latestStep(j.id());
                        store.transitionOwned(j.id(), j.owner(), JobStore.QUEUED, "warn", "The server restarted while the job"
                                + " was running; it resumes " + (step > 0 ? "from its checkpoint at step " + step : "from the start"),
                                null, null);
                    }
                }
                case JobStore.VALIDATING -> validator.execute(() -> validate(j.id()));
                default -> {
                }
            }
        }
        pump();
        long poll = Math.max(100, config.jobs().pollInterval().toMillis());
        long renew = Math.max(100, leaseDuration.toMillis() / 3);
        leaseKeeper.scheduleWithFixedDelay(this::pollQuietly, poll, poll, TimeUnit.MILLISECONDS);
        leaseKeeper.scheduleWithFixedDelay(this::renewLeases, renew, renew, TimeUnit.MILLISECONDS);
    }

    private void pollQuietly() {
        try {
            pump();
        } catch (RuntimeException e) { // the database is away: the next poll tries again
            LOG.warnf("cannot look for fine-tuning jobs to start: %s", e.getMessage());
        }
    }

    /** Extends the lease of every job running here; a runner whose job another replica took stops. */
    private void renewLeases() {
        for (JobRunner r : active.values()) {
            try {
                JobLeases.Lease lease = leases.renew(r.jobId(), replica, leaseDuration);
                if (!lease.held()) {
                    r.leaseLost();
                } else if (lease.cancelRequested()) {
                    r.cancel();
                }
            } catch (RuntimeException e) { // the lease lasts three renewals: the next one may get through
                LOG.warnf("cannot renew the lease of job %s: %s", r.jobId(), e.getMessage());
            }
        }
    }

    /** This replica's id: the owner of the jobs it runs. */
    public String replicaId() {
        return replica;
    }

    void onStop(@Observes ShutdownEvent ev) {
        shuttingDown = true;
        active.values().forEach(JobRunner::stopForShutdown);
        runners.shutdown();
        validator.shutdownNow();
        watchers.shutdownNow();
        leaseKeeper.shutdownNow();
        try {
            if (!runners.awaitTermination(config.engine().drainTimeout().toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warn("training did not stop in time; the jobs resume from their last checkpoint at the next start");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---------------------------------------------------------------------------------------------
    // API

    /**
     * Creates a job. Everything a client can fix is checked here and refused with an error naming
     * the field: the base model id, the files (another tenant's file is not found), their format
     * against the method, the suffix, the hyperparameters and the gate.
     */
    public JobRecord create(String tenant, JobRequest request) {
        checkModelAndSuffix(request);
        JobSpec spec = JobSpec.resolve(request.method(), defaultTargets(), config.training().maxSeqLength(),
                config.adapters().maxRank(), config.training().autoMinSteps());
        if (spec.type().equals(JobSpec.SUPERVISED) && !(resident.model() instanceof CausalModel)) {
            throw JobRequest.invalid("method.type", "the base model " + resident.id() + " ("
                    + resident.model().config().architectureName()
                    + ") is an encoder: it trains classification jobs only (method.type 'classification')");
        }
        checkFile(tenant, request.trainingFile(), "training_file", spec);
        if (request.validationFile() != null && !request.validationFile().isEmpty()) {
            checkFile(tenant, request.validationFile(), "validation_file", spec);
        }
        if (request.publishIf() != null) {
            Publication.checkGate(request.publishIf(), spec.type(), resident);
        }
        String diagnosticsJson = diagnosticsJson(tenant, request.diagnostics());
        long seed = request.seed() == null ? 42 : request.seed();
        JobRecord job;
        synchronized (tenants.quotaLock(tenant)) {
            int limit = tenants.quota(tenant).maxConcurrentJobs();
            // counted by the store under the tenant's quota row lock: the limit holds across processes
            job = store.create(tenant, request.model(), request.trainingFile(), emptyToNull(request.validationFile()),
                    request.suffix(), seed, spec.toJson(), Publication.gateJson(request.publishIf()), request.activate(),
                    diagnosticsJson, limit);
        }
        LOG.infof("created fine-tuning job %s for %s: %s on %s -> %s", job.id(), tenant, spec.type(), job.trainingFile(),
                job.suffix());
        validator.execute(() -> validate(job.id()));
        return job;
    }

    /** The base model id this server serves, a training file, and a suffix that can name an adapter. */
    private void checkModelAndSuffix(JobRequest request) {
        if (request.model() == null || request.model().isEmpty()) {
            throw JobRequest.invalid("model", "'model' (the base model id) is required");
        }
        if (!request.model().equals(resident.id())) {
            throw new LoragateException(Kind.NOT_FOUND, "base model '" + request.model() + "' not found; this server serves '"
                    + resident.id() + "'").withParam("model");
        }
        if (request.trainingFile() == null || request.trainingFile().isEmpty()) {
            throw JobRequest.invalid("training_file", "'training_file' is required");
        }
        if (request.suffix() == null || request.suffix().isEmpty()) {
            throw JobRequest.invalid("suffix", "'suffix' (the adapter name to publish under) is required");
        }
        try {
            AdapterRegistry.checkName(request.suffix());
        } catch (LoragateException e) {
            throw JobRequest.invalid("suffix", e.getMessage().replace("adapter name", "suffix"));
        }
        if (request.suffix().equals(resident.id())) {
            throw JobRequest.invalid("suffix", "suffix '" + request.suffix() + "' is the base model's id; choose another name");
        }
    }

    public JobRecord get(String tenant, String id) {
        return store.get(tenant, id);
    }

    /** A page of jobs, newest first, and whether more follow. */
    public record Page(List<JobRecord> jobs, boolean hasMore) {
    }

    /** The tenant's jobs, newest first, {@code limit} (1 to 100) after the job {@code after} (null: from the newest). */
    public Page list(String tenant, int limit, String after) {
        if (limit < 1 || limit > 100) {
            throw JobRequest.invalid("limit", "limit must be in [1, 100], was " + limit);
        }
        List<JobRecord> page = store.list(tenant, limit + 1, after);
        return new Page(page.subList(0, Math.min(limit, page.size())), page.size() > limit);
    }

    /**
     * Cancels a job; a running one stops at its next step and publishes nothing, on whichever replica
     * runs it (that runner reads the flag each step and at each lease renewal).
     */
    public JobRecord cancel(String tenant, String id) {
        JobRecord j = store.requestCancel(tenant, id);
        JobRunner r = active.get(id);
        if (r != null) {
            r.cancel();
        }
        return j;
    }

    /** Events after {@code afterSeq}, oldest first. */
    public List<JobEventRecord> events(String tenant, String id, long afterSeq, int limit) {
        if (limit < 1 || limit > 1000) {
            throw JobRequest.invalid("limit", "limit must be in [1, 1000], was " + limit);
        }
        return store.events(tenant, id, afterSeq, limit);
    }

    /** Events before {@code beforeSeq} ({@link Long#MAX_VALUE}: from the newest), newest first, as OpenAI's API pages them. */
    public List<JobEventRecord> eventsNewestFirst(String tenant, String id, long beforeSeq, int limit) {
        if (limit < 1 || limit > 1000) {
            throw JobRequest.invalid("limit", "limit must be in [1, 1000], was " + limit);
        }
        return store.eventsBefore(tenant, id, beforeSeq, limit);
    }

    /** The event sequence number of a public event id of this job (for {@code after} cursors). */
    public static long eventSeq(String jobId, String eventId) {
        if (eventId == null || eventId.isEmpty()) {
            return 0;
        }
        String prefix = new JobEventRecord(jobId, 0, null, null, null, null, null, null).id();
        prefix = prefix.substring(0, prefix.length() - 1);
        if (eventId.startsWith(prefix)) {
            try {
                return Long.parseLong(eventId.substring(prefix.length()));
            } catch (NumberFormatException e) {
                // fall through
            }
        }
        throw JobRequest.invalid("after", "'" + eventId + "' is not an event id of job " + jobId);
    }

    public List<CheckpointRecord> checkpoints(String tenant, String id) {
        return store.checkpoints(tenant, id);
    }

    /** A live watch; {@link #close()} ends it. */
    public interface Watch extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Calls {@code onEvent} with every event after {@code afterSeq}, first those recorded, then new
     * ones as they come, and {@code onEnd} once the job is final and every event was delivered (or
     * with the error if the job cannot be read). Callbacks run on a watcher thread.
     */
    public Watch watch(String tenant, String id, long afterSeq, Consumer<JobEventRecord> onEvent, Consumer<Throwable> onEnd) {
        store.get(tenant, id); // NOT_FOUND now, not in the stream
        AtomicLong last = new AtomicLong(afterSeq);
        ScheduledFuture<?>[] handle = new ScheduledFuture<?>[1];
        Runnable poll = new Runnable() {
            private boolean ended;

            @Override
            public void run() {
                if (ended) {
                    return;
                }
                try {
                    JobRecord j = store.get(tenant, id);
                    List<JobEventRecord> batch;
                    do {
                        batch = store.events(tenant, id, last.get(), 500);
                        for (JobEventRecord e : batch) {
                            onEvent.accept(e);
                            last.set(e.seq());
                        }
                    } while (batch.size() == 500);
                    if (j.isFinal()) {
                        ended = true;
                        onEnd.accept(null);
                        handle[0].cancel(false);
                    }
                } catch (RuntimeException e) {
                    ended = true;
                    onEnd.accept(e);
                    handle[0].cancel(false);
                }
            }
        };
        synchronized (handle) {
            handle[0] = watchers.scheduleWithFixedDelay(poll, 0, WATCH_POLL_MILLIS, TimeUnit.MILLISECONDS);
        }
        return () -> handle[0].cancel(false);
    }

    // ---------------------------------------------------------------------------------------------
    // Validation and scheduling

    /** validating_files → queued, or failed with the reason. */
    private void validate(String id) {
        JobRecord j = store.find(id);
        if (j == null || !JobStore.VALIDATING.equals(j.status())) {
            return;
        }
        try {
            JobSpec spec = JobSpec.fromJson(j.methodJson());
            JobData data = JobData.load(j, spec, datasets, resident);
            store.transition(id, Set.of(JobStore.VALIDATING), JobStore.QUEUED, "info", "Files validated: "
                    + data.describe() + "; job queued", null, null);
        } catch (LoragateException e) {
            fail(id, Set.of(JobStore.VALIDATING), "File validation failed: " + e.getMessage());
        } catch (RuntimeException e) {
            LOG.errorf(e, "validating job %s failed", id);
            fail(id, Set.of(JobStore.VALIDATING), "File validation failed: internal error (" + e + ")");
        }
        pump();
    }

    /**
     * Claims jobs, oldest first, while this replica has free runners: queued ones and running ones
     * whose owner's lease expired (resumed from their last checkpoint).
     */
    synchronized void pump() {
        if (shuttingDown) {
            return;
        }
        int free = Math.max(1, config.jobs().maxConcurrent()) - active.size();
        if (free <= 0) {
            return;
        }
        for (JobLeases.Claimed claimed : leases.claim(replica, leaseDuration, free)) {
            JobRecord j = claimed.job();
            if (claimed.previousOwner() != null) {
                LOG.warnf("job %s: the lease of replica %s expired; resuming it here (attempt %d)", j.id(),
                        claimed.previousOwner(), j.attempts());
            }
            if (active.containsKey(j.id())) {
                // its lease ran out while it still runs here (renewals failed): the runner goes on under the new lease
                continue;
            }
            JobRunner runner = new JobRunner(runnerContext(), j);
            active.put(j.id(), runner);
            runners.execute(() -> {
                try {
                    runner.run();
                } finally {
                    active.remove(j.id());
                    pollQuietly();
                }
            });
        }
    }

    private void fail(String id, Set<String> from, String reason) {
        LOG.warnf("fine-tuning job %s failed: %s", id, reason);
        store.transition(id, from, JobStore.FAILED, "error", reason, reason, null);
    }

    /** What a runner works with; the gate and the diagnostics are looked up as each job starts. */
    private JobContext runnerContext() {
        TrainingGate gate = gates.isResolvable() ? gates.get() : TrainingGate.NONE;
        JobDiagnostics d = diagnostics != null && diagnostics.isResolvable() ? diagnostics.get() : JobDiagnostics.NONE;
        return new JobContext(store, datasets, resident, checkpoints, publication, gate, d, leases, replica, leaseDuration,
                config.jobs().stepWriteInterval());
    }

    private List<String> defaultTargets() {
        return TrainableLora.defaultTargets(resident.model().config().family());
    }

    private void checkFile(String tenant, String fileId, String param, JobSpec spec) {
        DatasetFile f;
        try {
            f = datasets.get(tenant, fileId);
        } catch (LoragateException e) {
            if (e.kind() == Kind.NOT_FOUND) {
                throw new LoragateException(Kind.NOT_FOUND, "file '" + fileId + "' not found").withParam(param);
            }
            throw e;
        }
        String format = f.report().format() == null ? "empty" : f.report().format().wireName();
        boolean classification = f.report().format() == DatasetFormat.CLASSIFICATION;
        if (spec.type().equals(JobSpec.CLASSIFICATION) != classification) {
            throw JobRequest.invalid(param, "file '" + fileId + "' is a " + format + " dataset, which a " + spec.type()
                    + " job cannot use"
                    + (classification ? " (use method.type 'classification')" : " (classification needs {\"text\",\"label\"} lines)"));
        }
        if (f.report().examples() == 0) {
            throw JobRequest.invalid(param, "file '" + fileId + "' has no valid example (see its report's errors)");
        }
    }

    /** The job's diagnostics options, checked (the reference file must be the tenant's), as stored JSON; null: defaults. */
    private String diagnosticsJson(String tenant, JobRequest.Diagnostics d) {
        if (d == null) {
            return null;
        }
        ObjectNode n = JSON.createObjectNode();
        if (d.referenceFile() != null && !d.referenceFile().isEmpty()) {
            DatasetFile f;
            try {
                f = datasets.get(tenant, d.referenceFile());
            } catch (LoragateException e) {
                if (e.kind() == Kind.NOT_FOUND) {
                    throw new LoragateException(Kind.NOT_FOUND, "file '" + d.referenceFile() + "' not found")
                            .withParam("diagnostics.reference_file");
                }
                throw e;
            }
            if (f.report().examples() == 0) {
                throw JobRequest.invalid("diagnostics.reference_file", "file '" + d.referenceFile() + "' has no valid example");
            }
            n.put("reference_file", d.referenceFile());
        }
        int maxLayers = config.diagnostics().maxLayers();
        if (d.layers() != null && !d.layers().isEmpty()) {
            int layers = resident.model().config().numLayers();
            for (Integer l : d.layers()) {
                if (l == null || l < 0 || l >= layers) {
                    throw JobRequest.invalid("diagnostics.layers", "layer " + l + " is out of range: the base has layers 0 to " + (layers - 1));
                }
            }
            if (d.layers().size() > maxLayers) {
                throw JobRequest.invalid("diagnostics.layers", "at most " + maxLayers + " layers (loragate.diagnostics.max-layers)");
            }
            n.set("layers", JSON.valueToTree(d.layers()));
        }
        if (d.maxExamples() != null) {
            int cap = config.diagnostics().maxExamples();
            if (d.maxExamples() < 2 || d.maxExamples() > cap) {
                throw JobRequest.invalid("diagnostics.max_examples", "max_examples must be in [2, " + cap + "] (loragate.diagnostics.max-examples)");
            }
            n.put("max_examples", d.maxExamples());
        }
        return n.isEmpty() ? null : n.toString();
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        AtomicLong n = new AtomicLong();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
