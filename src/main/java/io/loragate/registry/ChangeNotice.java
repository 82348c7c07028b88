package io.loragate.registry;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;

/**
 * "Something of this tenant changed; re-read it": what one replica tells the others through
 * PostgreSQL's {@code NOTIFY} on {@link #CHANNEL}, as the payload {@code <kind>:<tenant>:<name>}
 * ({@code tenant:acme:} or {@code adapter:acme:support}). It carries no new state: the receiver
 * re-reads the rows, which are the truth. Names and tenant ids never contain {@code ':'}.
 *
 * @param kind   what to re-read
 * @param tenant the tenant concerned
 * @param name   the adapter's name ({@link Kind#ADAPTER}); empty for {@link Kind#TENANT}
 */
public record ChangeNotice(Kind kind, String tenant, String name) {

    /** The PostgreSQL notification channel every replica listens on. */
    public static final String CHANNEL = "loragate_changes";

    /** What changed. */
    public enum Kind {
        /** The tenant's row: created, key rotated, quotas changed, deleted. */
        TENANT,
        /** One adapter: a version registered or deleted, the active version, a pin. */
        ADAPTER
    }

    public static ChangeNotice tenant(String tenant) {
        return new ChangeNotice(Kind.TENANT, tenant, "");
    }

    public static ChangeNotice adapter(String tenant, String name) {
        return new ChangeNotice(Kind.ADAPTER, tenant, name);
    }

    /** The NOTIFY payload. */
    public String payload() {
        return kind.name().toLowerCase() + ":" + tenant + ":" + name;
    }

    /** The notice of a payload, or null when it is not one of ours (ignored, never an error). */
    public static ChangeNotice parse(String payload) {
        if (payload == null) {
            return null;
        }
        String[] parts = payload.split(":", -1);
        if (parts.length != 3 || parts[1].isEmpty()) {
            return null;
        }
        return switch (parts[0]) {
            case "tenant" -> tenant(parts[1]);
            case "adapter" -> parts[2].isEmpty() ? null : adapter(parts[1], parts[2]);
            default -> null;
        };
    }

    /**
     * Queues this notice in the transaction {@code c}: PostgreSQL delivers it to every listener when
     * (and only if) that transaction commits. A no-op on other databases (H2 is one process: the
     * writer already updated its own memory).
     */
    public void sendIn(Connection c) throws SQLException {
        if (!isPostgres(c)) {
            return;
        }
        try (PreparedStatement s = c.prepareStatement("SELECT pg_notify(?, ?)")) {
            s.setString(1, CHANNEL);
            s.setString(2, payload());
            s.execute();
        }
    }

    static boolean isPostgres(Connection c) throws SQLException {
        return "PostgreSQL".equals(c.getMetaData().getDatabaseProductName());
    }
}
