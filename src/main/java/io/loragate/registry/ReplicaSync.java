package io.loragate.registry;

import io.loragate.common.Jdbc;
import io.loragate.config.LoragateConfig;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.jboss.logging.Logger;

/**
 * Keeps this replica's memory (tenants, keys, quotas, pins) in step with the other replicas on one
 * PostgreSQL database: a {@link ChangeListener} hears each committed change within milliseconds and
 * {@link ReplicaRefresh} re-reads what it names; every {@code loragate.replicas.reconcile-interval}
 * everything is re-read as well, in case a notice was missed. On H2 (one process) neither runs:
 * the writer already updated its own memory.
 */
@ApplicationScoped
public class ReplicaSync {

    private static final Logger LOG = Logger.getLogger(ReplicaSync.class);

    private final DataSource db;
    private final Duration reconcileInterval;
    private final ReplicaRefresh refresh;
    private ChangeListener listener;
    private ScheduledExecutorService reconciler;
    private volatile boolean reconcileFailing;

    public ReplicaSync(DataSource db, LoragateConfig config, Tenants tenants, AdapterRegistry registry, AdapterCache cache) {
        this.db = db;
        this.reconcileInterval = config.replicas().reconcileInterval();
        this.refresh = new ReplicaRefresh(tenants, registry, cache);
    }

    synchronized void onStart(@Observes StartupEvent e) {
        boolean postgres;
        try (Connection c = db.getConnection()) {
            postgres = ChangeNotice.isPostgres(c);
        } catch (SQLException ex) {
            throw Jdbc.dbError("find out which database this is", ex);
        }
        if (!postgres) {
            return;
        }
        // One connection of the pool, held for as long as it works; the listener takes another when it breaks.
        listener = new ChangeListener(db, refresh);
        if (!reconcileInterval.isZero() && !reconcileInterval.isNegative()) {
            reconciler = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "loragate-replica-reconcile");
                t.setDaemon(true);
                return t;
            });
            long millis = reconcileInterval.toMillis();
            reconciler.scheduleWithFixedDelay(this::reconcile, millis, millis, TimeUnit.MILLISECONDS);
        }
        LOG.infof("following other replicas' changes (LISTEN %s; full re-read every %s)", ChangeNotice.CHANNEL,
                reconciler == null ? "never" : reconcileInterval);
    }

    private void reconcile() {
        try {
            refresh.reconcile();
            if (reconcileFailing) {
                LOG.info("re-reading the shared state works again");
            }
            reconcileFailing = false;
        } catch (RuntimeException e) {
            if (!reconcileFailing) { // once per failure streak, not every interval of an outage
                LOG.warnf("cannot re-read the shared state: %s", e.getMessage());
            }
            reconcileFailing = true;
        }
    }

    /** The listener of this replica, or null (H2). */
    public ChangeListener listener() {
        return listener;
    }

    synchronized void onStop(@Observes ShutdownEvent e) {
        if (reconciler != null) {
            reconciler.shutdownNow();
        }
        if (listener != null) {
            listener.close();
        }
    }
}
