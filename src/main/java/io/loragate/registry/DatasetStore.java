package io.loragate.registry;

import io.loragate.common.BlobStore;
import io.loragate.common.DurableFiles;
import io.loragate.common.Jdbc;

import io.loragate.config.LoragateConfig;
import io.loragate.common.DataPaths;
import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.sql.Connection;
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
import org.jboss.logging.Logger;

/**
 * Tenants' uploaded files: rows in the {@code files} table, content in the {@link BlobStore}
 * content-addressed under {@code files/<sha256[0:2]>/<sha256>}. The same content uploaded twice (by one tenant or
 * two) is stored once; a blob is deleted with the last row that refers to it.
 *
 * <p>An upload streams into a {@link Staging} file under {@code <data-dir>/tmp} while it is hashed
 * and its bytes and lines are counted against {@code loragate.files.*} (constant memory; over a
 * limit the staging file is deleted at once). {@link #publish} then publishes it to the blob store
 * and only then inserts the row: a crash leaves either no row or a whole file, and the start-up
 * sweep deletes blobs without rows and staging leftovers.
 *
 * <p>Every method is scoped by tenant; another tenant's id answers exactly as an unknown id.
 */
@ApplicationScoped
public class DatasetStore {

    private static final Logger LOG = Logger.getLogger(DatasetStore.class);

    static final String FILES_DIR = "files";
    private static final String STAGING_PREFIX = "dataset-";
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String COLUMNS = "id, tenant, filename, purpose, bytes, sha256, lines, created, status, report";

    private final DataSource db;
    private final LoragateConfig config;
    /** Staging files of this process start with it; the sweep deletes only other processes' leftovers. */
    private final String boot = randomHex(4);
    /** Serialises blob placement and removal with the row inserts and deletes that count references. */
    private final Object blobs = new Object();

    private final Tenants tenants;
    private final BlobStore store;

    public DatasetStore(DataSource db, LoragateConfig config, Tenants tenants, BlobStore store) {
        this.db = db;
        this.store = store;
        this.config = config;
        this.tenants = tenants;
    }

    // ---------------------------------------------------------------------------------------------
    // Upload

    /** Starts an upload: a new, empty staging file. Close it (after {@link #publish}, or to abandon it). */
    public Staging stage() {
        Path tmp = config.dataDir().resolve(AdapterRegistry.TMP_DIR);
        try {
            Files.createDirectories(tmp);
            return new Staging(DataPaths.under(config.dataDir(), AdapterRegistry.TMP_DIR, STAGING_PREFIX + boot + "-" + randomHex(12)));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a staging file in " + tmp, e);
        }
    }

    /** Streams {@code in} into a new staging file and finishes it; nothing is left behind on failure. */
    public Staging stage(InputStream in) {
        Staging s = stage();
        try {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                s.write(buf, 0, n);
            }
            s.finish();
            return s;
        } catch (IOException e) {
            s.close();
            throw new UncheckedIOException("cannot read the upload: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /**
     * An upload on its way to the store: bytes are hashed, counted and written as they come. Over
     * {@code loragate.files.max-bytes} or {@code loragate.files.max-lines}, {@link #write} deletes
     * the file and throws. Not thread-safe: one writer.
     */
    public final class Staging implements AutoCloseable {

        private final Path path;
        private final FileChannel out;
        private final MessageDigest md = DurableFiles.sha256Digest();
        private final long maxBytes = config.files().maxBytes().asLongValue();
        private final long maxLines = config.files().maxLines();
        private long bytes;
        private long newlines;
        private byte last = '\n';
        private String sha256;
        private boolean published;
        private boolean closed;

        private Staging(Path path) throws IOException {
            this.path = path;
            this.out = FileChannel.open(path, java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                    DataModes.fileAttributes());
        }

        /** Appends bytes of the upload; refuses (and deletes the file) once a limit is crossed. */
        public void write(byte[] b, int off, int len) {
            if (sha256 != null || closed) {
                throw new IllegalStateException("staging file already finished");
            }
            if (len == 0) {
                return;
            }
            if (bytes + len > maxBytes) {
                close();
                throw new LoragateException(Kind.INVALID_ARGUMENT, "file is larger than the limit of " + maxBytes
                        + " bytes (loragate.files.max-bytes)").withParam("file");
            }
            for (int i = off; i < off + len; i++) {
                if (b[i] == '\n') {
                    newlines++;
                }
            }
            bytes += len;
            last = b[off + len - 1];
            if (lines() > maxLines) {
                close();
                throw new LoragateException(Kind.INVALID_ARGUMENT, "file has more than the limit of " + maxLines
                        + " lines (loragate.files.max-lines)").withParam("file");
            }
            md.update(b, off, len);
            try {
                ByteBuffer bb = ByteBuffer.wrap(b, off, len);
                while (bb.hasRemaining()) {
                    out.write(bb);
                }
            } catch (IOException e) {
                close();
                throw new UncheckedIOException("cannot write the staging file " + path, e);
            }
        }

        /** Ends the upload: the content is durable and its hash known. */
        public void finish() {
            if (sha256 != null) {
                return;
            }
            try {
                out.close();
                DurableFiles.fsync(path);
            } catch (IOException e) {
                close();
                throw new UncheckedIOException("cannot write the staging file " + path, e);
            }
            sha256 = HexFormat.of().formatHex(md.digest());
        }

        /** The staged content (readable after {@link #finish}, until published or closed). */
        public Path path() {
            return path;
        }

        public long bytes() {
            return bytes;
        }

        /** Lines, a last line without a newline included. */
        public long lines() {
            return newlines + (last != '\n' ? 1 : 0);
        }

        /** Hex SHA-256 of the content (after {@link #finish}). */
        public String sha256() {
            if (sha256 == null) {
                throw new IllegalStateException("staging file not finished");
            }
            return sha256;
        }

        /** Deletes the staging file (what is left of it once published: nothing, or a copy). */
        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            try {
                out.close();
            } catch (IOException e) {
                // deleted below
            }
            try {
                Files.deleteIfExists(path);
            } catch (IOException e) {
                LOG.warnf("cannot delete staging file %s: %s", path, e.getMessage());
            }
        }
    }

    /**
     * Makes a finished staging file a stored file of {@code tenant}: the content moves to its blob
     * (or, if that content is already stored, the staged copy is dropped), then the row is inserted.
     */
    public StoredFile publish(String tenant, Staging staged, String filename, String purpose, String report) {
        checkTenant(tenant);
        synchronized (tenants.quotaLock(tenant)) {
            try {
                tenants.checkStorage(tenant, staged.bytes(), null, "file");
            } catch (RuntimeException e) {
                staged.close();
                throw e;
            }
            return publishChecked(tenant, staged, filename, purpose, report);
        }
    }

    private StoredFile publishChecked(String tenant, Staging staged, String filename, String purpose, String report) {
        String sha = staged.sha256();
        if (staged.closed || staged.published) {
            throw new IllegalStateException("staging file already closed");
        }
        String key = blobKey(sha);
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        StoredFile file = new StoredFile("file-" + randomHex(12), tenant, filename, purpose, staged.bytes(), sha,
                staged.lines(), now, StoredFile.PROCESSED, report);
        synchronized (blobs) {
            boolean placed = false;
            try {
                if (store.size(key) != staged.bytes()) { // absent, or cut short before publication was atomic
                    store.publish(key, staged.path());
                    placed = true;
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot store " + key, e);
            }
            staged.published = placed;
            staged.close(); // drops the staged copy when the blob was already there
            try {
                Jdbc.inTransaction(db, "record file " + file.id(), c -> {
                    Tenants.requireAlive(c, tenant); // deleted meanwhile: no row, and the blob goes below
                    // the check that counts: in this transaction, under the tenant's quota row (across processes)
                    tenants.checkStorage(c, tenant, file.bytes(), null, "file");
                    insert(c, file);
                    return null;
                });
            } catch (RuntimeException e) {
                if (placed) {
                    deleteBlobIfUnreferenced(sha);
                }
                throw e;
            }
        }
        return file;
    }

    // ---------------------------------------------------------------------------------------------
    // Queries

    /** The tenant's files, newest first. */
    public List<StoredFile> list(String tenant) {
        checkTenant(tenant);
        return Jdbc.inTransaction(db, "list files", c -> {
            try (PreparedStatement s = c.prepareStatement("SELECT " + COLUMNS + " FROM files WHERE tenant = ?"
                    + " ORDER BY created DESC, id")) {
                s.setString(1, tenant);
                List<StoredFile> out = new ArrayList<>();
                try (ResultSet r = s.executeQuery()) {
                    while (r.next()) {
                        out.add(file(r));
                    }
                }
                return out;
            }
        });
    }

    /** One file of the tenant; NOT_FOUND for unknown ids and other tenants' ids alike. */
    public StoredFile get(String tenant, String id) {
        checkTenant(tenant);
        return Jdbc.inTransaction(db, "read file " + id, c -> require(c, tenant, id, false));
    }

    /** Where the content of a stored file lies (read-only; it may vanish once the file is deleted). */
    public Path blob(StoredFile file) {
        String key = blobKey(file.sha256());
        try {
            return store.get(key);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + key, e);
        }
    }

    /** The content of one file of the tenant. */
    public InputStream open(String tenant, String id) {
        StoredFile f = get(tenant, id);
        Path blob = blob(f);
        try {
            return Files.newInputStream(blob, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            throw notFound(id); // deleted meanwhile
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + blob, e);
        }
    }

    /** Deletes the row; the blob goes too unless another row (of any tenant) has the same content. */
    public void delete(String tenant, String id) {
        checkTenant(tenant);
        synchronized (blobs) {
            String sha = Jdbc.inTransaction(db, "delete file " + id, c -> {
                StoredFile f = require(c, tenant, id, true);
                try (PreparedStatement s = c.prepareStatement("DELETE FROM files WHERE id = ?")) {
                    s.setString(1, id);
                    s.executeUpdate();
                }
                return f.sha256();
            });
            deleteBlobIfUnreferenced(sha);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Crash recovery

    void onStart(@Observes StartupEvent event) {
        sweep();
    }

    /** Spool folders under {@code <data>/tmp} of the transports: Quarkus' multipart uploads, gRPC adapter staging. */
    static final List<String> SPOOLS = List.of("uploads", "grpc");

    /**
     * Deletes what a crash can leave: staging files of earlier processes, the transports' spooled
     * request bodies ({@link #SPOOLS}) last modified before this process started (so none of this
     * process's uploads in flight), and blobs that no row refers to (a crash between placing a blob
     * and inserting its row, or between deleting a row and its blob).
     */
    public void sweep() {
        Path tmp = config.dataDir().resolve(AdapterRegistry.TMP_DIR);
        long started = java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime();
        for (String spool : SPOOLS) {
            sweepOlderThan(tmp.resolve(spool), started);
        }
        if (Files.isDirectory(tmp)) {
            try (DirectoryStream<Path> leftovers = Files.newDirectoryStream(tmp, STAGING_PREFIX + "*")) {
                for (Path p : leftovers) {
                    if (!p.getFileName().toString().startsWith(STAGING_PREFIX + boot + "-")) {
                        LOG.infof("removing unfinished upload %s", p);
                        Files.deleteIfExists(p);
                    }
                }
            } catch (IOException e) {
                LOG.warnf("cannot clean %s: %s", tmp, e.getMessage());
            }
        }
        sweepOrphanContent(Instant.now().minus(config.store().orphanGrace()));
    }

    /**
     * Deletes the contents under {@code files/} that no row refers to and that were written before
     * {@code writtenBefore}: a younger one may be another replica's upload whose row is not committed
     * yet (the {@link #blobs} lock is this process's only).
     */
    void sweepOrphanContent(Instant writtenBefore) {
        List<String> keys;
        try {
            keys = store.list(FILES_DIR);
        } catch (IOException | RuntimeException e) {
            LOG.warnf("cannot sweep the files' blobs: %s", e.getMessage());
            return;
        }
        int young = 0;
        for (String key : keys) {
            String name = key.substring(key.lastIndexOf('/') + 1);
            if (SHA256.matcher(name).matches() && key.equals(blobKey(name))) {
                synchronized (blobs) {
                    switch (deleteBlobIfUnreferenced(name, writtenBefore)) {
                        case DELETED -> LOG.infof("removed file content %s that no file refers to", key);
                        case TOO_YOUNG -> young++;
                        default -> {
                        }
                    }
                }
            }
        }
        if (young > 0) {
            LOG.infof("kept %d file content(s) that no file refers to yet, written after %s (loragate.store.orphan-grace)",
                    young, writtenBefore);
        }
    }

    /**
     * Deletes the regular files directly in {@code dir} last modified before {@code cutoffMillis}
     * (links are not followed; sub-folders are left alone). A missing folder is nothing to do.
     */
    static void sweepOlderThan(Path dir, long cutoffMillis) {
        if (!Files.isDirectory(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                try {
                    if (Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                            && Files.getLastModifiedTime(p, java.nio.file.LinkOption.NOFOLLOW_LINKS).toMillis() < cutoffMillis) {
                        LOG.infof("removing %s, spooled by an earlier process", p);
                        Files.deleteIfExists(p);
                    }
                } catch (IOException e) {
                    LOG.warnf("cannot remove %s: %s", p, e.getMessage());
                }
            }
        } catch (IOException e) {
            LOG.warnf("cannot clean %s: %s", dir, e.getMessage());
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Helpers

    /** The blob of a content: {@code files/<sha256[0:2]>/<sha256>}. */
    private static String blobKey(String sha256) {
        if (sha256 == null || !SHA256.matcher(sha256).matches()) {
            throw new LoragateException(Kind.DATA_LOSS, "stored file content id '" + sha256 + "' is not a SHA-256");
        }
        return String.join("/", FILES_DIR, sha256.substring(0, 2), sha256);
    }

    /** What {@link #deleteBlobIfUnreferenced(String, Instant)} did. */
    private enum Removal { DELETED, REFERENCED, ABSENT, TOO_YOUNG, FAILED }

    /** Call holding {@link #blobs}. Answers whether the blob was deleted. */
    private boolean deleteBlobIfUnreferenced(String sha256) {
        return deleteBlobIfUnreferenced(sha256, null) == Removal.DELETED;
    }

    /** Call holding {@link #blobs}. Deletes the blob unless a row refers to it or it was written at or after {@code writtenBefore} (null: any time). */
    private Removal deleteBlobIfUnreferenced(String sha256, Instant writtenBefore) {
        boolean referenced = Jdbc.inTransaction(db, "count references to " + sha256, c -> {
            try (PreparedStatement s = c.prepareStatement("SELECT 1 FROM files WHERE sha256 = ? FETCH FIRST 1 ROWS ONLY")) {
                s.setString(1, sha256);
                try (ResultSet r = s.executeQuery()) {
                    return r.next();
                }
            }
        });
        if (referenced) {
            return Removal.REFERENCED;
        }
        String key = blobKey(sha256);
        try {
            Instant modified = store.modified(key);
            if (modified == null) {
                return Removal.ABSENT;
            }
            if (writtenBefore != null && !modified.isBefore(writtenBefore)) {
                return Removal.TOO_YOUNG;
            }
            store.delete(key);
            return Removal.DELETED;
        } catch (IOException | RuntimeException e) {
            LOG.warnf("cannot delete %s (the start-up sweep retries): %s", key, e.getMessage());
            return Removal.FAILED;
        }
    }

    private static StoredFile require(Connection c, String tenant, String id, boolean forUpdate) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT " + COLUMNS + " FROM files WHERE id = ? AND tenant = ?"
                + (forUpdate ? " FOR UPDATE" : ""))) {
            s.setString(1, id);
            s.setString(2, tenant);
            try (ResultSet r = s.executeQuery()) {
                if (!r.next()) {
                    throw notFound(id);
                }
                return file(r);
            }
        }
    }

    private static void insert(Connection c, StoredFile f) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("INSERT INTO files (" + COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            s.setString(1, f.id());
            s.setString(2, f.tenant());
            s.setString(3, f.filename());
            s.setString(4, f.purpose());
            s.setLong(5, f.bytes());
            s.setString(6, f.sha256());
            s.setLong(7, f.lines());
            s.setObject(8, OffsetDateTime.ofInstant(f.createdAt(), ZoneOffset.UTC));
            s.setString(9, f.status());
            s.setString(10, f.report());
            s.executeUpdate();
        }
    }

    private static StoredFile file(ResultSet r) throws SQLException {
        return new StoredFile(r.getString("id"), r.getString("tenant"), r.getString("filename"), r.getString("purpose"),
                r.getLong("bytes"), r.getString("sha256"), r.getLong("lines"),
                r.getObject("created", OffsetDateTime.class).toInstant(), r.getString("status"), r.getString("report"));
    }

    private static void checkTenant(String tenant) {
        if (tenant == null || !AdapterRegistry.NAME.matcher(tenant).matches()) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "invalid tenant '" + tenant + "'");
        }
    }

    private static LoragateException notFound(String id) {
        return new LoragateException(Kind.NOT_FOUND, "file '" + id + "' not found");
    }

    private static String randomHex(int bytes) {
        byte[] b = new byte[bytes];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
