package io.loragate.api.rest;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;

/**
 * Debian's {@code chromium} driven by its {@code chromedriver}, headless. When either is missing
 * and this runs as root (CI, the project's machines) it installs both with apt-get; otherwise it
 * fails with the command to run. It never downloads a browser of its own (Selenium Manager is not
 * used: both paths are given).
 */
final class HeadlessChromium {

    private static final String INSTALL = "apt-get update && apt-get install -y chromium chromium-driver";

    private HeadlessChromium() {
    }

    static ChromeDriver start() {
        Path browser = which("chromium");
        Path driver = which("chromedriver");
        if (browser == null || driver == null) {
            install();
            browser = which("chromium");
            driver = which("chromedriver");
            if (browser == null || driver == null) {
                throw new AssertionError("chromium or chromedriver still missing after '" + INSTALL + "'");
            }
        }
        ChromeOptions options = new ChromeOptions();
        options.setBinary(browser.toFile());
        // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,2000", "--disable-extensions", "--no-first-run");
        LoggingPreferences logs = new LoggingPreferences();
        logs.enable(LogType.BROWSER, Level.ALL);
        options.setCapability("goog:loggingPrefs", logs);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(driver.toFile())
                .usingAnyFreePort().build();
        return new ChromeDriver(service, options);
    }

    private static void install() {
        if (!isRoot()) {
            throw new AssertionError("the console's browser test needs Debian's chromium and chromedriver on PATH; "
                    + "install them as root: " + INSTALL);
        }
        try {
            Path log = Files.createTempFile("apt-chromium", ".log");
            ProcessBuilder pb = new ProcessBuilder("bash", "-c", INSTALL).redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().put("DEBIAN_FRONTEND", "noninteractive");
            Process p = pb.start();
            p.getOutputStream().close();
            if (!p.waitFor(15, TimeUnit.MINUTES) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new AssertionError("'" + INSTALL + "' failed: " + tail(log));
            }
        } catch (IOException e) {
            throw new AssertionError("cannot run '" + INSTALL + "': " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while installing chromium", e);
        }
    }

    private static boolean isRoot() {
        try {
            Process p = new ProcessBuilder("id", "-u").start();
            String uid = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            p.waitFor(10, TimeUnit.SECONDS);
            return uid.equals("0");
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** The executable on PATH, or null. */
    static Path which(String name) {
        String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
        for (String dir : path.split(File.pathSeparator)) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, name);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    private static String tail(Path log) throws IOException {
        String s = Files.readString(log, StandardCharsets.UTF_8);
        return s.length() > 2000 ? s.substring(s.length() - 2000) : s;
    }
}
