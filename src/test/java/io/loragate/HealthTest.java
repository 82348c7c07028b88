package io.loragate;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;

import io.loragate.runtime.ResidentModel;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The gateway starts on the embedded MiniLM and reports it through the health probes. */
@QuarkusTest
class HealthTest {

    @Inject
    ResidentModel resident;

    @Test
    void readinessAndStartupAreUpOnceTheEmbeddedBaseModelIsResident() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
        given().when().get("/q/health/ready").then().statusCode(200)
                .body("status", equalTo("UP"))
                .body("checks.find { it.name == 'base-model' }.data.architecture", equalTo("BertModel"))
                .body("checks.find { it.name == 'base-model' }.data.id", equalTo("all-minilm-l6-v2"));
        given().when().get("/q/health/started").then().statusCode(200).body("status", equalTo("UP"));
        given().when().get("/q/health/live").then().statusCode(200);
    }
}
