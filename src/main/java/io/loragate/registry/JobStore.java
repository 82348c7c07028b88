package io.loragate.registry;

import io.loragate.common.Jdbc;

import io.loragate.config.LoragateConfig;
import io.loragate.common.DataPaths;
import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import javax.sql.DataSource;

/**
 * Fine-tuning jobs, their event logs and checkpoint rows in the metadata database, scoped to the
 * tenant: a job of another tenant answers exactly as an unknown id. Every status change appends its
 * event in the same transaction, so the log and the row never disagree. Final states never change.
 */
@ApplicationScoped
public class JobStore {

    public static final String VALIDATING = "validating_files";
    public static final String QUEUED = "queued";
    public static final String RUNNING = "running";
    public static final String SUCCEEDED = "succeeded";
    public static final String FAILED = "failed";
    public static final String CANCELLED = "cancelled";

    /** Job ids: safe as a path segment. */
    public static final Pattern ID = Pattern.compile("ftjob-[0-9a-f]{24}");

    private static final String JOBS_DIR = "jobs";
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String COLUMNS = "id, tenant, model, training_file, validation_file, suffix, seed, method, publish_if,"
            + " activate, status, cancel_requested, fine_tuned_model, error, trained_tokens, completed_steps, total_steps,"
            + " report, attempts, created, started, finished, diagnostics, estimated_finish, owner, lease_expires";
    /** The database's clock plus a bound number of milliseconds: the same text on H2 and PostgreSQL. */
    static final String NOW_PLUS_MILLIS = "CURRENT_TIMESTAMP + CAST(? AS BIGINT) * INTERVAL '0.001' SECOND";

    private final DataSource db;
    private final LoragateConfig config;

    public JobStore(DataSource db, LoragateConfig config) {
        this.db = db;
        this.config = config;
    }

    public static boolean isFinal(String status) {
        return SUCCEEDED.equals(status) || FAILED.equals(status) || CANCELLED.equals(status);
    }

    /** The job's local folder: the adapter it is about to publish (its checkpoints are blobs under {@link #blobPrefix}). */
    public Path jobDir(String id) {
        return jobPath(id);
    }

    /** The job's prefix in the blob store, {@code jobs/<id>} (its checkpoints lie under it). */
    public static String blobPrefix(String id) {
        if (id == null || !ID.matcher(id).matches()) {
            throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "not a job id: '" + id + "'");
        }
        return JOBS_DIR + "/" + id;
    }

    /** {@code <data-dir>/jobs/<id>/more...}, checked to stay there and to cross no symbolic link. */
    public Path jobPath(String id, String... more) {
        if (id == null || !ID.matcher(id).matches()) {
            throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "not a job id: '" + id + "'");
        }
        String[] segments = new String[2 + more.length];
        segments[0] = JOBS_DIR;
        segments[1] = id;
        System.arraycopy(more, 0, segments, 2, more.length);
        return DataPaths.under(config.dataDir(), segments);
    }

    /** Inserts a new job in {@code validating_files} with its "created" event. */
    public JobRecord create(String tenant, String model, String trainingFile, String validationFile, String suffix, long seed,
            String methodJson, String publishIfJson, boolean activate) {
        return create(tenant, model, trainingFile, validationFile, suffix, seed, methodJson, publishIfJson, activate, null);
    }

    /** Inserts a new job in {@code validating_files} with its "created" event; {@code diagnosticsJson} may be null. */
    public JobRecord create(String tenant, String model, String trainingFile, String validationFile, String suffix, long seed,
            String methodJson, String publishIfJson, boolean activate, String diagnosticsJson) {
        return create(tenant, model, trainingFile, validationFile, suffix, seed, methodJson, publishIfJson, activate,
                diagnosticsJson, 0);
    }

    /**
     * {@link #create}, refused with {@link #quotaExceeded} when the tenant already has
     * {@code maxActive} unfinished jobs (0: unlimited). Counted under the tenant's quota row lock in
     * the inserting transaction, so the limit holds across processes sharing the database.
     */
    public JobRecord create(String tenant, String model, String trainingFile, String validationFile, String suffix, long seed,
            String methodJson, String publishIfJson, boolean activate, String diagnosticsJson, int maxActive) {
        String id = "ftjob-" + HexFormat.of().formatHex(randomBytes(12));
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        return inTransaction("create a job", c -> {
            Tenants.requireAlive(c, tenant); // a job of a deleted tenant would outlive it
            if (maxActive > 0) {
                Tenants.lockQuota(c, tenant);
                if (activeCount(c, tenant) >= maxActive) {
                    throw quotaExceeded(maxActive);
                }
            }
            try (PreparedStatement s = c.prepareStatement("INSERT INTO jobs (id, tenant, model, training_file, validation_file,"
                    + " suffix, seed, method, publish_if, activate, status, created, diagnostics)"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                s.setString(1, id);
                s.setString(2, tenant);
                s.setString(3, model);
                s.setString(4, trainingFile);
                s.setString(5, validationFile);
                s.setString(6, suffix);
                s.setLong(7, seed);
                s.setString(8, methodJson);
                s.setString(9, publishIfJson);
                s.setBoolean(10, activate);
                s.setString(11, VALIDATING);
                s.setObject(12, OffsetDateTime.ofInstant(now, ZoneOffset.UTC));
                s.setString(13, diagnosticsJson);
                s.executeUpdate();
            }
            insertEvent(c, id, "info", "message", "Created fine-tuning job " + id, null, VALIDATING, now);
            return read(c, id, false);
        });
    }

    /** The tenant's job, or NOT_FOUND (also for another tenant's). */
    public JobRecord get(String tenant, String id) {
        JobRecord j = find(id);
        if (j == null || !j.tenant().equals(tenant)) {
            throw notFound(id);
        }
        return j;
    }

    /** A job by id whatever its tenant (the runner's view), or null. */
    public JobRecord find(String id) {
        if (id == null || !ID.matcher(id).matches()) {
            return null;
        }
        return inTransaction("read job " + id, c -> readOrNull(c, id));
    }

    /** A page of the tenant's jobs, newest first, after the job {@code after} (null: from the newest). */
    public List<JobRecord> list(String tenant, int limit, String after) {
        return inTransaction("list jobs", c -> {
            StringBuilder sql = new StringBuilder("SELECT " + COLUMNS + " FROM jobs WHERE tenant = ?");
            JobRecord cursor = null;
            if (after != null && !after.isEmpty()) {
                cursor = readOrNull(c, after);
                if (cursor == null || !cursor.tenant().equals(tenant)) {
                    throw notFound(after).withParam("after");
                }
                sql.append(" AND (created < ? OR (created = ? AND id < ?))");
            }
            sql.append(" ORDER BY created DESC, id DESC LIMIT ?");
            try (PreparedStatement s = c.prepareStatement(sql.toString())) {
                int i = 1;
                s.setString(i++, tenant);
                if (cursor != null) {
                    OffsetDateTime t = OffsetDateTime.ofInstant(cursor.created(), ZoneOffset.UTC);
                    s.setObject(i++, t);
                    s.setObject(i++, t);
                    s.setString(i++, cursor.id());
                }
                s.setInt(i, limit);
                return readAll(s);
            }
        });
    }

    /** Jobs that are not final, oldest first (what a starting process must take over). */
    public List<JobRecord> unfinished() {
        return inTransaction("list unfinished jobs", c -> {
            try (PreparedStatement s = c.prepareStatement("SELECT " + COLUMNS + " FROM jobs WHERE status IN (?, ?, ?)"
                    + " ORDER BY created, id")) {
                s.setString(1, VALIDATING);
                s.setString(2, QUEUED);
                s.setString(3, RUNNING);
                return readAll(s);
            }
        });
    }

    /** The error of a job beyond the tenant's limit of unfinished jobs. */
    public static LoragateException quotaExceeded(int limit) {
        return new LoragateException(Kind.RESOURCE_EXHAUSTED, "quota exceeded: this tenant already has " + limit
                + " unfinished fine-tuning jobs, its limit (max_concurrent_jobs, default loragate.jobs.max-per-tenant);"
                + " wait for one to finish or cancel one").retryAfter(60);
    }

    /** Running (not final, started) jobs of a tenant: for the per-tenant limit. */
    public int activeCount(String tenant) {
        return inTransaction("count jobs", c -> activeCount(c, tenant));
    }

    private static int activeCount(Connection c, String tenant) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT COUNT(*) FROM jobs WHERE tenant = ? AND status IN (?, ?, ?)")) {
            s.setString(1, tenant);
            s.setString(2, VALIDATING);
            s.setString(3, QUEUED);
            s.setString(4, RUNNING);
            try (ResultSet r = s.executeQuery()) {
                r.next();
                return r.getInt(1);
            }
        }
    }

    /**
     * Moves a job from one of {@code from} to {@code to} and logs {@code message}; answers false
     * (changing nothing) when the job is in another status. Entering {@code running} counts an
     * attempt and stamps the start; a final status stamps the end; leaving {@code running} ends the
     * owner's lease.
     */
    public boolean transition(String id, Set<String> from, String to, String level, String message, String error,
            String fineTunedModel) {
        return transition(id, from, null, false, to, level, message, error, fineTunedModel);
    }

    /**
     * Moves a running job that {@code owner} holds (null: a row without owner) to {@code to}; answers
     * false, changing nothing, when the job is no longer running or another replica took it over.
     */
    public boolean transitionOwned(String id, String owner, String to, String level, String message, String error,
            String fineTunedModel) {
        return transition(id, Set.of(RUNNING), owner, true, to, level, message, error, fineTunedModel);
    }

    private boolean transition(String id, Set<String> from, String owner, boolean checkOwner, String to, String level,
            String message, String error, String fineTunedModel) {
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        return inTransaction("update job " + id, c -> {
            JobRecord j = lock(c, id);
            if (j == null || !from.contains(j.status()) || (checkOwner && !java.util.Objects.equals(owner, j.owner()))) {
                return false;
            }
            StringBuilder sql = new StringBuilder("UPDATE jobs SET status = ?");
            if (RUNNING.equals(to)) {
                sql.append(", attempts = attempts + 1, started = COALESCE(started, ?)");
            }
            if (isFinal(to)) {
                sql.append(", finished = ?, error = ?, fine_tuned_model = ?");
            }
            if (!RUNNING.equals(to)) {
                // only a running job has an estimate, an owner and a lease
                sql.append(", estimated_finish = NULL, owner = NULL, lease_expires = NULL");
            }
            sql.append(" WHERE id = ?");
            try (PreparedStatement s = c.prepareStatement(sql.toString())) {
                int i = 1;
                s.setString(i++, to);
                if (RUNNING.equals(to) || isFinal(to)) {
                    s.setObject(i++, OffsetDateTime.ofInstant(now, ZoneOffset.UTC));
                }
                if (isFinal(to)) {
                    s.setString(i++, truncate(io.loragate.config.ErrorText.redact(error), 4000));
                    s.setString(i++, fineTunedModel);
                }
                s.setString(i, id);
                s.executeUpdate();
            }
            insertEvent(c, id, level, "message", message, null, to, now);
            return true;
        });
    }

    /**
     * Asks for a cancellation: a job not yet running is cancelled at once; a running one gets the
     * flag its runner checks at the next step. A final job is left as it is. Answers the job after.
     */
    public JobRecord requestCancel(String tenant, String id) {
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        return inTransaction("cancel job " + id, c -> {
            JobRecord j = lock(c, id);
            if (j == null || !j.tenant().equals(tenant)) {
                throw notFound(id);
            }
            if (j.isFinal()) {
                if (CANCELLED.equals(j.status())) {
                    return j;
                }
                throw new LoragateException(Kind.FAILED_PRECONDITION, "job " + id + " has already " + j.status()
                        + "; only a job that has not finished can be cancelled");
            }
            if (RUNNING.equals(j.status())) {
                if (!j.cancelRequested()) {
                    update(c, "UPDATE jobs SET cancel_requested = TRUE WHERE id = ?", id);
                    insertEvent(c, id, "info", "message", "Cancellation requested; the job stops at its next step", null,
                            RUNNING, now);
                }
            } else {
                try (PreparedStatement s = c.prepareStatement("UPDATE jobs SET status = ?, cancel_requested = TRUE,"
                        + " finished = ? WHERE id = ?")) {
                    s.setString(1, CANCELLED);
                    s.setObject(2, OffsetDateTime.ofInstant(now, ZoneOffset.UTC));
                    s.setString(3, id);
                    s.executeUpdate();
                }
                insertEvent(c, id, "info", "message", "Job cancelled", null, CANCELLED, now);
            }
            return read(c, id, false);
        });
    }

    /** Records progress (and the step count the next start resumes after is in the checkpoints); no estimate yet. */
    public void progress(String id, long completedSteps, long totalSteps, long trainedTokens) {
        progress(id, completedSteps, totalSteps, trainedTokens, null);
    }

    /** Records progress and when the job should finish ({@code estimatedFinish}, null: not known). */
    public void progress(String id, long completedSteps, long totalSteps, long trainedTokens, Instant estimatedFinish) {
        OffsetDateTime finish = estimatedFinish == null ? null : OffsetDateTime.ofInstant(estimatedFinish, ZoneOffset.UTC);
        inTransaction("record progress of " + id, c -> update(c, "UPDATE jobs SET completed_steps = ?, total_steps = ?,"
                + " trained_tokens = ?, estimated_finish = ? WHERE id = ?", completedSteps, totalSteps, trainedTokens, finish, id));
    }

    /**
     * The steps a running job made since its last write, in one transaction: its events (in order,
     * each with its own time) and its progress, only while {@code owner} still runs the job (a
     * replica that lost the job writes nothing). Answers what the lease check would: whether it is
     * still {@code owner}'s and whether a cancel was asked for; this is the runner's lease and cancel
     * check as well as its write.
     */
    public JobLeases.Lease recordSteps(String id, String owner, List<JobEventDraft> events, long completedSteps, long totalSteps,
            long trainedTokens, Instant estimatedFinish) {
        OffsetDateTime finish = estimatedFinish == null ? null : OffsetDateTime.ofInstant(estimatedFinish, ZoneOffset.UTC);
        return inTransaction("record the steps of " + id, c -> {
            JobRecord j = lock(c, id);
            if (j == null || !RUNNING.equals(j.status()) || !owner.equals(j.owner())) {
                return JobLeases.Lease.LOST;
            }
            insertEvents(c, id, events, j.status());
            update(c, "UPDATE jobs SET completed_steps = ?, total_steps = ?, trained_tokens = ?, estimated_finish = ? WHERE id = ?",
                    completedSteps, totalSteps, trainedTokens, finish, id);
            return new JobLeases.Lease(true, j.cancelRequested());
        });
    }

    /** Stores the evaluation report. */
    public void setReport(String id, String reportJson) {
        inTransaction("store the report of " + id, c -> update(c, "UPDATE jobs SET report = ? WHERE id = ?", reportJson, id));
    }

    /** Appends an event in the job's current status. */
    public void event(String id, String level, String type, String message, String dataJson) {
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        inTransaction("log an event of " + id, c -> {
            JobRecord j = lock(c, id);
            if (j == null) {
                throw notFound(id);
            }
            insertEvent(c, id, level, type, message, dataJson, j.status(), now);
            return null;
        });
    }

    /** The tenant's job's events after {@code afterSeq}, oldest first, at most {@code limit}. */
    public List<JobEventRecord> events(String tenant, String id, long afterSeq, int limit) {
        return events(tenant, id, "seq > ? ORDER BY seq", afterSeq, limit);
    }

    /** The tenant's job's events before {@code beforeSeq}, newest first, at most {@code limit}. */
    public List<JobEventRecord> eventsBefore(String tenant, String id, long beforeSeq, int limit) {
        return events(tenant, id, "seq < ? ORDER BY seq DESC", beforeSeq, limit);
    }

    private List<JobEventRecord> events(String tenant, String id, String whereAndOrder, long seq, int limit) {
        get(tenant, id);
        return inTransaction("read events of " + id, c -> {
            try (PreparedStatement s = c.prepareStatement("SELECT job_id, seq, created, level, type, message, data, status"
                    + " FROM job_events WHERE job_id = ? AND " + whereAndOrder + " LIMIT ?")) {
                s.setString(1, id);
                s.setLong(2, seq);
                s.setInt(3, limit);
                List<JobEventRecord> out = new ArrayList<>();
                try (ResultSet r = s.executeQuery()) {
                    while (r.next()) {
                        out.add(new JobEventRecord(r.getString(1), r.getLong(2), instant(r, 3), r.getString(4), r.getString(5),
                                r.getString(6), r.getString(7), r.getString(8)));
                    }
                }
                return out;
            }
        });
    }

    /** Records a complete checkpoint (its folder already renamed into place). */
    public void addCheckpoint(String id, long step, String metricsJson) {
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        inTransaction("record a checkpoint of " + id, c -> {
            update(c, "DELETE FROM job_checkpoints WHERE job_id = ? AND step = ?", id, step);
            try (PreparedStatement s = c.prepareStatement("INSERT INTO job_checkpoints (job_id, step, created, metrics, has_state)"
                    + " VALUES (?, ?, ?, ?, TRUE)")) {
                s.setString(1, id);
                s.setLong(2, step);
                s.setObject(3, OffsetDateTime.ofInstant(now, ZoneOffset.UTC));
                s.setString(4, metricsJson);
                s.executeUpdate();
            }
            return null;
        });
    }

    /** Marks that a checkpoint's files were removed (its row and metrics stay). */
    public void checkpointPruned(String id, long step) {
        inTransaction("prune a checkpoint of " + id, c -> update(c,
                "UPDATE job_checkpoints SET has_state = FALSE WHERE job_id = ? AND step = ?", id, step));
    }

    /** The tenant's job's checkpoints, newest first. */
    public List<CheckpointRecord> checkpoints(String tenant, String id) {
        get(tenant, id);
        return checkpoints(id);
    }

    /** A job's checkpoints, newest first. */
    public List<CheckpointRecord> checkpoints(String id) {
        return inTransaction("read checkpoints of " + id, c -> {
            try (PreparedStatement s = c.prepareStatement("SELECT job_id, step, created, metrics, has_state FROM job_checkpoints"
                    + " WHERE job_id = ? ORDER BY step DESC")) {
                s.setString(1, id);
                List<CheckpointRecord> out = new ArrayList<>();
                try (ResultSet r = s.executeQuery()) {
                    while (r.next()) {
                        out.add(new CheckpointRecord(r.getString(1), r.getLong(2), instant(r, 3), r.getString(4), r.getBoolean(5)));
                    }
                }
                return out;
            }
        });
    }

    // --- JDBC

    private <T> T inTransaction(String what, Jdbc.TxBody<T> body) {
        return Jdbc.inTransaction(db, what, body);
    }

    private static Void update(Connection c, String sql, Object... args) throws SQLException {
        Jdbc.update(c, sql, args);
        return null;
    }

    static void insertEvent(Connection c, String id, String level, String type, String message, String data,
            String status, Instant now) throws SQLException {
        long seq;
        try (PreparedStatement s = c.prepareStatement("SELECT COALESCE(MAX(seq), 0) FROM job_events WHERE job_id = ?")) {
            s.setString(1, id);
            try (ResultSet r = s.executeQuery()) {
                r.next();
                seq = r.getLong(1) + 1;
            }
        }
        try (PreparedStatement s = c.prepareStatement("INSERT INTO job_events (job_id, seq, created, level, type, message, data,"
                + " status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
            s.setString(1, id);
            s.setLong(2, seq);
            s.setObject(3, OffsetDateTime.ofInstant(now, ZoneOffset.UTC));
            s.setString(4, level);
            s.setString(5, type);
            s.setString(6, truncate(io.loragate.config.ErrorText.redact(message), 4000));
            s.setString(7, data);
            s.setString(8, status);
            s.executeUpdate();
        }
    }

    /** Appends {@code events} in order after the job's last event, as one JDBC batch. */
    private static void insertEvents(Connection c, String id, List<JobEventDraft> events, String status) throws SQLException {
        if (events.isEmpty()) {
            return;
        }
        long seq;
        try (PreparedStatement s = c.prepareStatement("SELECT COALESCE(MAX(seq), 0) FROM job_events WHERE job_id = ?")) {
            s.setString(1, id);
            try (ResultSet r = s.executeQuery()) {
                r.next();
                seq = r.getLong(1);
            }
        }
        try (PreparedStatement s = c.prepareStatement("INSERT INTO job_events (job_id, seq, created, level, type, message, data,"
                + " status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
            for (JobEventDraft e : events) {
                s.setString(1, id);
                s.setLong(2, ++seq);
                s.setObject(3, OffsetDateTime.ofInstant(e.created().truncatedTo(ChronoUnit.MILLIS), ZoneOffset.UTC));
                s.setString(4, e.level());
                s.setString(5, e.type());
                s.setString(6, truncate(io.loragate.config.ErrorText.redact(e.message()), 4000));
                s.setString(7, e.dataJson());
                s.setString(8, status);
                s.addBatch();
            }
            s.executeBatch();
        }
    }

    private static JobRecord lock(Connection c, String id) throws SQLException {
        return ID.matcher(id).matches() ? readOrNull(c, id, true) : null;
    }

    private static JobRecord readOrNull(Connection c, String id) throws SQLException {
        return readOrNull(c, id, false);
    }

    static JobRecord readOrNull(Connection c, String id, boolean forUpdate) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT " + COLUMNS + " FROM jobs WHERE id = ?" + (forUpdate ? " FOR UPDATE" : ""))) {
            s.setString(1, id);
            List<JobRecord> all = readAll(s);
            return all.isEmpty() ? null : all.get(0);
        }
    }

    private static JobRecord read(Connection c, String id, boolean forUpdate) throws SQLException {
        JobRecord j = readOrNull(c, id, forUpdate);
        if (j == null) {
            throw notFound(id);
        }
        return j;
    }

    private static List<JobRecord> readAll(PreparedStatement s) throws SQLException {
        List<JobRecord> out = new ArrayList<>();
        try (ResultSet r = s.executeQuery()) {
            while (r.next()) {
                out.add(new JobRecord(r.getString(1), r.getString(2), r.getString(3), r.getString(4), r.getString(5),
                        r.getString(6), r.getLong(7), r.getString(8), r.getString(9), r.getBoolean(10), r.getString(11),
                        r.getBoolean(12), r.getString(13), r.getString(14), r.getLong(15), r.getLong(16), r.getLong(17),
                        r.getString(18), r.getInt(19), instant(r, 20), instant(r, 21), instant(r, 22), r.getString(23),
                        instant(r, 24), r.getString(25), instant(r, 26)));
            }
        }
        return out;
    }

    private static Instant instant(ResultSet r, int column) throws SQLException {
        OffsetDateTime t = r.getObject(column, OffsetDateTime.class);
        return t == null ? null : t.toInstant();
    }

    private static String truncate(String s, int max) {
        return s == null || s.length() <= max ? s : s.substring(0, max - 1) + "…";
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        RANDOM.nextBytes(b);
        return b;
    }

    private static LoragateException notFound(String id) {
        return new LoragateException(Kind.NOT_FOUND, "fine-tuning job '" + id + "' not found");
    }
}
