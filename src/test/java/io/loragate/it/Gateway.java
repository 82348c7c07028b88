package io.loragate.it;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.Fixtures;
import io.restassured.specification.RequestSpecification;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The packaged gateway ({@code target/quarkus-app/quarkus-run.jar}) as a child process on the
 * tiny-llama fixture, with its own data directory and port: started, waited for until ready, and
 * killed with SIGKILL ({@link Process#destroyForcibly()}) or stopped with SIGTERM.
 */
final class Gateway implements AutoCloseable {

    final Path data;
    final int port;
    final Path log;
    private final List<String> extraProperties;
    private final List<String> jvmOptions = new ArrayList<>();
    private Process process;

    Gateway(Path data, String... extraProperties) throws IOException {
        this.data = data;
        this.port = freePort();
        this.log = data.resolve("gateway.log");
        this.extraProperties = List.of(extraProperties);
    }

    /** Options for the JVM (e.g. to start faster when a test restarts the gateway many times). */
    Gateway jvm(String... options) {
        jvmOptions.addAll(List.of(options));
        return this;
    }

    static Path app() {
        Path jar = Path.of(System.getProperty("loragate.it.app", "target/quarkus-app/quarkus-run.jar"));
        assertTrue(Files.isRegularFile(jar), jar + " is missing: run `mvn verify` (the package phase builds it)");
        return jar;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Starts the gateway and waits until {@code /q/health/ready} answers 200; answers the time that took. */
    long start() throws IOException {
        long t0 = System.nanoTime();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g"));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-Dai.djl.offline=true", "-Dai.djl.pytorch.num_threads=1", "-Dai.djl.pytorch.num_interop_threads=1",
                "-Dquarkus.http.port=" + port, "-Dloragate.data-dir=" + data,
                "-Dloragate.model.path=" + Fixtures.hf("tiny-llama").toAbsolutePath(), "-Dloragate.model.id=tiny-llama",
                "-Dloragate.jobs.yield-policy=none"));
        extraProperties.forEach(p -> cmd.add("-D" + p));
        cmd.addAll(List.of("-jar", app().toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().put("OMP_NUM_THREADS", "1");
        pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        process = pb.start();
        // generous: several gateways may start at once on a loaded 2-core machine
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (true) {
            assertTrue(process.isAlive(), "the gateway exited; see " + log);
            try {
                if (api().get("/q/health/ready").statusCode() == 200) {
                    return System.nanoTime() - t0;
                }
            } catch (Exception notYet) {
                // connection refused while starting
            }
            assertTrue(System.nanoTime() < deadline, "the gateway did not become ready; see " + log);
            sleep(100);
        }
    }

    /** SIGKILL: no shutdown hook, no final checkpoint, no flush; waits until the process is gone. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        assertTrue(process.waitFor(30, TimeUnit.SECONDS), "the gateway did not die");
    }

    /** SIGTERM, then waits for the graceful shutdown. */
    void stop() throws InterruptedException {
        process.destroy();
        process.waitFor(60, TimeUnit.SECONDS);
    }

    long pid() {
        return process.pid();
    }

    RequestSpecification api() {
        return given().baseUri("http://localhost").port(port);
    }

    @Override
    public void close() {
        if (process != null) {
            process.destroyForcibly();
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
