package io.loragate.common;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;

/**
 * s3rver 3.7.1 (an S3 stand-in on Node) for the tests: installed with npm into
 * {@code $LORAGATE_S3RVER_DIR} (default {@code ~/.cache/loragate/s3rver}, as deployment/local-cluster.sh
 * does) when missing, started on a free port of 127.0.0.1 with a fresh folder under {@code target/} and
 * the bucket {@link #BUCKET}; its credentials ({@code S3RVER}/{@code S3RVER}) are set as the AWS
 * system properties, which the gateway's default credential chain reads. One per JVM, found again
 * from any class loader (Quarkus tests run in their own) through a system property; stopped when the
 * JVM exits. {@link #stopForOutage} and {@link #startAgain} make an outage.
 */
public final class S3rverServer {

    public static final String BUCKET = "loragate-test";
    public static final String ACCESS_KEY = "S3RVER";
    public static final String REGION = "us-east-1";
    static final String VERSION = "3.7.1";
    /** {@code <port>|<folder>|<pid>} of the running server, for every class loader of the JVM. */
    private static final String PROPERTY = "test.s3rver.server";

    private final int port;
    private final Path dir;
    private volatile long pid;

    private S3rverServer(int port, Path dir, long pid) {
        this.port = port;
        this.dir = dir;
        this.pid = pid;
    }

    /** The server of this JVM, started on first use. */
    public static synchronized S3rverServer shared() {
        String known = System.getProperty(PROPERTY);
        if (known != null) {
            String[] p = known.split("\\|");
            return new S3rverServer(Integer.parseInt(p[0]), Path.of(p[1]), Long.parseLong(p[2]));
        }
        System.setProperty("aws.accessKeyId", ACCESS_KEY);
        System.setProperty("aws.secretAccessKey", ACCESS_KEY);
        Path bin = install();
        Path dir;
        try {
            Path target = Files.createDirectories(Path.of("target").toAbsolutePath());
            dir = Files.createTempDirectory(target, "s3rver-");
        } catch (IOException e) {
            throw new IllegalStateException("cannot create the s3rver folder under target/: " + e.getMessage(), e);
        }
        S3rverServer server = new S3rverServer(freePort(), dir, 0);
        server.pid = server.launch(bin);
        Runtime.getRuntime().addShutdownHook(new Thread(server::stopForOutage, "s3rver-stop"));
        return server;
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + port);
    }

    /** The {@code loragate.store.url} of a store under {@code prefix} in the test bucket. */
    public String url(String prefix) {
        return "s3://" + BUCKET + "/" + prefix;
    }

    /**
     * The file in which s3rver keeps the object {@code objectKey} of the test bucket (plain keys:
     * letters, digits, {@code / . _ -}); its modification time is the object's Last-Modified.
     */
    public Path objectFile(String objectKey) {
        return dir.resolve("data").resolve(BUCKET).resolve(objectKey + "._S3rver_object");
    }

    /** A client of the test's own (to look at or tamper with objects behind the gateway's back). */
    public S3Client client() {
        return S3Client.builder().endpointOverride(endpoint()).forcePathStyle(true).region(Region.of(REGION))
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS_KEY, ACCESS_KEY)))
                .httpClientBuilder(UrlConnectionHttpClient.builder())
                .serviceConfiguration(S3Configuration.builder().chunkedEncodingEnabled(false).build())
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED).build();
    }

    /** Stops the server (connections are refused) until {@link #startAgain}. */
    public synchronized void stopForOutage() {
        ProcessHandle.of(pid).ifPresent(p -> {
            p.destroy();
            try {
                p.onExit().get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                p.destroyForcibly();
            }
        });
    }

    /** Starts the server again on the same port with the same objects. */
    public synchronized void startAgain() {
        pid = launch(install());
    }

    private long launch(Path bin) {
        List<String> command = List.of(bin.toString(), "-d", dir.resolve("data").toString(), "-a", "127.0.0.1",
                "-p", Integer.toString(port), "--silent", "--configure-bucket", BUCKET);
        Process p;
        try {
            Files.createDirectories(dir.resolve("data"));
            p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("s3rver.log").toFile())).start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start s3rver: " + e.getMessage(), e);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!accepts(port)) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new IllegalStateException("s3rver did not start on port " + port + " (log: " + dir.resolve("s3rver.log") + ")");
            }
            sleep(100);
        }
        System.setProperty(PROPERTY, port + "|" + dir + "|" + p.pid());
        return p.pid();
    }

    /** The s3rver program, installed with npm when missing. */
    static Path install() {
        String env = System.getenv("LORAGATE_S3RVER_DIR");
        Path dir = env != null && !env.isEmpty() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "loragate", "s3rver");
        Path bin = dir.resolve("node_modules/.bin/s3rver");
        if (Files.isExecutable(bin)) {
            return bin;
        }
        try {
            Files.createDirectories(dir);
            Process npm = new ProcessBuilder("npm", "install", "--prefix", dir.toString(), "--silent", "--no-audit", "--no-fund",
                    "s3rver@" + VERSION).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!npm.waitFor(600, TimeUnit.SECONDS) || npm.exitValue() != 0) {
                npm.destroyForcibly();
                throw new IllegalStateException("npm install s3rver@" + VERSION + " into " + dir + " failed");
            }
        } catch (IOException e) {
            throw new IllegalStateException("s3rver is missing and npm cannot install it (install Node.js and npm: apt-get install npm): "
                    + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while installing s3rver", e);
        }
        if (!Files.isExecutable(bin)) {
            throw new IllegalStateException("npm installed s3rver@" + VERSION + " but " + bin + " is missing");
        }
        return bin;
    }

    private static boolean accepts(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException("no free port: " + e.getMessage(), e);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
