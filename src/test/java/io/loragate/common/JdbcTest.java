package io.loragate.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.common.LoragateException.Kind;
import java.net.ConnectException;
import java.sql.SQLException;
import org.junit.jupiter.api.Test;

/** Which database failures mean "unavailable" (503, retry later) and which are errors (500). */
class JdbcTest {

    @Test
    void connectionFailuresAndShutdownsAreUnavailable() {
        assertTrue(Jdbc.unavailable(new SQLException("Connection refused", "08001")));
        assertTrue(Jdbc.unavailable(new SQLException("An I/O error occurred while sending to the backend", "08006")));
        assertTrue(Jdbc.unavailable(new SQLException("terminating connection due to administrator command", "57P01")));
        assertTrue(Jdbc.unavailable(new SQLException("the database system is starting up", "57P03")));
        assertTrue(Jdbc.unavailable(new SQLException("wrapped", null, new SQLException("closed", "08003"))),
                "a connection error anywhere in the cause chain");
        assertTrue(Jdbc.unavailable(new SQLException("pool", null, new ConnectException("Connection refused"))));
        assertTrue(Jdbc.unavailable(new SQLException("Acquisition timeout while waiting for new connection")));
    }

    @Test
    void statementFailuresAreNot() {
        assertFalse(Jdbc.unavailable(new SQLException("duplicate key", "23505")));
        assertFalse(Jdbc.unavailable(new SQLException("deadlock detected", "40P01")));
        assertFalse(Jdbc.unavailable(new SQLException("syntax error", "42601")));
        assertFalse(Jdbc.unavailable(new SQLException("no state")));
    }

    @Test
    void dbErrorSaysDatabaseUnavailableOrNamesTheFailure() {
        LoragateException down = Jdbc.dbError("list adapters", new SQLException("Connection refused", "08001"));
        assertEquals(Kind.UNAVAILABLE, down.kind());
        assertTrue(down.getMessage().startsWith("database unavailable: cannot list adapters"), down.getMessage());
        assertTrue(down.retryAfterSeconds() > 0);

        LoragateException bug = Jdbc.dbError("list adapters", new SQLException("syntax error", "42601"));
        assertEquals(Kind.INTERNAL, bug.kind());
        assertTrue(bug.getMessage().contains("syntax error"), bug.getMessage());
    }
}
