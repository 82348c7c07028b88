package io.loragate.postgres;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.response.Response;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;

/**
 * Readiness follows the database: with PostgreSQL stopped {@code /q/health/ready} answers 503 with a
 * DOWN check named {@code database} that says so; with it started again, 200. The load balancer
 * (HAProxy, Kubernetes endpoints) then takes a replica whose database is gone out of rotation.
 */
@QuarkusTest
@TestProfile(DatabaseReadinessTest.Profile.class)
class DatabaseReadinessTest {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("loragate.data-dir", "target/test-data-pg-readiness");
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(RestartablePostgresResource.class));
        }
    }

    static PostgresServer server() {
        var cfg = ConfigProvider.getConfig();
        return PostgresServer.of(Path.of(cfg.getValue("restartable-postgres.dir", String.class)),
                cfg.getValue("restartable-postgres.port", Integer.class));
    }

    /** Polls the readiness probe until it answers {@code status}; fails after {@code seconds} without. */
    static Response awaitReady(int status, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true) {
            Response r = given().when().get("/q/health/ready");
            if (r.statusCode() == status) {
                return r;
            }
            assertTrue(System.nanoTime() < deadline, "/q/health/ready never answered " + status + "; last: " + r.asString());
            Thread.sleep(200);
        }
    }

    @Test
    void readinessIsDownWhileTheDatabaseIsStoppedAndUpOnceItIsBack() throws Exception {
        Response up = awaitReady(200, 180); // the embedded base model loads first
        assertTrue(up.jsonPath().getString("checks.find { it.name == 'database' }.status").equals("UP"), up.asString());
        assertTrue(up.jsonPath().getString("checks.find { it.name == 'data-directory' }.status").equals("UP"), up.asString());

        PostgresServer db = server();
        db.stop(PostgresServer.Shutdown.IMMEDIATE);
        try {
            Response down = awaitReady(503, 120);
            assertTrue("DOWN".equals(down.jsonPath().getString("checks.find { it.name == 'database' }.status")), down.asString());
            String error = down.jsonPath().getString("checks.find { it.name == 'database' }.data.error");
            assertTrue(error != null && error.startsWith("the database "), "the check says it is the database: " + down.asString());
            assertTrue("UP".equals(down.jsonPath().getString("checks.find { it.name == 'base-model' }.status")),
                    "only the database is down: " + down.asString());
        } finally {
            db.restart();
        }
        Response back = awaitReady(200, 120);
        assertTrue("UP".equals(back.jsonPath().getString("checks.find { it.name == 'database' }.status")), back.asString());
        // and the pool serves requests again (the broken connections were dropped)
        given().when().get("/v1/models").then().statusCode(200);
    }
}
