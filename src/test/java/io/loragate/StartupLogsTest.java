package io.loragate;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.RestAssured;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * What a start logs, read from the gateway's own log file ({@link LogsProfile}): one line with the
 * URLs to open, the device in one line without GPU probing noise, and health changes once per
 * change however often the probes ask.
 */
@QuarkusTest
@TestProfile(LogsProfile.class)
class StartupLogsTest {

    static List<String> lines() throws IOException {
        Path file = Path.of(LogsProfile.LOG_FILE);
        return Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : List.of();
    }

    /** The lines matching {@code p}, once at least {@code atLeast} are there (lines are written asynchronously), within 60 s. */
    static List<String> await(Predicate<String> p, int atLeast) throws Exception {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (true) {
            List<String> found = lines().stream().filter(p).toList();
            if (found.size() >= atLeast || System.nanoTime() > deadline) {
                return found;
            }
            Thread.sleep(100);
        }
    }

    @Test
    void oneStartupLineNamesEveryUrl() throws Exception {
        List<String> found = await(l -> l.contains("loragate listening:"), 1);
        assertEquals(1, found.size(), found.toString());
        String line = found.get(0);
        String base = "http://localhost:" + RestAssured.port;
        for (String url : List.of("API " + base + "/v1", "console " + base + "/console", "OpenAPI " + base + "/q/openapi",
                "Swagger UI " + base + "/q/swagger-ui", "gRPC localhost:" + RestAssured.port)) {
            assertTrue(line.contains(url), "names " + url + ": " + line);
        }
        assertTrue(line.contains(" INFO "), line);
    }

    @Test
    void theDeviceIsOneLineWithoutGpuProbingNoise() throws Exception {
        List<String> device = await(l -> l.contains("loragate.device=auto"), 1);
        assertEquals(1, device.size(), device.toString());
        assertTrue(device.get(0).contains("cpu"), device.get(0));
        assertEquals(List.of(), lines().stream().filter(l -> l.contains("CudaUtils") || l.contains("CUDA driver")).toList());
    }

    @Test
    void healthIsLoggedOncePerChangeNotPerProbe() throws Exception {
        for (int i = 0; i < 12; i++) {
            given().get("/q/health/ready").then().statusCode(503);
            given().get("/q/health").then().statusCode(503);
        }
        given().get("/q/health/started").then().statusCode(503);
        // SmallRye's own handler (reached by paths the probe routes do not take) logs nothing per call either
        given().get("/q/health/group").then().statusCode(org.hamcrest.Matchers.anyOf(org.hamcrest.Matchers.is(200),
                org.hamcrest.Matchers.is(503), org.hamcrest.Matchers.is(404)));
        List<String> ready = await(l -> l.contains("health check base-model (readiness) is DOWN"), 1);
        assertEquals(1, ready.size(), ready.toString());
        assertTrue(ready.get(0).contains("state=FAILED"), ready.get(0));
        assertEquals(1, await(l -> l.contains("health check base-model-loaded (startup) is DOWN"), 1).size());
        assertEquals(List.of(), lines().stream().filter(l -> l.contains("Reporting health down status")).toList());
    }
}
