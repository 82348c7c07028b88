package io.loragate.registry;

import io.loragate.common.Jdbc;
import jakarta.enterprise.context.ApplicationScoped;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

/**
 * Which replica runs which job, when several share one database: a replica claims a queued job (or
 * a running one whose owner's lease expired) in one transaction, becomes its {@code owner} and
 * holds a lease it renews; a renewal that finds another owner tells the runner to stop. Lease times
 * are the database's clock, so the replicas' own clocks need not agree.
 */
@ApplicationScoped
public class JobLeases {

    private final DataSource db;

    public JobLeases(DataSource db) {
        this.db = db;
    }

    /** A job this replica now runs; {@code previousOwner} is set when it took over an expired lease. */
    public record Claimed(JobRecord job, String previousOwner) {
    }

    /** What a renewal found: whether the lease is still this replica's, and whether a cancel was asked for. */
    public record Lease(boolean held, boolean cancelRequested) {
        public static final Lease LOST = new Lease(false, false);
    }

    /** Whether several processes may share this database (PostgreSQL); H2 is embedded in one process. */
    public boolean shared() {
        return Jdbc.inTransaction(db, "find out which database this is", ChangeNotice::isPostgres);
    }

    /**
     * Claims up to {@code max} jobs, oldest first: queued ones, and running ones whose lease expired
     * (or that have none: rows of a version before leases). Each becomes {@code owner}'s, running,
     * with a lease of {@code lease}, an attempt counted and an event saying where it runs.
     */
    public List<Claimed> claim(String owner, Duration lease, int max) {
        if (max <= 0) {
            return List.of();
        }
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        return Jdbc.inTransaction(db, "claim jobs", c -> {
            List<Claimed> out = new ArrayList<>();
            for (String[] row : lockClaimable(c, max)) {
                Jdbc.update(c, "UPDATE jobs SET status = ?, owner = ?, lease_expires = " + JobStore.NOW_PLUS_MILLIS
                        + ", attempts = attempts + 1, started = COALESCE(started, ?), estimated_finish = NULL WHERE id = ?",
                        JobStore.RUNNING, owner, lease.toMillis(), OffsetDateTime.ofInstant(now, ZoneOffset.UTC), row[0]);
                String previous = JobStore.RUNNING.equals(row[1]) ? row[2] : null;
                String message = JobStore.QUEUED.equals(row[1]) ? "Job started on replica " + owner
                        : "The lease of replica " + (previous == null ? "(none)" : previous) + " expired (it stopped renewing"
                        + " it: it died or lost the database); replica " + owner + " takes the job over";
                JobStore.insertEvent(c, row[0], JobStore.QUEUED.equals(row[1]) ? "info" : "warn", "message", message, null,
                        JobStore.RUNNING, now);
                out.add(new Claimed(JobStore.readOrNull(c, row[0], false), previous));
            }
            return out;
        });
    }

    /**
     * Locks the claimable rows (id, status, owner). On PostgreSQL {@code FOR UPDATE SKIP LOCKED}:
     * racing replicas each get different rows and nobody waits. H2 2.x accepts SKIP LOCKED but applies
     * the LIMIT before skipping, so a second claimer would get no row rather than the next one; H2 is
     * one process anyway (its claims are serialised by the caller), so there it is a plain FOR UPDATE.
     */
    private static List<String[]> lockClaimable(Connection c, int max) throws SQLException {
        String sql = "SELECT id, status, owner FROM jobs WHERE status = ? OR (status = ? AND (lease_expires IS NULL"
                + " OR lease_expires < CURRENT_TIMESTAMP)) ORDER BY created, id LIMIT ? FOR UPDATE"
                + (ChangeNotice.isPostgres(c) ? " SKIP LOCKED" : "");
        List<String[]> rows = new ArrayList<>();
        try (PreparedStatement s = c.prepareStatement(sql)) {
            s.setString(1, JobStore.QUEUED);
            s.setString(2, JobStore.RUNNING);
            s.setInt(3, max);
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    rows.add(new String[] {r.getString(1), r.getString(2), r.getString(3)});
                }
            }
        }
        return rows;
    }

    /** Extends {@code owner}'s lease on a running job by {@code lease}; {@link Lease#LOST} when it is no longer its. */
    public Lease renew(String id, String owner, Duration lease) {
        return Jdbc.inTransaction(db, "renew the lease of " + id, c -> {
            int n;
            try (PreparedStatement s = c.prepareStatement("UPDATE jobs SET lease_expires = " + JobStore.NOW_PLUS_MILLIS
                    + " WHERE id = ? AND owner = ? AND status = ?")) {
                s.setLong(1, lease.toMillis());
                s.setString(2, id);
                s.setString(3, owner);
                s.setString(4, JobStore.RUNNING);
                n = s.executeUpdate();
            }
            return n == 0 ? Lease.LOST : read(c, id, owner);
        });
    }

    /** Reads (without renewing) whether {@code owner} still runs the job and whether a cancel was asked for. */
    public Lease check(String id, String owner) {
        return Jdbc.inTransaction(db, "check the lease of " + id, c -> read(c, id, owner));
    }

    private static Lease read(Connection c, String id, String owner) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT status, owner, cancel_requested FROM jobs WHERE id = ?")) {
            s.setString(1, id);
            try (ResultSet r = s.executeQuery()) {
                if (!r.next() || !JobStore.RUNNING.equals(r.getString(1)) || !owner.equals(r.getString(2))) {
                    return Lease.LOST;
                }
                return new Lease(true, r.getBoolean(3));
            }
        }
    }
}
