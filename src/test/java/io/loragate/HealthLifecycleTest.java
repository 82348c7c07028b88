package io.loragate;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import io.loragate.engine.EngineService;
import io.loragate.runtime.ResidentModel;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Liveness follows the engine thread: stopping it turns /q/health/live DOWN and readiness with it. */
@QuarkusTest
@TestProfile(HealthLifecycleTest.OwnApp.class)
class HealthLifecycleTest {

    /** Its own application instance, since the test stops the engine. */
    public static class OwnApp implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("loragate.model.path", "src/test/resources/fixtures/hf/tiny-llama",
                    "loragate.model.id", "tiny-llama", "loragate.data-dir", "target/test-data-lifecycle");
        }
    }

    @Inject
    ResidentModel resident;

    @Inject
    EngineService engines;

    @Test
    void healthGoesDownWhenTheEngineThreadStops() throws Exception {
        resident.whenLoaded().get(60, TimeUnit.SECONDS);
        for (int i = 0; i < 100 && given().get("/q/health/ready").statusCode() != 200; i++) {
            Thread.sleep(50);
        }
        given().get("/q/health/live").then().statusCode(200).body("status", equalTo("UP"));
        given().get("/q/health/ready").then().statusCode(200);
        engines.stopForTest();
        given().get("/q/health/live").then().statusCode(503).body("status", equalTo("DOWN"))
                .body("checks.find { it.name == 'engine' }.data.error", containsString("stopped"));
        given().get("/q/health/ready").then().statusCode(503);
        given().contentType(ContentType.JSON).body("{\"model\":\"tiny-llama\",\"prompt\":\"the software\"}")
                .post("/v1/completions").then().statusCode(429).header("Retry-After", org.hamcrest.Matchers.notNullValue());
    }
}
