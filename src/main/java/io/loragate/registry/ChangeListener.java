package io.loragate.registry;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Set;
import javax.sql.DataSource;
import org.jboss.logging.Logger;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * One replica's ear on PostgreSQL: a dedicated connection (never one of the pool's) that
 * {@code LISTEN}s on {@link ChangeNotice#CHANNEL} on a daemon thread and hands every batch of
 * notices to a {@link Handler}. When the connection drops (the database restarts, the backend is
 * terminated) it reconnects with a growing pause, and once listening again asks the handler to
 * re-read everything, since notices sent meanwhile are lost.
 */
public final class ChangeListener implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(ChangeListener.class);
    /** How long one wait for notices lasts. */
    private static final int WAIT_MILLIS = 1000;
    /** Quiet waits after which the connection is checked with a query. */
    private static final int QUIET_WAITS_PER_CHECK = 10;
    private static final Duration FIRST_PAUSE = Duration.ofMillis(100);
    private static final Duration LONGEST_PAUSE = Duration.ofSeconds(5);

    /** What a replica does with what it hears. */
    public interface Handler {
        /** Re-read what these notices name (duplicates removed, in arrival order). */
        void changed(Set<ChangeNotice> notices);

        /** (Re)connected: notices may have been missed, re-read everything. */
        void listening();
    }

    private final DataSource source;
    private final Handler handler;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile int backendPid;
    private volatile long connections;

    /** Starts listening at once, on {@code source}'s connections (each one dedicated, held until it drops). */
    public ChangeListener(DataSource source, Handler handler) {
        this.source = source;
        this.handler = handler;
        this.thread = new Thread(this::run, "loragate-change-listener");
        thread.setDaemon(true);
        thread.start();
    }

    /** The PostgreSQL backend process of the listening connection (0 while not connected). */
    public int backendPid() {
        return backendPid;
    }

    /**
     * How many times a connection started listening and the state was re-read after it (1 after the
     * first; more after reconnects).
     */
    public long connections() {
        return connections;
    }

    private void run() {
        Duration pause = FIRST_PAUSE;
        boolean warned = false;
        while (running) {
            try (Connection c = source.getConnection()) {
                c.setAutoCommit(true);
                try (Statement s = c.createStatement()) {
                    s.execute("LISTEN " + ChangeNotice.CHANNEL);
                }
                try {
                    PGConnection pg = c.unwrap(PGConnection.class);
                    backendPid = pg.getBackendPID();
                    if (warned) {
                        LOG.infof("listening for changes from other replicas again");
                    }
                    warned = false;
                    pause = FIRST_PAUSE;
                    try {
                        handler.listening();
                    } catch (RuntimeException e) { // the periodic reconcile will try again
                        LOG.warnf("cannot re-read the shared state after connecting: %s", e.getMessage());
                    }
                    connections++;
                    listen(c, pg);
                } finally {
                    unlisten(c);
                }
            } catch (SQLException | RuntimeException e) {
                if (!running) {
                    break;
                }
                if (!warned) {
                    LOG.warnf("not listening for changes from other replicas (reconnecting): %s", e.getMessage());
                    warned = true;
                }
            } finally {
                backendPid = 0;
            }
            sleep(pause);
            pause = pause.multipliedBy(2).compareTo(LONGEST_PAUSE) > 0 ? LONGEST_PAUSE : pause.multipliedBy(2);
        }
    }

    private void listen(Connection c, PGConnection pg) throws SQLException {
        int quiet = 0;
        while (running) {
            PGNotification[] heard = pg.getNotifications(WAIT_MILLIS);
            if (heard == null || heard.length == 0) {
                if (++quiet >= QUIET_WAITS_PER_CHECK) {
                    // A quiet connection may be a dead one whose socket has not noticed: ask the server.
                    quiet = 0;
                    try (Statement s = c.createStatement()) {
                        s.execute("SELECT 1");
                    }
                }
                continue;
            }
            quiet = 0;
            Set<ChangeNotice> notices = new LinkedHashSet<>();
            for (PGNotification n : heard) {
                ChangeNotice notice = ChangeNotice.parse(n.getParameter());
                if (notice != null) {
                    notices.add(notice);
                }
            }
            if (!notices.isEmpty()) {
                try {
                    handler.changed(notices);
                } catch (RuntimeException e) { // the reconcile will catch up; keep listening
                    LOG.warnf("cannot follow changes %s: %s", notices, e.getMessage());
                }
            }
        }
    }

    /**
     * Stops listening before the connection goes back to the pool: a pooled connection still
     * listening would collect notices that nobody reads. A broken connection is destroyed anyway.
     */
    private static void unlisten(Connection c) {
        try (Statement s = c.createStatement()) {
            s.execute("UNLISTEN *");
        } catch (SQLException e) {
            // broken: the pool destroys it
        }
    }

    private void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            running = false;
        }
    }

    /** Stops listening: the thread ends after its current wait (at most a second) and hands its connection back. */
    @Override
    public void close() {
        running = false;
        try {
            thread.join(WAIT_MILLIS * 5L);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
