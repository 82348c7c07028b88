package io.loragate.postgres;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real PostgreSQL 15 server for the tests (Debian's {@code postgresql} package): one per JVM, in a
 * fresh cluster under {@code target/}, on a free port, TCP on 127.0.0.1 only, stopped when the JVM
 * exits. initdb and postgres refuse to run as root (CI runs as root): then they run as the
 * {@code postgres} OS user. Missing binaries are installed when we are root (apt-get), otherwise
 * the tests fail saying what to install; they are never skipped.
 */
public final class PostgresServer {

    static final Path BIN = Path.of(System.getProperty("loragate.test.postgres-bin", "/usr/lib/postgresql/15/bin"));
    /** The role the gateway connects as (not a superuser: PostgreSQL 15 lets only a database's owner create in public). */
    public static final String USER = "loragate";
    public static final String PASSWORD = "loragate-test";

    private static PostgresServer shared;
    private final Path dir;
    private final int port;
    private final AtomicInteger databases = new AtomicInteger();

    private PostgresServer(Path dir, int port) {
        this.dir = dir;
        this.port = port;
    }

    /** The server of this JVM, started on first use. */
    public static synchronized PostgresServer shared() {
        if (shared == null) {
            shared = start();
            Runtime.getRuntime().addShutdownHook(new Thread(shared::stopAtExit, "postgres-stop"));
        }
        return shared;
    }

    /** A new empty database owned by {@link #USER}; answers its JDBC URL. */
    public String createDatabase(String prefix) {
        String name = prefix + "_" + ProcessHandle.current().pid() + "_" + databases.incrementAndGet();
        try (Connection c = DriverManager.getConnection(url("postgres"), "postgres", ""); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name + " OWNER " + USER);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create test database " + name + ": " + e.getMessage(), e);
        }
        return url(name);
    }

    public String url(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
    }

    public int port() {
        return port;
    }

    /** A server of the caller's own, apart from {@link #shared()}, for a test that stops and restarts it. */
    public static PostgresServer startPrivate() {
        PostgresServer server = start();
        Runtime.getRuntime().addShutdownHook(new Thread(server::stopAtExit, "postgres-stop"));
        return server;
    }

    /** The server in {@code dir} on {@code port} (started by {@link #startPrivate()}, maybe in another class loader). */
    public static PostgresServer of(Path dir, int port) {
        return new PostgresServer(dir, port);
    }

    public Path dir() {
        return dir;
    }

    private static PostgresServer start() {
        ensureInstalled();
        Path dir;
        try {
            Path target = Path.of("target").toAbsolutePath();
            Files.createDirectories(target);
            dir = Files.createTempDirectory(target, "postgres-");
        } catch (IOException e) {
            throw new IllegalStateException("cannot create the test PostgreSQL's folder under target/: " + e.getMessage(), e);
        }
        Path data = dir.resolve("data");
        if (isRoot()) {
            run(List.of("chown", "postgres:postgres", dir.toString()), 30);
        }
        run(asServerUser(List.of(BIN.resolve("initdb").toString(), "-D", data.toString(), "-U", "postgres", "-A", "trust",
                "-E", "UTF8", "--no-sync")), 120);
        IllegalStateException last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            int port = freePort();
            try {
                PostgresServer server = new PostgresServer(dir, port);
                server.pgCtlStart();
                try (Connection c = DriverManager.getConnection(server.url("postgres"), "postgres", "");
                        Statement s = c.createStatement()) {
                    s.execute("CREATE ROLE " + USER + " LOGIN PASSWORD '" + PASSWORD + "'");
                }
                return server;
            } catch (IllegalStateException | SQLException e) {
                last = new IllegalStateException("cannot start the test PostgreSQL (log: " + dir.resolve("server.log") + "): "
                        + e.getMessage(), e);
            }
        }
        throw last;
    }

    /** {@code pg_ctl start} on this server's folder and port. */
    private void pgCtlStart() {
        // no fsync: a test cluster is thrown away; no Unix socket: TCP on 127.0.0.1 only
        run(asServerUser(List.of(BIN.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-l",
                dir.resolve("server.log").toString(), "-w", "-t", "120", "-o",
                "-p " + port + " -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c fsync=off"
                        + " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
                "start")), 180);
    }

    /** How {@link #stop(Shutdown)} ends the server: {@code pg_ctl stop -m fast} or {@code -m immediate}. */
    public enum Shutdown {
        /** Disconnects every client, rolls back their transactions, checkpoints: an orderly outage. */
        FAST,
        /** Ends every process at once, no checkpoint (a crash; the next start recovers from the WAL). */
        IMMEDIATE
    }

    /**
     * Stops the server (a database outage, as seen by the gateway: every connection drops and new
     * ones are refused) until {@link #restart()}; throws if it does not stop.
     */
    public synchronized void stop(Shutdown mode) {
        run(asServerUser(List.of(BIN.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m",
                mode.name().toLowerCase(java.util.Locale.ROOT), "-w", "-t", "120", "stop")), 180);
    }

    /** Starts the server again after {@link #stop(Shutdown)}, on the same port with the same data. */
    public synchronized void restart() {
        pgCtlStart();
    }

    /** Terminates the backend process {@code pid} (what an administrator's {@code pg_terminate_backend} does). */
    public void terminateBackend(int pid) {
        try (Connection c = DriverManager.getConnection(url("postgres"), "postgres", ""); Statement s = c.createStatement()) {
            s.execute("SELECT pg_terminate_backend(" + pid + ")");
        } catch (SQLException e) {
            throw new IllegalStateException("cannot terminate backend " + pid + ": " + e.getMessage(), e);
        }
    }

    /** At the end (the JVM's shutdown hook, a test resource's stop): stops the server at once, reporting (not throwing) a failure. */
    void stopAtExit() {
        try {
            stop(Shutdown.IMMEDIATE);
        } catch (RuntimeException e) {
            System.err.println("cannot stop the test PostgreSQL: " + e.getMessage());
        }
    }

    private static void ensureInstalled() {
        if (Files.isExecutable(BIN.resolve("postgres"))) {
            return;
        }
        if (!isRoot()) {
            throw new IllegalStateException("PostgreSQL 15 is missing (" + BIN.resolve("postgres") + "): the PostgreSQL tests need it;"
                    + " install Debian's package: sudo apt-get update && sudo apt-get install -y postgresql");
        }
        run(List.of("sh", "-c", "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql"), 600);
        if (!Files.isExecutable(BIN.resolve("postgres"))) {
            throw new IllegalStateException("installed Debian's postgresql but " + BIN.resolve("postgres") + " is still missing");
        }
    }

    private static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    private static List<String> asServerUser(List<String> command) {
        if (!isRoot()) {
            return command;
        }
        List<String> out = new ArrayList<>(List.of("runuser", "-u", "postgres", "--"));
        out.addAll(command);
        return out;
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException("no free port: " + e.getMessage(), e);
        }
    }

    /** Runs a command; IllegalStateException with its output when it fails or takes longer than {@code seconds}. */
    private static void run(List<String> command, long seconds) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + " took longer than " + seconds + " s");
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed (" + p.exitValue() + "): "
                        + new String(out, StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + command.get(0) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted: " + command, e);
        }
    }
}
