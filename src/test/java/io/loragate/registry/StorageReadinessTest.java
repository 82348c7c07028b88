package io.loragate.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The storage readiness checks answer within their bound when the database hangs, and never pile up threads. */
class StorageReadinessTest {

    /** A database that accepts the call and never answers (until released). */
    static final class HangingDataSource implements DataSource {
        final AtomicInteger calls = new AtomicInteger();
        final CountDownLatch release = new CountDownLatch(1);

        @Override
        public Connection getConnection() throws SQLException {
            calls.incrementAndGet();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            throw new SQLException("released");
        }

        @Override
        public Connection getConnection(String user, String password) throws SQLException {
            return getConnection();
        }

        @Override
        public PrintWriter getLogWriter() {
            return null;
        }

        @Override
        public void setLogWriter(PrintWriter out) {
        }

        @Override
        public void setLoginTimeout(int seconds) {
        }

        @Override
        public int getLoginTimeout() {
            return 0;
        }

        @Override
        public Logger getParentLogger() {
            return Logger.getGlobal();
        }

        @Override
        public <T> T unwrap(Class<T> iface) {
            return null;
        }

        @Override
        public boolean isWrapperFor(Class<?> iface) {
            return false;
        }
    }

    static HealthCheckResponse call(HealthCheck check) throws Exception {
        // the probe must come back by itself; the generous bound only keeps a broken check from hanging the build
        return CompletableFuture.supplyAsync(check::call).get(60, TimeUnit.SECONDS);
    }

    @Test
    void aHangingDatabaseIsReportedDownWithoutHangingTheProbe(@TempDir Path dir) throws Exception {
        HangingDataSource db = new HangingDataSource();
        StorageReadiness readiness = new StorageReadiness(db, dir, new io.loragate.common.FileBlobStore(dir, () -> new java.nio.file.attribute.FileAttribute<?>[0]));
        try {
            for (int probe = 0; probe < 3; probe++) {
                HealthCheckResponse r = call(readiness.database());
                assertEquals(HealthCheckResponse.Status.DOWN, r.getStatus());
                assertEquals("database", r.getName());
                assertTrue(String.valueOf(r.getData().orElseThrow().get("error")).contains("did not answer within"), r.getData().toString());
            }
            assertEquals(1, db.calls.get(), "later probes wait on the hung check instead of starting more");
            db.release.countDown();
            HealthCheckResponse failed = null;
            for (int i = 0; i < 100 && (failed == null || String.valueOf(failed.getData().orElseThrow().get("error")).contains("did not answer")); i++) {
                failed = call(readiness.database());
            }
            assertTrue(String.valueOf(failed.getData().orElseThrow().get("error")).contains("the database is unreachable: released"),
                    failed.getData().toString());
        } finally {
            db.release.countDown();
            readiness.stop(null);
        }
    }

    @Test
    void aMissingDataDirectoryIsReportedDown(@TempDir Path dir) throws Exception {
        StorageReadiness readiness = new StorageReadiness(new HangingDataSource(), dir.resolve("gone"), new io.loragate.common.FileBlobStore(dir, () -> new java.nio.file.attribute.FileAttribute<?>[0]));
        try {
            HealthCheckResponse r = call(readiness.dataDirectory());
            assertEquals(HealthCheckResponse.Status.DOWN, r.getStatus());
            assertTrue(String.valueOf(r.getData().orElseThrow().get("error")).contains("data directory"), r.getData().toString());
            Files.createDirectories(dir.resolve("gone"));
            assertEquals(HealthCheckResponse.Status.UP, call(readiness.dataDirectory()).getStatus());
        } finally {
            readiness.stop(null);
        }
    }
}
