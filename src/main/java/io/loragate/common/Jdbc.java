package io.loragate.common;

import io.loragate.common.LoragateException.Kind;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.jboss.logging.Logger;

/**
 * Transactions of the registry's stores: retried on lock timeouts and deadlocks; failures mapped to
 * UNAVAILABLE when the database cannot be reached, else INTERNAL.
 */
public final class Jdbc {

    private static final Logger LOG = Logger.getLogger(Jdbc.class);
    public static final int TX_ATTEMPTS = 5;

    private Jdbc() {
    }

    public interface TxBody<T> {
        T run(Connection c) throws SQLException;
    }

    /** Runs {@code body} in one transaction; {@code what} names the operation in errors. */
    public static <T> T inTransaction(DataSource db, String what, TxBody<T> body) {
        for (int attempt = 1; ; attempt++) {
            try (Connection c = db.getConnection()) {
                c.setAutoCommit(false);
                try {
                    T result = body.run(c);
                    c.commit();
                    return result;
                } catch (SQLException | RuntimeException e) {
                    rollback(c);
                    throw e;
                }
            } catch (SQLException e) {
                if (attempt < TX_ATTEMPTS && retryable(e)) {
                    continue;
                }
                throw dbError(what, e);
            }
        }
    }

    public static void rollback(Connection c) {
        try {
            c.rollback();
        } catch (SQLException e) {
            LOG.warnf("rollback failed: %s", e.getMessage());
        }
    }

    /** Lock timeouts, deadlocks and serialization failures: the transaction may simply be retried. */
    public static boolean retryable(SQLException e) {
        String state = e.getSQLState();
        return state != null && (state.startsWith("40") || state.equals("HYT00"));
    }

    /** Runs one statement with {@code args} bound in order (null as SQL NULL). */
    public static void update(Connection c, String sql, Object... args) throws SQLException {
        try (java.sql.PreparedStatement s = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                if (args[i] == null) {
                    // untyped: PostgreSQL refuses a VARCHAR null for an INTEGER column
                    s.setNull(i + 1, java.sql.Types.NULL);
                } else {
                    s.setObject(i + 1, args[i]);
                }
            }
            s.executeUpdate();
        }
    }

    /**
     * A failure of the database's availability, not of the statement: no connection could be made or
     * the connection broke (SQLSTATE class 08), the server is shutting down or starting (57P01-57P03),
     * or the pool could not hand out a connection in time. Anywhere in the cause chain.
     */
    public static boolean unavailable(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException s && s.getSQLState() != null
                    && (s.getSQLState().startsWith("08") || s.getSQLState().matches("57P0[123]"))) {
                return true;
            }
            if (t instanceof java.net.ConnectException || t instanceof java.io.EOFException) {
                return true;
            }
            if (t.getMessage() != null && t.getMessage().startsWith("Acquisition timeout")) { // Agroal's pool
                return true;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }

    /** The error a client sees: UNAVAILABLE ("database unavailable", retry later) or INTERNAL. */
    public static LoragateException dbError(String what, SQLException e) {
        if (unavailable(e)) {
            return new LoragateException(Kind.UNAVAILABLE, "database unavailable: cannot " + what + " now; retry later", e)
                    .retryAfter(UNAVAILABLE_RETRY_SECONDS);
        }
        return new LoragateException(Kind.INTERNAL, "metadata database: cannot " + what + ": " + e.getMessage(), e);
    }

    /** What an UNAVAILABLE answer suggests as Retry-After. */
    static final long UNAVAILABLE_RETRY_SECONDS = 5;
}
