package io.loragate.registry;

import io.loragate.common.BlobStore;
import io.loragate.common.DurableFiles;
import io.loragate.common.Jdbc;

import ai.djl.Device;
import io.loragate.adapter.LoraAdapter;
import io.loragate.adapter.PeftConfig;
import io.loragate.config.LoragateConfig;
import io.loragate.model.BaseModel;
import io.loragate.common.DataPaths;
import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import io.loragate.runtime.ResidentModel;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Event;
import jakarta.enterprise.event.Observes;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.jboss.logging.Logger;

/**
 * Tenants' adapters and their immutable versions: metadata in the database, weights in the
 * {@link BlobStore} under {@code adapters/<tenant>/<name>/<version>/}. Every method is scoped by tenant; another
 * tenant's adapter is simply not found.
 *
 * <p>Errors are {@link LoragateException}s whose message names the bad value:
 * {@code INVALID_ARGUMENT} for bad names and uploads, {@code NOT_FOUND} for unknown adapters or
 * versions, {@code FAILED_PRECONDITION} for operations the current state forbids.
 *
 * <p>Pins: the alias pin ({@link #pin} with no version) keeps whichever version is active resident
 * and follows {@link #setActive}; a version pin keeps that one version resident. Both persist.
 */
@ApplicationScoped
public class AdapterRegistry {

    private static final Logger LOG = Logger.getLogger(AdapterRegistry.class);

    /** Adapter names (and tenants): safe as one path segment, never {@code .} or {@code ..}, no {@code @}. */
    public static final Pattern NAME = DataPaths.ID;

    static final String ADAPTERS_DIR = "adapters";
    static final String TMP_DIR = "tmp";
    private static final String STAGING_PREFIX = "publish-";
    private static final long BASE_WAIT_SECONDS = 60;

    private final DataSource db;
    private final LoragateConfig config;
    private final ResidentModel resident;
    private final Event<AdapterEvent> events;
    private final Tenants tenants;
    private final BlobStore blobs;
    private final LastResolved lastResolved = new LastResolved();

    public AdapterRegistry(DataSource db, LoragateConfig config, ResidentModel resident, Event<AdapterEvent> events,
            Tenants tenants, BlobStore blobs) {
        this.db = db;
        this.blobs = blobs;
        this.tenants = tenants;
        this.config = config;
        this.resident = resident;
        this.events = events;
    }

    // ---------------------------------------------------------------------------------------------
    // Registration

    /**
     * Publishes a new version of {@code name} from a PEFT folder's two files. The files are copied
     * and validated fully (config, safetensors only, loads against the resident base, rank and size
     * limits) before the version exists; publication then publishes the copy to the blob store and
     * inserts the version row, so a crash leaves either no version or a whole one. Version numbers are
     * {@code max+1} per name, assigned atomically and never reused. The first version of a name (or
     * the first after all its versions were deleted) becomes active.
     *
     * @param adapterConfigJson an {@code adapter_config.json} (any file name; it is copied)
     * @param adapterWeights    an {@code adapter_model.safetensors} (any file name; it is copied)
     */
    public AdapterVersion register(String tenant, String name, Path adapterConfigJson, Path adapterWeights) {
        return register(tenant, name, adapterConfigJson, adapterWeights, null);
    }

    /**
     * {@link #register}, recording the fine-tuning job that trained the adapter: a job publishes at
     * most one version, whichever replica or attempt publishes it. When the job already published
     * one, that version is answered and nothing new is stored (a unique index on the source job
     * holds this across processes; the check runs under the adapter's row lock).
     *
     * @param sourceJob the job's id, or null for an upload
     */
    public AdapterVersion register(String tenant, String name, Path adapterConfigJson, Path adapterWeights, String sourceJob) {
        checkTenant(tenant);
        checkName(name);
        requireFile(adapterConfigJson, "config", PeftConfig.FILE_NAME);
        requireFile(adapterWeights, "weights", LoraAdapter.WEIGHTS_FILE);
        long weightsBytes = size(adapterWeights);
        long total = weightsBytes + size(adapterConfigJson);
        long limit = config.adapters().maxUploadBytes().asLongValue();
        if (total > limit) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "adapter upload of " + total + " bytes exceeds the limit of "
                    + limit + " bytes (loragate.adapters.max-upload-bytes)").withParam("weights");
        }
        checkSafetensors(adapterWeights);

        refuseLinksInDataDir(adapterConfigJson);
        refuseLinksInDataDir(adapterWeights);
        Path staging = DataPaths.under(config.dataDir(), TMP_DIR, STAGING_PREFIX + UUID.randomUUID());
        try {
            Files.createDirectories(staging);
            DurableFiles.copy(adapterConfigJson, staging.resolve(PeftConfig.FILE_NAME), DataModes.fileAttributes());
            String sha256 = DurableFiles.copy(adapterWeights, staging.resolve(LoraAdapter.WEIGHTS_FILE), DataModes.fileAttributes());
            DurableFiles.fsyncDirectory(staging);
            Validated valid = validate(staging, name);
            synchronized (tenants.quotaLock(tenant)) {
                return publish(tenant, name, staging, valid, weightsBytes, sha256, sourceJob);
            }
        } catch (IOException e) {
            throw new LoragateException(Kind.INTERNAL, "cannot stage adapter '" + name + "': " + e.getMessage(), e);
        } finally {
            DurableFiles.deleteRecursively(staging);
        }
    }

    private record Validated(String peftType, int rank) {
    }

    /** Everything a version must satisfy, checked on the staged copy (what will be published). */
    private Validated validate(Path staging, String name) {
        int maxRank = config.adapters().maxRank();
        try {
            PeftConfig peft = PeftConfig.read(staging.resolve(PeftConfig.FILE_NAME));
            int declared = peft.isLora() ? peft.lora().maxRank() : 0;
            if (declared > maxRank) {
                throw new LoragateException(Kind.INVALID_ARGUMENT, "config (adapter_config.json): rank " + declared
                        + " exceeds the limit of " + maxRank + " (loragate.adapters.max-rank)").withParam("config");
            }
            BaseModel base = awaitBase();
            if (name.equals(resident.id())) {
                throw new LoragateException(Kind.INVALID_ARGUMENT, "adapter name '" + name
                        + "' is the base model's id; choose another name").withParam("name");
            }
            // On the CPU whatever the base's device: this only proves that the files fit the base.
            try (LoraAdapter adapter = LoraAdapter.load(staging, base.config().family(), base.linears(), base.paramShapes(),
                    Device.cpu(), base::parameter)) {
                if (adapter.rank() > maxRank) {
                    throw new LoragateException(Kind.INVALID_ARGUMENT, "weights (adapter_model.safetensors): rank "
                            + adapter.rank() + " exceeds the limit of " + maxRank + " (loragate.adapters.max-rank)")
                            .withParam("weights");
                }
                return new Validated(peft.peftType(), adapter.rank());
            }
        } catch (LoragateException e) {
            throw uploadError(e, staging);
        }
    }

    /** Rewrites an error about a staged file so that it names the upload part, not a temporary path. */
    private static LoragateException uploadError(LoragateException e, Path staging) {
        if (e.param() != null) {
            return e;
        }
        String msg = e.getMessage();
        String param = null;
        String weights = staging.resolve(LoraAdapter.WEIGHTS_FILE).toString();
        String cfg = staging.resolve(PeftConfig.FILE_NAME).toString();
        if (msg.contains(weights)) {
            param = "weights";
            msg = msg.replace(weights, "weights (" + LoraAdapter.WEIGHTS_FILE + ")");
        }
        if (msg.contains(cfg)) {
            param = param == null ? "config" : param;
            msg = msg.replace(cfg, "config (" + PeftConfig.FILE_NAME + ")");
        }
        msg = msg.replace(staging.toString(), "upload");
        if (param == null && msg.equals(e.getMessage())) {
            return e;
        }
        LoragateException rewritten = new LoragateException(e.kind(), msg, e);
        return param == null ? rewritten : rewritten.withParam(param);
    }

    /** Publishes the staged folder as the version's blobs and inserts the version row, under a lock on the name. */
    private AdapterVersion publish(String tenant, String name, Path staging, Validated valid, long bytes, String sha256,
            String sourceJob) {
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        for (int attempt = 1; ; attempt++) {
            try (Connection c = db.getConnection()) {
                c.setAutoCommit(true);
                if (Tenants.isDeleted(c, tenant)) {
                    throw Tenants.gone(tenant);
                }
                insertAdapterIfAbsent(c, tenant, name, now);
                c.setAutoCommit(false);
                try {
                    requireTenantRoom(c, tenant, name, bytes);
                    Integer active = lockAdapter(c, tenant, name);
                    AdapterVersion earlier = sourceJob == null ? null : publishedBy(c, tenant, sourceJob);
                    if (earlier != null) {
                        rollback(c);
                        LOG.infof("job %s already published %s; nothing new registered", sourceJob, earlier.id());
                        return earlier;
                    }
                    int version = maxVersion(c, tenant, name) + 1;
                    AdapterVersion v = new AdapterVersion(tenant, name, version, valid.peftType(), valid.rank(), bytes, sha256, now);
                    publishAndCommit(c, v, active == null, staging, sourceJob);
                    announceRegistered(v, active == null);
                    return v;
                } catch (SQLException | IOException | RuntimeException e) {
                    rollback(c);
                    throw e;
                }
            } catch (SQLException e) {
                // a racing publisher of the same job won the unique index: the next attempt finds its version
                boolean sameJob = sourceJob != null && "23505".equals(e.getSQLState());
                if (attempt < Jdbc.TX_ATTEMPTS && (retryable(e) || sameJob)) {
                    continue;
                }
                throw dbError("register adapter '" + name + "'", e);
            } catch (IOException e) {
                throw new LoragateException(Kind.INTERNAL, "cannot publish adapter '" + name + "': " + e.getMessage(), e);
            }
        }
    }

    /**
     * Locks the tenant's row first (the lock order of a tenant's deletion), then checks its storage quota in this
     * transaction (under the quota row: holds across processes). Deleted meanwhile or over quota: nothing is
     * published, and the adapter row inserted for a new name goes again if it has no version.
     */
    private void requireTenantRoom(Connection c, String tenant, String name, long bytes) throws SQLException {
        try {
            Tenants.requireAlive(c, tenant);
            tenants.checkStorage(c, tenant, bytes, name, "weights");
        } catch (LoragateException gone) {
            rollback(c);
            c.setAutoCommit(true);
            update(c, "DELETE FROM adapters WHERE tenant = ? AND name = ? AND NOT EXISTS (SELECT 1 FROM"
                    + " adapter_versions v WHERE v.tenant = adapters.tenant AND v.name = adapters.name)", tenant, name);
            c.setAutoCommit(false);
            throw gone;
        }
    }

    /**
     * Publishes the blobs, then inserts the version row (and makes it active if the name has none) and commits;
     * a failed transaction takes the blobs back into staging.
     */
    private void publishAndCommit(Connection c, AdapterVersion v, boolean makeActive, Path staging, String sourceJob)
            throws SQLException, IOException {
        String key = versionKey(v.tenant(), v.name(), v.version());
        // replaces blobs without a row: what a crash between publication and insert leaves behind
        blobs.publish(key, staging);
        try {
            insertVersionRow(c, v, sourceJob);
            if (makeActive) {
                update(c, "UPDATE adapters SET active_version = ? WHERE tenant = ? AND name = ?", v.version(), v.tenant(), v.name());
            }
            ChangeNotice.adapter(v.tenant(), v.name()).sendIn(c);
            c.commit();
        } catch (SQLException | RuntimeException e) {
            rollback(c);
            // Back to staging: a retry publishes it again, and the finally of register deletes it.
            unpublish(key, staging, e);
            throw e;
        }
    }

    /** The version the job {@code sourceJob} published (deleted ones included: a job publishes once), or null. */
    private static AdapterVersion publishedBy(Connection c, String tenant, String sourceJob) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT " + VERSION_COLUMNS + " FROM adapter_versions v"
                + " WHERE v.source_job = ? AND v.tenant = ?")) {
            s.setString(1, sourceJob);
            s.setString(2, tenant);
            try (ResultSet r = s.executeQuery()) {
                return r.next() ? version(tenant, r) : null;
            }
        }
    }

    private static void insertVersionRow(Connection c, AdapterVersion v, String sourceJob) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("INSERT INTO adapter_versions (tenant, name, version,"
                + " peft_type, rank, bytes, sha256, state, pinned, created, source_job)"
                + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, FALSE, ?, ?)")) {
            s.setString(1, v.tenant());
            s.setString(2, v.name());
            s.setInt(3, v.version());
            s.setString(4, v.peftType());
            s.setInt(5, v.rank());
            s.setLong(6, v.bytes());
            s.setString(7, v.sha256());
            s.setString(8, VersionStatus.READY);
            s.setObject(9, OffsetDateTime.ofInstant(v.createdAt(), ZoneOffset.UTC));
            s.setString(10, sourceJob);
            s.executeUpdate();
        }
    }

    /** After the commit: the log line, the cached resolution of the name dropped, the event fired. */
    private void announceRegistered(AdapterVersion v, boolean active) {
        LOG.infof("registered adapter %s/%s (%s, r=%d, %d bytes)%s", v.tenant(), v.id(), v.peftType(), v.rank(),
                v.bytes(), active ? ", active" : "");
        lastResolved.forget(v.tenant(), v.name());
        events.fire(new AdapterEvent(AdapterEvent.Type.REGISTERED, v.tenant(), v.name(), v.version()));
    }

    // ---------------------------------------------------------------------------------------------
    // Queries

    /** The tenant's adapters with live versions, by name. */
    public List<AdapterInfo> list(String tenant) {
        return query(tenant, null);
    }

    /** One adapter, or {@code NOT_FOUND}. */
    public AdapterInfo get(String tenant, String name) {
        List<AdapterInfo> found = NAME.matcher(name).matches() ? query(tenant, name) : List.of();
        if (found.isEmpty()) {
            throw notFound(name);
        }
        return found.get(0);
    }

    private List<AdapterInfo> query(String tenant, String name) {
        String sql = "SELECT a.name, a.active_version, a.pinned, " + VERSION_COLUMNS + " FROM adapters a JOIN adapter_versions v"
                + " ON a.tenant = v.tenant AND a.name = v.name WHERE a.tenant = ? AND v.state <> 'deleted'"
                + (name == null ? "" : " AND a.name = ?") + " ORDER BY a.name, v.version";
        try (Connection c = db.getConnection(); PreparedStatement s = c.prepareStatement(sql)) {
            s.setString(1, tenant);
            if (name != null) {
                s.setString(2, name);
            }
            Map<String, List<AdapterVersion>> versions = new LinkedHashMap<>();
            Map<String, int[]> active = new LinkedHashMap<>();
            Map<String, Boolean> pinned = new LinkedHashMap<>();
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    String n = r.getString(1);
                    versions.computeIfAbsent(n, k -> new ArrayList<>()).add(version(tenant, r));
                    active.put(n, new int[] {r.getInt(2)});
                    pinned.put(n, r.getBoolean(3));
                }
            }
            List<AdapterInfo> out = new ArrayList<>();
            versions.forEach((n, vs) -> out.add(new AdapterInfo(tenant, n, active.get(n)[0], pinned.get(n), vs)));
            return out;
        } catch (SQLException e) {
            throw dbError("list adapters", e);
        }
    }

    /**
     * Resolves an adapter id: {@code name} to its active version, {@code name@3} to that version.
     * {@code NOT_FOUND} (never a permission error) for unknown ids, malformed ids, deleted versions
     * and other tenants' adapters.
     */
    public AdapterVersion resolve(String tenant, String adapterId) {
        if (adapterId == null) {
            throw notFound("null");
        }
        int at = adapterId.lastIndexOf('@');
        String name = at < 0 ? adapterId : adapterId.substring(0, at);
        Integer version = null;
        if (at >= 0) {
            version = parseVersion(adapterId.substring(at + 1));
            if (version == null) {
                throw notFound(adapterId);
            }
        }
        if (!NAME.matcher(name).matches()) {
            throw notFound(adapterId);
        }
        String sql = "SELECT " + VERSION_COLUMNS + " FROM adapters a JOIN adapter_versions v ON a.tenant = v.tenant"
                + " AND a.name = v.name WHERE a.tenant = ? AND a.name = ? AND v.state <> 'deleted' AND v.version = "
                + (version == null ? "a.active_version" : "?");
        try (Connection c = db.getConnection(); PreparedStatement s = c.prepareStatement(sql)) {
            s.setString(1, tenant);
            s.setString(2, name);
            if (version != null) {
                s.setInt(3, version);
            }
            try (ResultSet r = s.executeQuery()) {
                if (!r.next()) {
                    throw notFound(adapterId);
                }
                AdapterVersion v = version(tenant, r);
                lastResolved.put(tenant, name, adapterId, v);
                return v;
            }
        } catch (SQLException e) {
            AdapterVersion last = Jdbc.unavailable(e) ? lastResolved.get(tenant, name, adapterId) : null;
            if (last != null) {
                return last; // the database is down: what this id resolved to last (served only if resident)
            }
            throw dbError("resolve adapter '" + adapterId + "'", e);
        }
    }

    /**
     * Another replica changed the adapter (a {@link ChangeNotice}): what this replica remembers of
     * its resolutions goes. The cache follows separately ({@link AdapterCache#refresh}).
     */
    public void forget(String tenant, String name) {
        lastResolved.forget(tenant, name);
    }

    /** The PEFT folder of a version ({@code adapter_config.json} + {@code adapter_model.safetensors}). */
    public Path folder(AdapterVersion v) {
        String key = versionKey(v.tenant(), v.name(), v.version());
        try {
            return blobs.get(key);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read adapter " + v.id() + ": " + e.getMessage(), e);
        }
    }

    /** Files handed to {@link #register} from inside the data directory (a job's output) must not be links. */
    private void refuseLinksInDataDir(Path file) {
        Path root = config.dataDir().toAbsolutePath().normalize();
        if (file != null && file.toAbsolutePath().normalize().startsWith(root)) {
            DataPaths.refuseLinks(root, file);
        }
    }

    /** The state, error and own pin of every live version of an adapter, by version. */
    public Map<Integer, VersionStatus> statuses(String tenant, String name) {
        Map<Integer, VersionStatus> out = new LinkedHashMap<>();
        try (Connection c = db.getConnection(); PreparedStatement s = c.prepareStatement("SELECT version, state, error, pinned"
                + " FROM adapter_versions WHERE tenant = ? AND name = ? AND state <> 'deleted' ORDER BY version")) {
            s.setString(1, tenant);
            s.setString(2, name);
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    out.put(r.getInt(1), new VersionStatus(r.getString(2), r.getString(3), r.getBoolean(4)));
                }
            }
            return out;
        } catch (SQLException e) {
            throw dbError("read versions of '" + name + "'", e);
        }
    }

    /** The status of one version ({@code deleted} when it has no row). */
    public VersionStatus status(AdapterVersion v) {
        try (Connection c = db.getConnection(); PreparedStatement s = c.prepareStatement("SELECT state, error, pinned"
                + " FROM adapter_versions WHERE tenant = ? AND name = ? AND version = ?")) {
            s.setString(1, v.tenant());
            s.setString(2, v.name());
            s.setInt(3, v.version());
            try (ResultSet r = s.executeQuery()) {
                return r.next() ? new VersionStatus(r.getString(1), r.getString(2), r.getBoolean(3))
                        : new VersionStatus(VersionStatus.DELETED, null, false);
            }
        } catch (SQLException e) {
            throw dbError("read version " + v.id(), e);
        }
    }

    /**
     * Versions that must stay resident: every version pinned itself, and the active version of every
     * pinned alias. All tenants when {@code tenant} is null; only one adapter when {@code name} is set.
     */
    public List<AdapterVersion> pinnedVersions(String tenant, String name) {
        String sql = "SELECT v.tenant, " + VERSION_COLUMNS + " FROM adapters a JOIN adapter_versions v ON a.tenant = v.tenant"
                + " AND a.name = v.name WHERE v.state = 'ready' AND (v.pinned OR (a.pinned AND v.version = a.active_version))"
                + (tenant == null ? "" : " AND a.tenant = ?") + (name == null ? "" : " AND a.name = ?");
        try (Connection c = db.getConnection(); PreparedStatement s = c.prepareStatement(sql)) {
            int i = 1;
            if (tenant != null) {
                s.setString(i++, tenant);
            }
            if (name != null) {
                s.setString(i, name);
            }
            List<AdapterVersion> out = new ArrayList<>();
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    out.add(version(r.getString(1), r));
                }
            }
            return out;
        } catch (SQLException e) {
            throw dbError("read pinned adapters", e);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Changes

    /** Points the alias {@code name} at {@code version} atomically; answers that version. */
    public AdapterVersion setActive(String tenant, String name, int version) {
        AdapterVersion v = inTransaction("activate " + name + "@" + version, c -> {
            requireAdapter(c, tenant, name);
            AdapterVersion target = requireVersion(c, tenant, name, version);
            String state = stateOf(c, tenant, name, version);
            if (VersionStatus.ERRORED.equals(state)) {
                throw new LoragateException(Kind.FAILED_PRECONDITION, "adapter " + target.id()
                        + " is errored (its weights failed verification) and cannot be made active").withParam("version");
            }
            update(c, "UPDATE adapters SET active_version = ? WHERE tenant = ? AND name = ?", version, tenant, name);
            ChangeNotice.adapter(tenant, name).sendIn(c);
            return target;
        });
        lastResolved.forget(tenant, name);
        LOG.infof("adapter %s/%s is now %s", tenant, name, v.id());
        events.fire(new AdapterEvent(AdapterEvent.Type.ACTIVATED, tenant, name, version));
        return v;
    }

    /**
     * Pins the alias (its active version, whichever it is, stays resident) when {@code version} is
     * null, else that version. Answers the version that is now pinned.
     */
    public AdapterVersion pin(String tenant, String name, Integer version) {
        return setPinned(tenant, name, version, true);
    }

    /**
     * Removes the alias pin when {@code version} is null, else that version's own pin. A version
     * stays resident while either pin holds it.
     */
    public AdapterVersion unpin(String tenant, String name, Integer version) {
        return setPinned(tenant, name, version, false);
    }

    private AdapterVersion setPinned(String tenant, String name, Integer version, boolean pinned) {
        AdapterVersion v = inTransaction((pinned ? "pin " : "unpin ") + name, c -> {
            Integer active = requireAdapter(c, tenant, name);
            if (version == null) {
                if (active == null) {
                    throw notFound(name);
                }
                update(c, "UPDATE adapters SET pinned = ? WHERE tenant = ? AND name = ?", pinned, tenant, name);
                ChangeNotice.adapter(tenant, name).sendIn(c);
                return requireVersion(c, tenant, name, active);
            }
            AdapterVersion target = requireVersion(c, tenant, name, version);
            update(c, "UPDATE adapter_versions SET pinned = ? WHERE tenant = ? AND name = ? AND version = ?",
                    pinned, tenant, name, version);
            ChangeNotice.adapter(tenant, name).sendIn(c);
            return target;
        });
        events.fire(new AdapterEvent(AdapterEvent.Type.PINS_CHANGED, tenant, name, v.version()));
        return v;
    }

    /**
     * Deletes one version: its row becomes a tombstone (so the number is never reused), its files are
     * removed, and its weights leave the cache once no request holds them. Deleting the active version
     * is refused with {@code FAILED_PRECONDITION} (400) while other versions exist: make another
     * version active first. Deleting the only version deletes the adapter (and its alias pin).
     */
    public void deleteVersion(String tenant, String name, int version) {
        AdapterVersion v = inTransaction("delete " + name + "@" + version, c -> {
            Integer active = requireAdapter(c, tenant, name);
            AdapterVersion target = requireVersion(c, tenant, name, version);
            int live = 0;
            try (PreparedStatement s = c.prepareStatement("SELECT COUNT(*) FROM adapter_versions WHERE tenant = ? AND name = ?"
                    + " AND state <> 'deleted'")) {
                s.setString(1, tenant);
                s.setString(2, name);
                try (ResultSet r = s.executeQuery()) {
                    r.next();
                    live = r.getInt(1);
                }
            }
            boolean isActive = active != null && active == version;
            if (isActive && live > 1) {
                throw new LoragateException(Kind.FAILED_PRECONDITION, "adapter " + target.id() + " is the active version of '"
                        + name + "'; make another version active first (PUT /v1/adapters/" + name + "/active)");
            }
            update(c, "UPDATE adapter_versions SET state = 'deleted', pinned = FALSE WHERE tenant = ? AND name = ? AND version = ?",
                    tenant, name, version);
            if (isActive) {
                update(c, "UPDATE adapters SET active_version = NULL, pinned = FALSE WHERE tenant = ? AND name = ?", tenant, name);
            }
            ChangeNotice.adapter(tenant, name).sendIn(c);
            return target;
        });
        lastResolved.forget(tenant, name);
        deleteBlobs(versionKey(tenant, name, version));
        LOG.infof("deleted adapter %s/%s", tenant, v.id());
        events.fire(new AdapterEvent(AdapterEvent.Type.DELETED, tenant, name, version));
    }

    /**
     * Marks a version errored (its weights no longer match what was registered): it stays listed with
     * its error but cannot be loaded or made active.
     */
    public void markErrored(AdapterVersion v, String error) {
        try (Connection c = db.getConnection(); PreparedStatement s = c.prepareStatement("UPDATE adapter_versions"
                + " SET state = 'errored', error = ? WHERE tenant = ? AND name = ? AND version = ? AND state = 'ready'")) {
            String shown = io.loragate.config.ErrorText.redact(error); // listed to the tenant: no server paths
            s.setString(1, shown.length() > 2000 ? shown.substring(0, 2000) : shown);
            s.setString(2, v.tenant());
            s.setString(3, v.name());
            s.setInt(4, v.version());
            if (s.executeUpdate() > 0) {
                LOG.errorf("adapter %s/%s marked errored: %s", v.tenant(), v.id(), error);
            }
        } catch (SQLException e) {
            throw dbError("mark " + v.id() + " errored", e);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Start-up: what a crash may have left behind

    void onStart(@Observes StartupEvent event) {
        Path tmp = config.dataDir().resolve(TMP_DIR);
        if (Files.isDirectory(tmp)) {
            try (DirectoryStream<Path> dirs = Files.newDirectoryStream(tmp, STAGING_PREFIX + "*")) {
                for (Path d : dirs) {
                    LOG.infof("removing unfinished adapter publication %s", d);
                    DurableFiles.deleteRecursively(d);
                }
            } catch (IOException e) {
                LOG.warnf("cannot clean %s: %s", tmp, e.getMessage());
            }
        }
        try (Connection c = db.getConnection(); PreparedStatement s = c.prepareStatement(
                "SELECT tenant, name, version FROM adapter_versions WHERE state = 'deleted'");
                ResultSet r = s.executeQuery()) {
            while (r.next()) {
                deleteBlobs(versionKey(r.getString(1), r.getString(2), r.getInt(3)));
            }
        } catch (SQLException e) {
            LOG.warnf("cannot list deleted adapter versions: %s", e.getMessage());
        }
        sweepOrphanVersions();
    }

    /**
     * Removes versions' blobs that have no row: what a crash between their publication and the
     * insert of the row leaves behind. Each version is checked again and removed under the adapter's
     * row lock, which a publication holds from before it publishes until its commit, so a
     * publication running meanwhile never loses its blobs.
     */
    private void sweepOrphanVersions() {
        List<String> keys;
        try {
            keys = blobs.list(ADAPTERS_DIR);
        } catch (IOException | RuntimeException e) {
            LOG.warnf("cannot list the adapters' blobs: %s", e.getMessage());
            return;
        }
        // adapters/<tenant>/<name>/<version>/<file>: one candidate per version
        java.util.Set<String> candidates = new java.util.LinkedHashSet<>();
        for (String key : keys) {
            String[] s = key.split("/");
            if (s.length >= 5) {
                candidates.add(String.join("/", s[0], s[1], s[2], s[3]));
            }
        }
        for (String prefix : candidates) {
            String[] s = prefix.split("/");
            String tenant = s[1];
            String name = s[2];
            Integer version = parseVersion(s[3]);
            if (version == null || !NAME.matcher(tenant).matches() || !NAME.matcher(name).matches()) {
                LOG.warnf("unexpected folder %s among adapter versions; left alone", prefix);
                continue;
            }
            try {
                removeIfOrphan(tenant, name, version, prefix);
            } catch (RuntimeException | SQLException e) {
                LOG.warnf("cannot check %s: %s", prefix, e.getMessage());
            }
        }
    }

    private void removeIfOrphan(String tenant, String name, int version, String key) throws SQLException {
        try (Connection c = db.getConnection()) {
            c.setAutoCommit(true);
            if (!hasVersionRow(c, tenant, name, version)) {
                // so that the lock below exists (a publication inserts the same row before publishing)
                insertAdapterIfAbsent(c, tenant, name, Instant.now().truncatedTo(ChronoUnit.MILLIS));
            } else {
                return;
            }
        }
        inTransaction("sweep " + key, c -> {
            lockAdapter(c, tenant, name);
            if (!hasVersionRow(c, tenant, name, version)) {
                LOG.infof("removing adapter version without a row (unfinished publication): %s", key);
                deleteBlobs(key);
            }
            return null;
        });
    }

    private static boolean hasVersionRow(Connection c, String tenant, String name, int version) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT 1 FROM adapter_versions WHERE tenant = ? AND name = ? AND version = ?")) {
            s.setString(1, tenant);
            s.setString(2, name);
            s.setInt(3, version);
            try (ResultSet r = s.executeQuery()) {
                return r.next();
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Helpers

    private static final String VERSION_COLUMNS = "v.name, v.version, v.peft_type, v.rank, v.bytes, v.sha256, v.created";

    private static AdapterVersion version(String tenant, ResultSet r) throws SQLException {
        return new AdapterVersion(tenant, r.getString("name"), r.getInt("version"), r.getString("peft_type"),
                r.getInt("rank"), r.getLong("bytes"), r.getString("sha256"),
                r.getObject("created", OffsetDateTime.class).toInstant());
    }

    /** The blob prefix of a version: {@code adapters/<tenant>/<name>/<version>}. */
    static String versionKey(String tenant, String name, int version) {
        return String.join("/", ADAPTERS_DIR, tenant, name, Integer.toString(version));
    }

    /** Deletes blobs; a failure is logged (the start-up sweep retries what has no row). */
    private void deleteBlobs(String prefix) {
        try {
            blobs.delete(prefix);
        } catch (IOException | RuntimeException e) {
            LOG.warnf("cannot delete %s: %s", prefix, e.getMessage());
        }
    }

    /** Takes a publication back into staging after its transaction failed. */
    private void unpublish(String key, Path staging, Exception failure) {
        try {
            blobs.unpublish(key, staging);
        } catch (IOException | RuntimeException e) {
            failure.addSuppressed(e);
        }
    }

    private static void checkTenant(String tenant) {
        if (tenant == null || !NAME.matcher(tenant).matches()) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "invalid tenant '" + tenant + "'");
        }
    }

    /** Refuses names that are not one safe path segment. */
    public static void checkName(String name) {
        if (name == null || name.isEmpty()) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "adapter name is missing").withParam("name");
        }
        if (!NAME.matcher(name).matches()) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "invalid adapter name '" + name + "': a name is 1 to 64"
                    + " characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit").withParam("name");
        }
    }

    /**
     * The one parser of version numbers (in {@code name@version}, folder names, query parameters):
     * 1 to 9 decimal digits without sign, spaces or leading zeros, so that every version has exactly
     * one spelling. Answers null for anything else ({@code name@01} is no adapter id anywhere).
     */
    public static Integer parseVersion(String s) {
        if (s == null || !CANONICAL_VERSION.matcher(s).matches()) {
            return null;
        }
        return Integer.parseInt(s);
    }

    /** {@link #parseVersion}, throwing {@link NumberFormatException} instead of answering null. */
    public static int versionNumber(String s) {
        Integer v = parseVersion(s);
        if (v == null) {
            throw new NumberFormatException("not a version number: " + s);
        }
        return v;
    }

    private static final Pattern CANONICAL_VERSION = Pattern.compile("[1-9][0-9]{0,8}");

    private static LoragateException notFound(String adapterId) {
        return new LoragateException(Kind.NOT_FOUND, "adapter '" + adapterId + "' not found");
    }

    private static void requireFile(Path file, String part, String expected) {
        if (file == null) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "part '" + part + "' (" + expected + ") is missing")
                    .withParam(part);
        }
        if (!Files.isRegularFile(file)) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "part '" + part + "' (" + expected + "): "
                    + file + " is not a file").withParam(part);
        }
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Pickle is never read: a PyTorch checkpoint ({@code .bin}, {@code .pt}: a pickle stream or a zip
     * of one) gets a specific error; anything else that is not safetensors a generic one. The full
     * header is checked when the adapter is loaded.
     */
    static void checkSafetensors(Path file) {
        byte[] head = new byte[9];
        int n;
        try (InputStream in = Files.newInputStream(file)) {
            n = in.readNBytes(head, 0, head.length);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String what = "weights (" + LoraAdapter.WEIGHTS_FILE + ")";
        if (n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, what + " is a PyTorch zip checkpoint (pickle);"
                    + " pickle is never loaded: save the adapter with safetensors (PEFT's default, safe_serialization=True)")
                    .withParam("weights");
        }
        if (n >= 2 && (head[0] & 0xff) == 0x80 && head[1] >= 2 && head[1] <= 5) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, what + " is a pickle file; pickle is never loaded: save the"
                    + " adapter with safetensors (PEFT's default, safe_serialization=True)").withParam("weights");
        }
        long headerLength = n >= 8 ? ByteBuffer.wrap(head, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong() : -1;
        if (n < 9 || headerLength < 2 || headerLength > size(file) - 8 || head[8] != '{') {
            throw new LoragateException(Kind.INVALID_ARGUMENT, what + " is not a safetensors file (it must start with an"
                    + " 8-byte header length and a JSON header)").withParam("weights");
        }
    }

    private BaseModel awaitBase() {
        return resident.awaitModel(BASE_WAIT_SECONDS);
    }

    // --- JDBC

    private <T> T inTransaction(String what, Jdbc.TxBody<T> body) {
        return Jdbc.inTransaction(db, what, body);
    }

    private static void insertAdapterIfAbsent(Connection c, String tenant, String name, Instant now) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("INSERT INTO adapters (tenant, name, active_version, pinned, created)"
                + " SELECT ?, ?, NULL, FALSE, ? WHERE NOT EXISTS (SELECT 1 FROM adapters WHERE tenant = ? AND name = ?)")) {
            s.setString(1, tenant);
            s.setString(2, name);
            s.setObject(3, OffsetDateTime.ofInstant(now, ZoneOffset.UTC));
            s.setString(4, tenant);
            s.setString(5, name);
            s.executeUpdate();
        } catch (SQLException e) {
            if (!"23505".equals(e.getSQLState())) { // a concurrent register of the same new name inserted it
                throw e;
            }
        }
    }

    /** Locks the adapter's row for this transaction; answers its active version (null: none). */
    private static Integer lockAdapter(Connection c, String tenant, String name) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT active_version FROM adapters WHERE tenant = ? AND name = ? FOR UPDATE")) {
            s.setString(1, tenant);
            s.setString(2, name);
            try (ResultSet r = s.executeQuery()) {
                if (!r.next()) {
                    throw notFound(name);
                }
                int v = r.getInt(1);
                return r.wasNull() ? null : v;
            }
        }
    }

    /** {@link #lockAdapter}, but an adapter without live versions is not found either. */
    private static Integer requireAdapter(Connection c, String tenant, String name) throws SQLException {
        if (!NAME.matcher(name).matches()) {
            throw notFound(name);
        }
        Integer active = lockAdapter(c, tenant, name);
        if (active == null && maxLiveVersion(c, tenant, name) == 0) {
            throw notFound(name);
        }
        return active;
    }

    private static AdapterVersion requireVersion(Connection c, String tenant, String name, int version) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT " + VERSION_COLUMNS + " FROM adapter_versions v"
                + " WHERE v.tenant = ? AND v.name = ? AND v.version = ? AND v.state <> 'deleted'")) {
            s.setString(1, tenant);
            s.setString(2, name);
            s.setInt(3, version);
            try (ResultSet r = s.executeQuery()) {
                if (!r.next()) {
                    throw notFound(name + "@" + version).withParam("version");
                }
                return version(tenant, r);
            }
        }
    }

    private static String stateOf(Connection c, String tenant, String name, int version) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT state FROM adapter_versions WHERE tenant = ? AND name = ? AND version = ?")) {
            s.setString(1, tenant);
            s.setString(2, name);
            s.setInt(3, version);
            try (ResultSet r = s.executeQuery()) {
                return r.next() ? r.getString(1) : VersionStatus.DELETED;
            }
        }
    }

    /** The highest version number ever given to the name, tombstones included (numbers are never reused). */
    private static int maxVersion(Connection c, String tenant, String name) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT COALESCE(MAX(version), 0) FROM adapter_versions WHERE tenant = ? AND name = ?")) {
            s.setString(1, tenant);
            s.setString(2, name);
            try (ResultSet r = s.executeQuery()) {
                r.next();
                return r.getInt(1);
            }
        }
    }

    private static int maxLiveVersion(Connection c, String tenant, String name) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT COALESCE(MAX(version), 0) FROM adapter_versions"
                + " WHERE tenant = ? AND name = ? AND state <> 'deleted'")) {
            s.setString(1, tenant);
            s.setString(2, name);
            try (ResultSet r = s.executeQuery()) {
                r.next();
                return r.getInt(1);
            }
        }
    }

    private static void update(Connection c, String sql, Object... args) throws SQLException {
        Jdbc.update(c, sql, args);
    }

    private static void rollback(Connection c) {
        Jdbc.rollback(c);
    }

    private static boolean retryable(SQLException e) {
        return Jdbc.retryable(e);
    }

    private static LoragateException dbError(String what, SQLException e) {
        return Jdbc.dbError(what, e);
    }
}
