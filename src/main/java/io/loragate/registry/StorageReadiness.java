package io.loragate.registry;

import io.agroal.api.AgroalDataSource;
import io.loragate.common.BlobStore;
import io.loragate.config.ErrorText;
import io.loragate.config.LoragateConfig;
import io.quarkus.runtime.ShutdownEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import javax.sql.DataSource;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Readiness follows the storage every request needs: the metadata database answers a short query,
 * the data directory is there and writable, and the blob store ({@code loragate.store.url}: a folder
 * or an S3 bucket) answers. A replica whose database is gone goes
 * DOWN and leaves the load balancer's rotation instead of failing every request.
 *
 * <p>Each check runs on a thread of its own and the probe waits at most {@link #TIMEOUT_MILLIS} for
 * it: a database that accepts connections but never answers (or a pool waiting for one) never hangs
 * the probe. While a check is still running, the next probe waits on that one rather than starting a
 * second, so a hung database holds one thread per check, not one per probe.
 */
@ApplicationScoped
public class StorageReadiness {

    /** Under the Kubernetes probe's timeoutSeconds (3 s in deployment/k8s/base/deployment.yaml). */
    static final long TIMEOUT_MILLIS = 2000;

    private final DataSource db;
    private final Path dataDir;
    private final BlobStore blobs;
    private final AtomicReference<Future<Void>> databaseCheck = new AtomicReference<>();
    private final AtomicReference<Future<Void>> dataDirCheck = new AtomicReference<>();
    private final AtomicReference<Future<Void>> storeCheck = new AtomicReference<>();
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "loragate-storage-check");
        t.setDaemon(true);
        return t;
    });

    @Inject
    public StorageReadiness(DataSource db, LoragateConfig config, BlobStore blobs) {
        this(db, config.dataDir(), blobs);
    }

    StorageReadiness(DataSource db, Path dataDir, BlobStore blobs) {
        this.db = db;
        this.dataDir = dataDir;
        this.blobs = blobs;
    }

    @Produces
    @Readiness
    HealthCheck database() {
        return () -> answer("database", start(databaseCheck, this::queryDatabase));
    }

    @Produces
    @Readiness
    HealthCheck dataDirectory() {
        return () -> answer("data-directory", start(dataDirCheck, this::checkDataDirectory));
    }

    /** The blob store ({@code loragate.store.url}): a folder is writable, an S3 bucket answers a one-key listing. */
    @Produces
    @Readiness
    HealthCheck objectStore() {
        return () -> answer("object-store", start(storeCheck, () -> {
            blobs.probe();
            return null;
        }));
    }

    /** The check still running, or a new one: a hung check is waited on again, never run twice at once. */
    private synchronized Future<Void> start(AtomicReference<Future<Void>> running, Callable<Void> check) {
        Future<Void> f = running.get();
        if (f == null || f.isDone()) {
            f = threads.submit(check);
            running.set(f);
        }
        return f;
    }

    void stop(@Observes ShutdownEvent e) {
        threads.shutdownNow();
    }

    private Void queryDatabase() throws SQLException {
        try (Connection c = db.getConnection(); Statement s = c.createStatement()) {
            s.setQueryTimeout((int) TimeUnit.MILLISECONDS.toSeconds(TIMEOUT_MILLIS));
            s.execute("SELECT 1");
            return null;
        } catch (SQLException e) {
            // After a database restart the pool still holds connections to the old server: drop the
            // broken ones now, so that the next check (and the next request) opens a fresh one.
            if (db instanceof AgroalDataSource pool) {
                pool.flush(AgroalDataSource.FlushMode.INVALID);
            }
            throw e;
        }
    }

    private Void checkDataDirectory() throws IOException {
        if (!Files.isDirectory(dataDir) || !Files.isWritable(dataDir)) {
            throw new IOException("the data directory is missing or not writable");
        }
        return null;
    }

    private HealthCheckResponse answer(String name, Future<Void> f) {
        var b = HealthCheckResponse.named(name);
        try {
            f.get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            return b.up().build();
        } catch (TimeoutException e) {
            return b.down().withData("error", "the " + name.replace('-', ' ') + " did not answer within " + TIMEOUT_MILLIS + " ms").build();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            return b.down().withData("error", "the " + name.replace('-', ' ') + " is unreachable: "
                    + ErrorText.redact(cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage())).build();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return b.down().withData("error", "interrupted").build();
        }
    }
}
