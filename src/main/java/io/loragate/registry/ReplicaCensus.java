package io.loragate.registry;

import io.loragate.common.Jdbc;
import io.loragate.config.LoragateConfig;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.jboss.logging.Logger;

/**
 * How many replicas share this database: each writes a heartbeat row every
 * {@code loragate.replicas.heartbeat-interval} (the database's clock) and counts the rows seen within
 * three intervals; it deletes its own row when it stops, so the others count one fewer at their next
 * heartbeat. On H2 (one process) the count is 1. While the database cannot be reached the last count
 * stays.
 */
@ApplicationScoped
public class ReplicaCensus {

    private static final Logger LOG = Logger.getLogger(ReplicaCensus.class);
    /** A row older than this many intervals is not a live replica. */
    static final int LIVE_INTERVALS = 3;

    private final DataSource db;
    private final String replica;
    private final Duration interval;
    private volatile int live = 1;
    private volatile boolean failing;
    private ScheduledExecutorService heartbeat;

    public ReplicaCensus(DataSource db, ReplicaIdentity identity, LoragateConfig config) {
        this.db = db;
        this.replica = identity.id();
        this.interval = config.replicas().heartbeatInterval();
    }

    /** Live replicas on this database, this one included (at least 1). */
    public int live() {
        return live;
    }

    void onStart(@Observes StartupEvent e) {
        start();
    }

    void onStop(@Observes ShutdownEvent e) {
        stop();
    }

    /** Writes the first heartbeat and keeps writing them (PostgreSQL only; nothing on H2). */
    public synchronized void start() {
        try (Connection c = db.getConnection()) {
            if (!ChangeNotice.isPostgres(c) || interval.isZero() || interval.isNegative()) {
                return;
            }
        } catch (SQLException ex) {
            throw Jdbc.dbError("find out which database this is", ex);
        }
        beat();
        heartbeat = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "loragate-replica-heartbeat");
            t.setDaemon(true);
            return t;
        });
        long millis = interval.toMillis();
        heartbeat.scheduleWithFixedDelay(this::beat, millis, millis, TimeUnit.MILLISECONDS);
    }

    /** Writes this replica's row, counts the live ones and forgets rows dead for an hour. */
    void beat() {
        long liveMillis = interval.toMillis() * LIVE_INTERVALS;
        try (Connection c = db.getConnection()) {
            c.setAutoCommit(true);
            try (PreparedStatement up = c.prepareStatement("INSERT INTO replica_heartbeats (replica_id, last_seen)"
                    + " VALUES (?, CURRENT_TIMESTAMP) ON CONFLICT (replica_id) DO UPDATE SET last_seen = CURRENT_TIMESTAMP")) {
                up.setString(1, replica);
                up.executeUpdate();
            }
            try (PreparedStatement count = c.prepareStatement("SELECT COUNT(*) FROM replica_heartbeats"
                    + " WHERE last_seen > CURRENT_TIMESTAMP - (? * INTERVAL '1 millisecond')")) {
                count.setLong(1, liveMillis);
                try (ResultSet rs = count.executeQuery()) {
                    rs.next();
                    int n = Math.max(1, rs.getInt(1));
                    if (n != live) {
                        LOG.infof("%d live replica(s) on this database (was %d)", n, live);
                    }
                    live = n;
                }
            }
            try (PreparedStatement old = c.prepareStatement("DELETE FROM replica_heartbeats"
                    + " WHERE last_seen < CURRENT_TIMESTAMP - INTERVAL '1 hour'")) {
                old.executeUpdate();
            }
            if (failing) {
                LOG.info("replica heartbeats work again");
            }
            failing = false;
        } catch (SQLException | RuntimeException ex) {
            if (!failing) { // once per outage, not every interval
                LOG.warnf("cannot write this replica's heartbeat (keeping the count of %d replicas): %s", live,
                        ex.getMessage());
            }
            failing = true;
        }
    }

    /** Stops the heartbeats and removes this replica's row, so that the others count one fewer. */
    public synchronized void stop() {
        if (heartbeat == null) {
            return;
        }
        heartbeat.shutdownNow();
        heartbeat = null;
        try (Connection c = db.getConnection(); PreparedStatement gone = c.prepareStatement(
                "DELETE FROM replica_heartbeats WHERE replica_id = ?")) {
            c.setAutoCommit(true);
            gone.setString(1, replica);
            gone.executeUpdate();
        } catch (SQLException | RuntimeException ex) {
            LOG.debugf("could not remove this replica's heartbeat: %s", ex.getMessage()); // it expires by itself
        }
    }
}
