package io.loragate;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Programs the tests run as real processes (HAProxy, ...), from Debian's registry: {@code .ci/run}
 * installs them on CI; a developer's {@code mvn verify} installs them here when running as root, and
 * otherwise fails with what to install (a test that needs a server never skips).
 */
public final class DebianPackages {

    private DebianPackages() {
    }

    /** The path of {@code command}, installing {@code pkg} with apt-get first when it is missing and we are root. */
    public static synchronized Path require(String command, String pkg) throws IOException, InterruptedException {
        Path found = which(command);
        if (found != null) {
            return found;
        }
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new IllegalStateException(command + " is not installed: install the Debian package '" + pkg
                    + "' (apt-get install " + pkg + "), as .ci/run does");
        }
        run("apt-get", "update", "-qq");
        run("apt-get", "install", "-y", "-qq", pkg);
        found = which(command);
        if (found == null) {
            throw new IllegalStateException("apt-get installed " + pkg + " but " + command + " is still not on PATH");
        }
        return found;
    }

    private static Path which(String command) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            Path p = Path.of(dir, command);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        for (String dir : new String[] {"/usr/sbin", "/sbin", "/usr/local/sbin"}) {
            Path p = Path.of(dir, command);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    private static void run(String... cmd) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).inheritIO();
        pb.environment().put("DEBIAN_FRONTEND", "noninteractive");
        Process p = pb.start();
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed");
        }
    }
}
