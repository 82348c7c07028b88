package io.loragate.registry;

import io.loragate.common.BlobStore;
import io.loragate.common.DurableFiles;
import io.loragate.common.Jdbc;

import io.loragate.config.LoragateConfig;
import io.loragate.common.DataPaths;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import javax.sql.DataSource;
import org.jboss.logging.Logger;

/**
 * Removes what is left of deleted tenants: their rows (deleted adapter versions and adapter names,
 * files, finished jobs with their events and checkpoints, sweeps) and their blobs and folders
 * ({@code adapters/<tenant>/}, {@code jobs/<job id>/}, file blobs no other row refers to). The
 * tenant's own row stays as a tombstone, so its id is never issued again.
 *
 * <p>Runs when a deletion is committed ({@link Tenants.Deleted}) and at start-up for every
 * tombstoned tenant (what a crash, or a publication refused after the deletion, may have left), and
 * at start-up also removes job folders that no job row refers to. Idempotent.
 */
@ApplicationScoped
public class TenantPurge {

    private static final Logger LOG = Logger.getLogger(TenantPurge.class);

    private final DataSource db;
    private final LoragateConfig config;
    private final DatasetStore datasets;
    private final JobStore jobs;
    private final BlobStore blobs;

    public TenantPurge(DataSource db, LoragateConfig config, DatasetStore datasets, JobStore jobs, BlobStore blobs) {
        this.db = db;
        this.blobs = blobs;
        this.config = config;
        this.datasets = datasets;
        this.jobs = jobs;
    }

    void onDeleted(@Observes Tenants.Deleted deleted) {
        purge(deleted.tenant());
    }

    // after the stores' own crash recovery (default priority), before requests are served
    void onStart(@Observes @Priority(jakarta.interceptor.Interceptor.Priority.APPLICATION + 1000) StartupEvent e) {
        sweep();
    }

    /** Purges every tombstoned tenant and removes job folders without a job row. */
    public void sweep() {
        List<String> gone = Jdbc.inTransaction(db, "list deleted tenants", c -> strings(c,
                "SELECT id FROM tenants WHERE deleted IS NOT NULL", null));
        for (String t : gone) {
            try {
                purge(t);
            } catch (RuntimeException ex) {
                LOG.warnf("cannot purge deleted tenant %s: %s", t, ex.getMessage());
            }
        }
        sweepOrphanJobFolders();
    }

    /** Removes everything of {@code tenant}, which must be tombstoned (otherwise nothing happens). */
    public void purge(String tenant) {
        if (!DataPaths.ID.matcher(tenant).matches()) {
            return;
        }
        List<String> jobIds = new ArrayList<>();
        List<String> fileIds = new ArrayList<>();
        boolean tombstoned = Jdbc.inTransaction(db, "purge deleted tenant " + tenant, c -> {
            // the same lock as a publication's: none of this tenant can be half-way through meanwhile
            try (PreparedStatement s = c.prepareStatement("SELECT deleted FROM tenants WHERE id = ? FOR UPDATE")) {
                s.setString(1, tenant);
                try (ResultSet r = s.executeQuery()) {
                    if (!r.next() || r.getTimestamp(1) == null) {
                        return false;
                    }
                }
            }
            jobIds.addAll(strings(c, "SELECT id FROM jobs WHERE tenant = ?", tenant));
            fileIds.addAll(strings(c, "SELECT id FROM files WHERE tenant = ?", tenant));
            Jdbc.update(c, "DELETE FROM job_events WHERE job_id IN (SELECT id FROM jobs WHERE tenant = ?)", tenant);
            Jdbc.update(c, "DELETE FROM job_checkpoints WHERE job_id IN (SELECT id FROM jobs WHERE tenant = ?)", tenant);
            Jdbc.update(c, "DELETE FROM jobs WHERE tenant = ?", tenant);
            Jdbc.update(c, "DELETE FROM sweeps WHERE tenant = ?", tenant);
            Jdbc.update(c, "DELETE FROM adapter_versions WHERE tenant = ?", tenant);
            Jdbc.update(c, "DELETE FROM adapters WHERE tenant = ?", tenant);
            return true;
        });
        if (!tombstoned) {
            return;
        }
        for (String f : fileIds) {
            datasets.delete(tenant, f); // the row, and the blob unless another row has the same content
        }
        for (String j : jobIds) {
            deleteJob(j);
        }
        String adapters = AdapterRegistry.ADAPTERS_DIR + "/" + tenant;
        boolean hadFolder = blobs.exists(adapters);
        try {
            blobs.delete(adapters);
        } catch (IOException ex) {
            LOG.warnf("cannot delete %s: %s", adapters, ex.getMessage());
        }
        if (!jobIds.isEmpty() || !fileIds.isEmpty() || hadFolder) {
            LOG.infof("purged deleted tenant %s: %d job(s), %d file(s)%s", tenant, jobIds.size(), fileIds.size(),
                    hadFolder ? ", its adapters folder" : "");
        }
    }

    /** Job folders and blobs whose job has no row (a job row is inserted before its folder is made). */
    private void sweepOrphanJobFolders() {
        Set<String> candidates = new TreeSet<>();
        Path root = config.dataDir().resolve("jobs");
        if (Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
            try (DirectoryStream<Path> dirs = Files.newDirectoryStream(root)) {
                for (Path d : dirs) {
                    if (JobStore.ID.matcher(d.getFileName().toString()).matches() && Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
                        candidates.add(d.getFileName().toString());
                    }
                }
            } catch (IOException ex) {
                LOG.warnf("cannot list %s: %s", root, ex.getMessage());
                return;
            }
        }
        try {
            for (String key : blobs.list("jobs")) { // jobs/<id>/...: the same folders when the store is the data directory
                String[] s = key.split("/");
                if (s.length > 2 && JobStore.ID.matcher(s[1]).matches()) {
                    candidates.add(s[1]);
                }
            }
        } catch (IOException | RuntimeException ex) {
            LOG.warnf("cannot list the jobs' blobs: %s", ex.getMessage());
            return;
        }
        for (String id : candidates) {
            boolean hasRow = Jdbc.inTransaction(db, "look up job " + id,
                    c -> !strings(c, "SELECT id FROM jobs WHERE id = ?", id).isEmpty());
            if (!hasRow) {
                LOG.infof("removing job folder %s: no job refers to it", id);
                deleteJob(id);
            }
        }
    }

    /** A job's blobs (its checkpoints) and its local folder (the adapter it was about to publish). */
    private void deleteJob(String id) {
        try {
            blobs.delete(JobStore.blobPrefix(id));
        } catch (IOException ex) {
            LOG.warnf("cannot delete the blobs of job %s: %s", id, ex.getMessage());
        }
        DurableFiles.deleteRecursively(jobs.jobDir(id));
    }

    private static List<String> strings(Connection c, String sql, String arg) throws SQLException {
        try (PreparedStatement s = c.prepareStatement(sql)) {
            if (arg != null) {
                s.setString(1, arg);
            }
            List<String> out = new ArrayList<>();
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    out.add(r.getString(1));
                }
            }
            return out;
        }
    }
}
