package io.loragate;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import io.loragate.runtime.ResidentModel;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A base model that cannot load keeps startup and readiness DOWN, with the reason, and requests get a clear error. */
@QuarkusTest
@TestProfile(BrokenModelTest.Missing.class)
class BrokenModelTest {

    public static class Missing implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("loragate.model.path", "target/no-such-model", "loragate.data-dir", "target/test-data-broken");
        }
    }

    @Inject
    ResidentModel resident;

    @Test
    void startupAndReadinessStayDownWithTheReason() throws Exception {
        try {
            resident.whenLoaded().get(60, TimeUnit.SECONDS);
        } catch (Exception expected) {
            // loading fails: that is the point
        }
        given().get("/q/health/started").then().statusCode(503).body("status", equalTo("DOWN"))
                .body("checks.find { it.name == 'base-model-loaded' }.data.error", containsString("no-such-model"));
        given().get("/q/health/ready").then().statusCode(503);
        given().contentType(ContentType.JSON).body("{\"model\":\"x\",\"prompt\":\"hi\"}").post("/v1/completions")
                .then().statusCode(400).body("error.message", containsString("failed to load"));
    }
}
