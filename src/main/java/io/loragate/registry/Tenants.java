package io.loragate.registry;

import io.loragate.common.Jdbc;

import io.loragate.config.LoragateConfig;
import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Event;
import jakarta.enterprise.event.Observes;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import javax.sql.DataSource;
import org.jboss.logging.Logger;

/**
 * Tenants: their API keys (authentication), their quotas (configured defaults, per-tenant
 * overrides) and what they store (for the storage quotas). Keys live only as SHA-256 hashes. A
 * plain SHA-256 (no salt, no slow KDF) is enough because every key is 256 bits from
 * {@link SecureRandom}: nobody can guess or brute-force such a key from its hash, and a slow hash
 * would only slow every request down. Keys are compared with {@link MessageDigest#isEqual}, in
 * constant time.
 *
 * <p>Keys and quotas are held in memory, so authenticating a request never blocks on the database:
 * the transports call it on their I/O threads. Every change is committed with a {@link ChangeNotice};
 * other replicas re-read the tenant's row when they hear it ({@link #refresh}) and re-read all rows
 * periodically ({@link #reconcile}), so a revoked key stops working everywhere.
 */
@ApplicationScoped
public class Tenants {

    private static final Logger LOG = Logger.getLogger(Tenants.class);

    /** The tenant of every caller while authentication is off. */
    public static final String DEFAULT = "default";

    private static final String KEY_PREFIX = "lg-";
    private static final int KEY_ID_HEX = 12;
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Per-tenant overrides of {@code loragate.quotas.*}: null = the default, 0 = unlimited. */
    public record QuotaOverrides(Double requestsPerSecond, Long tokensPerMinute, Integer maxConcurrentStreams,
            Integer maxAdapters, Long maxStoredBytes, Integer maxConcurrentJobs) {
        public static final QuotaOverrides NONE = new QuotaOverrides(null, null, null, null, null, null);
    }

    /** A tenant's effective quotas (0 = unlimited). */
    public record Quota(double requestsPerSecond, long tokensPerMinute, int maxConcurrentStreams, int maxAdapters,
            long maxStoredBytes, int maxConcurrentJobs) {
    }

    /** A tenant as the admin API shows it (never its key). */
    public record Tenant(String id, String keyId, Instant created, Instant keyRotated, QuotaOverrides overrides) {
    }

    /** A tenant and its new key: the only time the key exists outside the caller. */
    public record Issued(Tenant tenant, String apiKey) {
    }

    /** What a tenant stores, against its quotas. */
    public record Usage(int adapters, long adapterBytes, long fileBytes) {
        public long storedBytes() {
            return adapterBytes + fileBytes;
        }
    }

    private record KeyEntry(String tenant, byte[] sha256) {
    }

    private final DataSource db;
    private final LoragateConfig config;
    private final byte[] adminSha256;
    private final Map<String, KeyEntry> keys = new ConcurrentHashMap<>();      // key id -> entry
    private final Map<String, Tenant> tenants = new ConcurrentHashMap<>();     // id -> tenant
    private final java.util.Set<String> deleted = ConcurrentHashMap.newKeySet(); // tombstoned ids, never reissued
    private final Event<Deleted> deletedEvents;
    private final Map<String, Object> quotaLocks = new ConcurrentHashMap<>();
    private volatile boolean loaded;

    public Tenants(DataSource db, LoragateConfig config, Event<Deleted> deletedEvents) {
        this.db = db;
        this.deletedEvents = deletedEvents;
        this.config = config;
        this.adminSha256 = config.auth().adminKeySha256().map(h -> {
            try {
                byte[] b = HexFormat.of().parseHex(h.trim().toLowerCase());
                if (b.length != 32) {
                    throw new IllegalArgumentException("not 32 bytes");
                }
                return b;
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("loragate.auth.admin-key-sha256 must be 64 hex digits (SHA-256)");
            }
        }).orElseGet(() -> config.auth().adminKey().filter(k -> !k.isBlank()).map(Tenants::sha256Bytes).orElse(null));
    }

    void onStart(@Observes StartupEvent e) {
        load();
        if (config.auth().enabled()) {
            LOG.infof("authentication on: %d tenant(s)%s", tenants.size(), adminSha256 == null ? "; no admin key configured" : "");
        }
    }

    /** Whether callers must present an API key. */
    public boolean authEnabled() {
        return config.auth().enabled();
    }

    // ---------------------------------------------------------------------------------------------
    // Authentication

    /** The tenant whose key this is, or empty (unknown, malformed or revoked key). */
    public Optional<String> authenticate(String apiKey) {
        load();
        if (apiKey == null || !apiKey.startsWith(KEY_PREFIX) || apiKey.length() < KEY_PREFIX.length() + KEY_ID_HEX + 2) {
            return Optional.empty();
        }
        String keyId = apiKey.substring(KEY_PREFIX.length(), KEY_PREFIX.length() + KEY_ID_HEX);
        KeyEntry entry = keys.get(keyId);
        byte[] presented = sha256Bytes(apiKey);
        if (entry == null) {
            MessageDigest.isEqual(presented, presented); // same work either way
            return Optional.empty();
        }
        return MessageDigest.isEqual(presented, entry.sha256()) ? Optional.of(entry.tenant()) : Optional.empty();
    }

    /** The key of an {@code Authorization: Bearer <key>} header (REST header, gRPC metadata), or null. */
    public static String bearerKey(String header) {
        if (header == null) {
            return null;
        }
        String h = header.trim();
        if (h.length() < 7 || !h.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return null;
        }
        String key = h.substring(7).trim();
        return key.isEmpty() ? null : key;
    }

    /** Whether an admin key is configured. */
    public boolean adminConfigured() {
        return adminSha256 != null;
    }

    /** Whether {@code key} is the admin key. */
    public boolean isAdmin(String key) {
        return adminSha256 != null && key != null && MessageDigest.isEqual(sha256Bytes(key), adminSha256);
    }

    // ---------------------------------------------------------------------------------------------
    // Management (the admin API)

    /** Creates a tenant and its first key. */
    public Issued create(String id) {
        checkId(id);
        load();
        String key = newKey();
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        Tenant t = new Tenant(id, keyId(key), now, now, QuotaOverrides.NONE);
        synchronized (this) {
            if (tenants.containsKey(id)) {
                throw new LoragateException(Kind.INVALID_ARGUMENT, "tenant '" + id + "' already exists").withParam("id");
            }
            if (deleted.contains(id)) {
                throw new LoragateException(Kind.INVALID_ARGUMENT, "tenant id '" + id + "' belonged to a deleted tenant; ids are"
                        + " never reused (its job history stays bound to it): choose another").withParam("id");
            }
            Jdbc.inTransaction(db, "create tenant " + id, c -> {
                try (PreparedStatement s = c.prepareStatement("INSERT INTO tenants (id, key_id, key_sha256, created, key_rotated)"
                        + " VALUES (?, ?, ?, ?, ?)")) {
                    s.setString(1, id);
                    s.setString(2, t.keyId());
                    s.setString(3, sha256(key));
                    s.setTimestamp(4, Timestamp.from(now));
                    s.setTimestamp(5, Timestamp.from(now));
                    s.executeUpdate();
                } catch (SQLException e) {
                    if ("23505".equals(e.getSQLState())) { // created (or deleted) meanwhile by another process
                        throw new LoragateException(Kind.INVALID_ARGUMENT, "tenant '" + id + "' already exists (or belonged"
                                + " to a deleted tenant; ids are never reused)").withParam("id");
                    }
                    throw e;
                }
                ChangeNotice.tenant(id).sendIn(c);
                return null;
            });
            tenants.put(id, t);
            keys.put(t.keyId(), new KeyEntry(id, sha256Bytes(key)));
        }
        LOG.infof("created tenant %s", id);
        return new Issued(t, key);
    }

    /** All tenants, by id. */
    public List<Tenant> list() {
        load();
        List<Tenant> out = new ArrayList<>(tenants.values());
        out.sort((a, b) -> a.id().compareTo(b.id()));
        return out;
    }

    /** One tenant, or NOT_FOUND. */
    public Tenant get(String id) {
        load();
        Tenant t = id == null ? null : tenants.get(id);
        if (t == null) {
            throw new LoragateException(Kind.NOT_FOUND, "tenant '" + id + "' not found");
        }
        return t;
    }

    /** Replaces a tenant's key: the old one stops working at once. */
    public synchronized Issued rotate(String id) {
        Tenant old = get(id);
        String key = newKey();
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        Tenant t = new Tenant(id, keyId(key), old.created(), now, old.overrides());
        Jdbc.inTransaction(db, "rotate the key of tenant " + id, c -> {
            try (PreparedStatement s = c.prepareStatement("UPDATE tenants SET key_id = ?, key_sha256 = ?, key_rotated = ? WHERE id = ?")) {
                s.setString(1, t.keyId());
                s.setString(2, sha256(key));
                s.setTimestamp(3, Timestamp.from(now));
                s.setString(4, id);
                s.executeUpdate();
            }
            ChangeNotice.tenant(id).sendIn(c);
            return null;
        });
        keys.remove(old.keyId());
        keys.put(t.keyId(), new KeyEntry(id, sha256Bytes(key)));
        tenants.put(id, t);
        LOG.infof("rotated the key of tenant %s", id);
        return new Issued(t, key);
    }

    /**
     * Deletes a tenant (its key stops working at once). Refused while it still stores adapters or
     * files (deleting a tenant never deletes data behind the admin's back) and while it has unfinished
     * jobs or running sweeps (they would publish for a tenant that is gone). The row stays as a
     * tombstone: the id is never issued again. What is left of the tenant (deleted adapter versions,
     * finished jobs with their events and checkpoints, sweeps) is purged once the deletion is
     * committed ({@link Deleted}, observed by {@link TenantPurge}).
     *
     * <p>Atomic with respect to work in flight: the deletion locks the tenant's row first and counts
     * what the tenant stores in that same transaction, and every publication (an adapter version, a
     * file, a job, a sweep) locks the same row with {@link #requireAlive} in the transaction that
     * inserts its row. Whichever commits first wins: a publication that came first makes the deletion
     * refuse; one that comes after finds the tombstone and publishes nothing.
     */
    public synchronized void delete(String id) {
        Tenant t = get(id);
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        Jdbc.inTransaction(db, "delete tenant " + id, c -> {
            try (PreparedStatement s = c.prepareStatement("UPDATE tenants SET deleted = ? WHERE id = ? AND deleted IS NULL")) {
                s.setTimestamp(1, Timestamp.from(now));
                s.setString(2, id);
                if (s.executeUpdate() == 0) {
                    throw new LoragateException(Kind.NOT_FOUND, "tenant '" + id + "' not found");
                }
            }
            // counted under the row lock taken above: a publication either committed before (counted
            // here) or waits for this transaction and then finds the tombstone
            long adapters = count(c, "SELECT COUNT(DISTINCT name) FROM adapter_versions WHERE tenant = ? AND state <> 'deleted'", id);
            long files = count(c, "SELECT COUNT(*) FROM files WHERE tenant = ?", id);
            long unfinished = count(c, "SELECT COUNT(*) FROM jobs WHERE tenant = ? AND status IN ('validating_files', 'queued',"
                    + " 'running')", id);
            int sweeps = runningSweeps(c, id);
            List<String> why = new ArrayList<>();
            if (adapters > 0 || files > 0) {
                long fileBytes = count(c, "SELECT COALESCE(SUM(bytes), 0) FROM files WHERE tenant = ?", id);
                why.add("still stores " + adapters + " adapter(s) and " + files + " file(s) (" + fileBytes
                        + " bytes): delete them first");
            }
            if (unfinished > 0 || sweeps > 0) {
                why.add("has " + unfinished + " unfinished fine-tuning job(s) and " + sweeps + " running sweep(s): cancel them first");
            }
            if (!why.isEmpty()) {
                throw new LoragateException(Kind.FAILED_PRECONDITION, "tenant '" + id + "' " + String.join("; and ", why));
            }
            ChangeNotice.tenant(id).sendIn(c);
            return null;
        });
        keys.remove(t.keyId());
        tenants.remove(id);
        deleted.add(id);
        LOG.infof("deleted tenant %s", id);
        deletedEvents.fire(new Deleted(id));
    }

    /** Fired (synchronously) once a tenant's deletion is committed. */
    public record Deleted(String tenant) {
    }

    /**
     * In a transaction that is about to publish something of {@code tenant} (insert its row): locks
     * the tenant's row until that transaction ends and refuses (UNAUTHENTICATED: its key is gone too)
     * when the tenant was deleted. A tenant without a row (the {@code default} tenant while
     * authentication is off) cannot be deleted and passes.
     */
    public static void requireAlive(Connection c, String tenant) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT deleted FROM tenants WHERE id = ? FOR UPDATE")) {
            s.setString(1, tenant);
            try (ResultSet r = s.executeQuery()) {
                if (r.next() && r.getTimestamp(1) != null) {
                    throw gone(tenant);
                }
            }
        }
    }

    /** Whether {@code tenant} was deleted (a tombstone row), read without a lock. */
    public static boolean isDeleted(Connection c, String tenant) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT deleted FROM tenants WHERE id = ?")) {
            s.setString(1, tenant);
            try (ResultSet r = s.executeQuery()) {
                return r.next() && r.getTimestamp(1) != null;
            }
        }
    }

    /** The error of a publication for a deleted tenant. */
    public static LoragateException gone(String tenant) {
        return new LoragateException(Kind.UNAUTHENTICATED, "tenant '" + tenant + "' was deleted; nothing was stored");
    }

    private static long count(Connection c, String sql, String tenant) throws SQLException {
        try (PreparedStatement s = c.prepareStatement(sql)) {
            s.setString(1, tenant);
            try (ResultSet r = s.executeQuery()) {
                r.next();
                return r.getLong(1);
            }
        }
    }

    /** Replaces a tenant's quota overrides (null fields: the configured default). */
    public synchronized Tenant setQuotas(String id, QuotaOverrides q) {
        Tenant old = get(id);
        validate(q);
        Jdbc.inTransaction(db, "set the quotas of tenant " + id, c -> {
            try (PreparedStatement s = c.prepareStatement("UPDATE tenants SET requests_per_second = ?, tokens_per_minute = ?,"
                    + " max_concurrent_streams = ?, max_adapters = ?, max_stored_bytes = ?, max_concurrent_jobs = ? WHERE id = ?")) {
                set(s, 1, q.requestsPerSecond());
                set(s, 2, q.tokensPerMinute());
                set(s, 3, q.maxConcurrentStreams());
                set(s, 4, q.maxAdapters());
                set(s, 5, q.maxStoredBytes());
                set(s, 6, q.maxConcurrentJobs());
                s.setString(7, id);
                s.executeUpdate();
            }
            ChangeNotice.tenant(id).sendIn(c);
            return null;
        });
        Tenant t = new Tenant(id, old.keyId(), old.created(), old.keyRotated(), q);
        tenants.put(id, t);
        return t;
    }

    /** INVALID_ARGUMENT naming the first negative or non-finite quota. */
    public static void validate(QuotaOverrides q) {
        check(q.requestsPerSecond(), "requests_per_second");
        check(q.tokensPerMinute(), "tokens_per_minute");
        check(q.maxConcurrentStreams(), "max_concurrent_streams");
        check(q.maxAdapters(), "max_adapters");
        check(q.maxStoredBytes(), "max_stored_bytes");
        check(q.maxConcurrentJobs(), "max_concurrent_jobs");
    }

    private static void check(Number n, String field) {
        if (n != null && !(n.doubleValue() >= 0 && Double.isFinite(n.doubleValue()))) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "'" + field + "' must be 0 (unlimited) or positive, got " + n)
                    .withParam(field);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Quotas and usage

    /** The tenant's effective quotas: its overrides, else {@code loragate.quotas.*}. */
    public Quota quota(String tenant) {
        load();
        var d = config.quotas();
        Tenant t = tenants.get(tenant);
        QuotaOverrides o = t == null ? QuotaOverrides.NONE : t.overrides();
        return new Quota(
                o.requestsPerSecond() != null ? o.requestsPerSecond() : d.requestsPerSecond(),
                o.tokensPerMinute() != null ? o.tokensPerMinute() : d.tokensPerMinute(),
                o.maxConcurrentStreams() != null ? o.maxConcurrentStreams() : d.maxConcurrentStreams(),
                o.maxAdapters() != null ? o.maxAdapters() : d.maxAdapters(),
                o.maxStoredBytes() != null ? o.maxStoredBytes() : d.maxStoredBytes(),
                o.maxConcurrentJobs() != null ? o.maxConcurrentJobs()
                        : d.maxConcurrentJobs().orElse(config.jobs().maxPerTenant()));
    }

    /** Adapters (names with a live version) and bytes stored by {@code tenant}. */
    public Usage usage(String tenant) {
        return Jdbc.inTransaction(db, "measure the storage of " + tenant, c -> usage(c, tenant));
    }

    private static Usage usage(Connection c, String tenant) throws SQLException {
        int adapters;
        long adapterBytes;
        try (PreparedStatement s = c.prepareStatement("SELECT COUNT(DISTINCT name), COALESCE(SUM(bytes), 0)"
                + " FROM adapter_versions WHERE tenant = ? AND state <> 'deleted'")) {
            s.setString(1, tenant);
            try (ResultSet r = s.executeQuery()) {
                r.next();
                adapters = r.getInt(1);
                adapterBytes = r.getLong(2);
            }
        }
        long fileBytes;
        try (PreparedStatement s = c.prepareStatement("SELECT COALESCE(SUM(bytes), 0) FROM files WHERE tenant = ?")) {
            s.setString(1, tenant);
            try (ResultSet r = s.executeQuery()) {
                r.next();
                fileBytes = r.getLong(1);
            }
        }
        return new Usage(adapters, adapterBytes, fileBytes);
    }

    private static boolean hasLiveVersion(Connection c, String tenant, String name) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT COUNT(*) FROM adapter_versions WHERE tenant = ? AND name = ?"
                + " AND state <> 'deleted'")) {
            s.setString(1, tenant);
            s.setString(2, name);
            try (ResultSet r = s.executeQuery()) {
                r.next();
                return r.getLong(1) > 0;
            }
        }
    }

    /**
     * Held around "check a quota, then store or create": two uploads (or jobs) of one tenant cannot
     * both pass the check with room for only one.
     */
    public Object quotaLock(String tenant) {
        return quotaLocks.computeIfAbsent(tenant, t -> new Object());
    }

    /**
     * Refuses (RESOURCE_EXHAUSTED) storing {@code bytes} more for {@code tenant}, and a new adapter
     * name when {@code newAdapter}, beyond its quotas, in a transaction of its own: a pre-check that
     * fails fast. The check that counts is {@link #checkStorage(Connection, String, long, String, String)}
     * in the transaction that stores.
     */
    public void checkStorage(String tenant, long bytes, String adapterName, String param) {
        Jdbc.inTransaction(db, "check the quotas of " + tenant, c -> {
            checkStorage(c, tenant, bytes, adapterName, param);
            return null;
        });
    }

    /**
     * {@link #checkStorage(String, long, String, String)} in the transaction {@code c} that then stores:
     * when a quota applies, it first locks the tenant's quota row ({@link #lockQuota}) until {@code c}
     * ends, so the check and the insert are atomic across processes sharing the database, not only
     * across the threads that {@link #quotaLock} serialises. {@code adapterName}: the adapter a new
     * version is for (null: not an adapter).
     */
    public void checkStorage(Connection c, String tenant, long bytes, String adapterName, String param) throws SQLException {
        Quota q = quota(tenant);
        if (q.maxStoredBytes() == 0 && (q.maxAdapters() == 0 || adapterName == null)) {
            return;
        }
        lockQuota(c, tenant);
        Usage u = usage(c, tenant);
        boolean newAdapter = adapterName != null && q.maxAdapters() > 0 && !hasLiveVersion(c, tenant, adapterName);
        if (newAdapter && q.maxAdapters() > 0 && u.adapters() >= q.maxAdapters()) {
            throw new LoragateException(Kind.RESOURCE_EXHAUSTED, "quota exceeded: this tenant already has " + u.adapters()
                    + " adapters, its limit (max_adapters); delete one first").withParam(param).retryAfter(60);
        }
        if (q.maxStoredBytes() > 0 && u.storedBytes() + bytes > q.maxStoredBytes()) {
            throw new LoragateException(Kind.RESOURCE_EXHAUSTED, "quota exceeded: storing " + bytes + " bytes more would make "
                    + (u.storedBytes() + bytes) + " bytes; this tenant's limit (max_stored_bytes) is " + q.maxStoredBytes()
                    + " bytes").withParam(param).retryAfter(60);
        }
    }

    /**
     * Locks {@code tenant}'s row of {@code quota_locks} until the transaction {@code c} ends (creating
     * the row on first use): every "check a quota, then store" of the tenant, in any process, holds
     * it, so such transactions run one after the other and each counts what the previous stored.
     */
    public static void lockQuota(Connection c, String tenant) throws SQLException {
        Savepoint before = c.setSavepoint();
        try (PreparedStatement s = c.prepareStatement("INSERT INTO quota_locks (tenant) SELECT ? WHERE NOT EXISTS"
                + " (SELECT 1 FROM quota_locks WHERE tenant = ?)")) {
            s.setString(1, tenant);
            s.setString(2, tenant);
            s.executeUpdate();
        } catch (SQLException e) {
            if (!"23505".equals(e.getSQLState())) {
                throw e;
            }
            c.rollback(before); // another transaction created the row meanwhile: lock that one
        }
        try (PreparedStatement s = c.prepareStatement("SELECT tenant FROM quota_locks WHERE tenant = ? FOR UPDATE")) {
            s.setString(1, tenant);
            try (ResultSet r = s.executeQuery()) {
                r.next();
            }
        }
    }

    // ---------------------------------------------------------------------------------------------

    private void load() {
        if (loaded) {
            return;
        }
        synchronized (this) {
            if (loaded) {
                return;
            }
            Map<String, Row> rows = Jdbc.inTransaction(db, "load tenants", c -> read(c, null));
            rows.forEach(this::apply);
            loaded = true;
        }
    }

    /**
     * Re-reads one tenant's row (another replica changed it): its key, quotas, or its deletion take
     * effect here. The row is the truth; what was in memory is replaced.
     */
    public void refresh(String id) {
        load();
        synchronized (this) { // read and apply together: a later read is never overwritten by an older one
            Map<String, Row> rows = Jdbc.inTransaction(db, "re-read tenant " + id, c -> read(c, id));
            apply(id, rows.get(id));
        }
    }

    /** Re-reads every tenant's row: the safety net for changes whose notice this replica missed. */
    public void reconcile() {
        load();
        synchronized (this) {
            Map<String, Row> rows = Jdbc.inTransaction(db, "re-read tenants", c -> read(c, null));
            rows.forEach(this::apply);
            for (String id : List.copyOf(tenants.keySet())) {
                if (!rows.containsKey(id)) {
                    apply(id, null);
                }
            }
        }
    }

    /** One row of {@code tenants}: the tenant, its key's hash, and whether it is a tombstone. */
    private record Row(Tenant tenant, byte[] keySha256, boolean deleted) {
    }

    /** The rows of {@code tenants} by id: all when {@code id} is null, else that one (if any). */
    private static Map<String, Row> read(Connection c, String id) throws SQLException {
        Map<String, Row> out = new java.util.HashMap<>();
        try (PreparedStatement s = c.prepareStatement("SELECT id, key_id, key_sha256, created, key_rotated,"
                + " requests_per_second, tokens_per_minute, max_concurrent_streams, max_adapters, max_stored_bytes,"
                + " max_concurrent_jobs, deleted FROM tenants" + (id == null ? "" : " WHERE id = ?"))) {
            if (id != null) {
                s.setString(1, id);
            }
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    QuotaOverrides q = new QuotaOverrides(r.getObject(6) == null ? null : r.getDouble(6),
                            r.getObject(7) == null ? null : r.getLong(7), r.getObject(8) == null ? null : r.getInt(8),
                            r.getObject(9) == null ? null : r.getInt(9), r.getObject(10) == null ? null : r.getLong(10),
                            r.getObject(11) == null ? null : r.getInt(11));
                    Tenant t = new Tenant(r.getString(1), r.getString(2), r.getTimestamp(4).toInstant(),
                            r.getTimestamp(5).toInstant(), q);
                    out.put(t.id(), new Row(t, HexFormat.of().parseHex(r.getString(3)), r.getTimestamp(12) != null));
                }
            }
        }
        return out;
    }

    /**
     * Makes memory say what {@code row} says (null: no row). The new key is added before the old one
     * is removed, so a request with a key that stays valid is never refused in between.
     */
    private void apply(String id, Row row) {
        Tenant old = tenants.get(id);
        if (row == null || row.deleted()) {
            tenants.remove(id);
            if (row != null) {
                deleted.add(id);
            }
        } else {
            keys.put(row.tenant().keyId(), new KeyEntry(id, row.keySha256()));
            tenants.put(id, row.tenant());
        }
        if (old != null && (row == null || row.deleted() || !old.keyId().equals(row.tenant().keyId()))) {
            keys.remove(old.keyId());
        }
    }

    /** Sweeps of the tenant still running (the sweeps table belongs to the recommender, above this layer). */
    private static int runningSweeps(java.sql.Connection c, String tenant) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT COUNT(*) FROM sweeps WHERE tenant = ? AND status = 'running'")) {
            s.setString(1, tenant);
            try (ResultSet r = s.executeQuery()) {
                r.next();
                return r.getInt(1);
            }
        }
    }

    private static void set(PreparedStatement s, int i, Number n) throws SQLException {
        if (n == null) {
            s.setNull(i, n instanceof Double ? Types.DOUBLE : Types.BIGINT);
        } else if (n instanceof Double d) {
            s.setDouble(i, d);
        } else {
            s.setLong(i, n.longValue());
        }
    }

    /** Tenant ids follow the adapter-name rule: one safe path segment. */
    public static void checkId(String id) {
        if (id == null || !AdapterRegistry.NAME.matcher(id).matches()) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "invalid tenant id '" + id
                    + "': use 1-64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit").withParam("id");
        }
    }

    private static String newKey() {
        byte[] secret = new byte[32];
        RANDOM.nextBytes(secret);
        byte[] id = new byte[KEY_ID_HEX / 2];
        RANDOM.nextBytes(id);
        return KEY_PREFIX + HexFormat.of().formatHex(id) + "-" + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
    }

    private static String keyId(String key) {
        return key.substring(KEY_PREFIX.length(), KEY_PREFIX.length() + KEY_ID_HEX);
    }

    private static byte[] sha256Bytes(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Hex SHA-256 of a key (what {@code loragate.auth.admin-key-sha256} holds). */
    public static String sha256(String s) {
        return HexFormat.of().formatHex(sha256Bytes(s));
    }
}
