package io.loragate;

import static io.restassured.RestAssured.given;

import io.restassured.http.ContentType;
import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The gateway on the tiny-llama fixture with authentication on and an admin key, in its own data
 * directory: the tenancy tests (auth, isolation, quotas) share it. Tenants get unique ids per run,
 * since the data directory outlives a run.
 */
public class AuthProfile implements QuarkusTestProfile {

    public static final String ADMIN_KEY = "test-admin-key-7c1f0e9a";
    private static final String RUN = Long.toString(System.currentTimeMillis() % 1_000_000_000L, 36);
    private static final AtomicInteger COUNTER = new AtomicInteger();

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of(
                "loragate.model.path", "src/test/resources/fixtures/hf/tiny-llama",
                "loragate.model.id", "tiny-llama",
                "loragate.device", "cpu",
                "loragate.data-dir", "target/test-data-auth",
                "loragate.auth.enabled", "true",
                "loragate.auth.admin-key", ADMIN_KEY);
    }

    /** A tenant id unique to this run. */
    public static String uniqueTenant(String prefix) {
        return prefix + "-" + RUN + "-" + COUNTER.incrementAndGet();
    }

    /** Creates a tenant (with optional quotas JSON) through the admin API; answers its API key. */
    public static String createTenant(String id, String quotasJson) {
        return given().auth().oauth2(ADMIN_KEY).contentType(ContentType.JSON)
                .body("{\"id\": \"" + id + "\"" + (quotasJson == null ? "" : ", \"quotas\": " + quotasJson) + "}")
                .post("/v1/admin/tenants").then().statusCode(200).extract().path("api_key");
    }
}
