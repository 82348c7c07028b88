package io.loragate.recommend;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import io.loragate.common.Jdbc;
import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import jakarta.enterprise.context.ApplicationScoped;
import java.security.SecureRandom;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;
import javax.sql.DataSource;

/** The {@code sweeps} table (V6__sweeps.sql). Every read by id is scoped by tenant. */
@ApplicationScoped
public class SweepStore {

    public static final Pattern ID = Pattern.compile("sweep-[0-9a-f]{24}");
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String COLUMNS = "id, tenant, request, recommendation, jobs, status, created, finished";
    private static final TypeReference<List<SweepRecord.Entry>> ENTRIES = new TypeReference<>() {
    };

    private final DataSource db;

    public SweepStore(DataSource db) {
        this.db = db;
    }

    /** A fresh sweep id. */
    public static String newId() {
        byte[] b = new byte[12];
        RANDOM.nextBytes(b);
        return "sweep-" + HexFormat.of().formatHex(b);
    }

    public SweepRecord create(String id, String tenant, String requestJson, String recommendationJson,
            List<SweepRecord.Entry> entries) {
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        run("create a sweep", c -> {
            io.loragate.registry.Tenants.requireAlive(c, tenant); // a sweep of a deleted tenant would start its jobs
            try (PreparedStatement s = c.prepareStatement("INSERT INTO sweeps (" + COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, NULL)")) {
                s.setString(1, id);
                s.setString(2, tenant);
                s.setString(3, requestJson);
                s.setString(4, recommendationJson);
                s.setString(5, json(entries));
                s.setString(6, Sweeps.RUNNING);
                s.setObject(7, OffsetDateTime.ofInstant(now, ZoneOffset.UTC));
                s.executeUpdate();
            }
            return null;
        });
        return new SweepRecord(id, tenant, requestJson, recommendationJson, List.copyOf(entries), Sweeps.RUNNING, now, null);
    }

    /** The tenant's sweep, or NOT_FOUND (also for another tenant's). */
    public SweepRecord get(String tenant, String id) {
        SweepRecord r = id == null || !ID.matcher(id).matches() ? null : run("read sweep " + id, c -> {
            try (PreparedStatement s = c.prepareStatement("SELECT " + COLUMNS + " FROM sweeps WHERE id = ?")) {
                s.setString(1, id);
                List<SweepRecord> all = readAll(s);
                return all.isEmpty() ? null : all.get(0);
            }
        });
        if (r == null || !r.tenant().equals(tenant)) {
            throw new LoragateException(Kind.NOT_FOUND, "sweep '" + id + "' not found").withParam("sweep_id");
        }
        return r;
    }

    /** The tenant's sweeps, newest first. */
    public List<SweepRecord> list(String tenant, int limit) {
        return run("list sweeps", c -> {
            try (PreparedStatement s = c.prepareStatement("SELECT " + COLUMNS + " FROM sweeps WHERE tenant = ?"
                    + " ORDER BY created DESC, id DESC LIMIT ?")) {
                s.setString(1, tenant);
                s.setInt(2, limit);
                return readAll(s);
            }
        });
    }

    /** Sweeps still running, oldest first. */
    public List<SweepRecord> running() {
        return run("list running sweeps", c -> {
            try (PreparedStatement s = c.prepareStatement("SELECT " + COLUMNS + " FROM sweeps WHERE status = ? ORDER BY created, id")) {
                s.setString(1, Sweeps.RUNNING);
                return readAll(s);
            }
        });
    }

    public void updateEntries(String id, List<SweepRecord.Entry> entries) {
        run("update sweep " + id, c -> {
            try (PreparedStatement s = c.prepareStatement("UPDATE sweeps SET jobs = ? WHERE id = ?")) {
                s.setString(1, json(entries));
                s.setString(2, id);
                s.executeUpdate();
            }
            return null;
        });
    }

    /** running → {@code status}, stamping the end; false when it was no longer running. */
    public boolean finish(String id, String status) {
        return run("finish sweep " + id, c -> {
            try (PreparedStatement s = c.prepareStatement("UPDATE sweeps SET status = ?, finished = ? WHERE id = ? AND status = ?")) {
                s.setString(1, status);
                s.setObject(2, OffsetDateTime.ofInstant(Instant.now().truncatedTo(ChronoUnit.MILLIS), ZoneOffset.UTC));
                s.setString(3, id);
                s.setString(4, Sweeps.RUNNING);
                return s.executeUpdate() == 1;
            }
        });
    }

    // ---------------------------------------------------------------------------------------------

    /** One transaction, retried on lock timeouts and deadlocks like every store's. */
    private <T> T run(String what, Jdbc.TxBody<T> body) {
        return Jdbc.inTransaction(db, what, body);
    }

    private static List<SweepRecord> readAll(PreparedStatement s) throws SQLException {
        List<SweepRecord> out = new ArrayList<>();
        try (ResultSet r = s.executeQuery()) {
            while (r.next()) {
                OffsetDateTime finished = r.getObject(8, OffsetDateTime.class);
                out.add(new SweepRecord(r.getString(1), r.getString(2), r.getString(3), r.getString(4), entries(r.getString(5)),
                        r.getString(6), r.getObject(7, OffsetDateTime.class).toInstant(),
                        finished == null ? null : finished.toInstant()));
            }
        }
        return out;
    }

    private static String json(List<SweepRecord.Entry> entries) {
        try {
            return Recommendations.JSON.writeValueAsString(entries);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<SweepRecord.Entry> entries(String json) {
        try {
            return Recommendations.JSON.readValue(json, ENTRIES);
        } catch (JsonProcessingException e) {
            throw new LoragateException(Kind.DATA_LOSS, "stored sweep is unreadable: " + e.getOriginalMessage(), e);
        }
    }
}
