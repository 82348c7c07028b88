package io.loragate.api.rest;

import static io.loragate.AuthProfile.ADMIN_KEY;
import static io.loragate.AuthProfile.createTenant;
import static io.loragate.AuthProfile.uniqueTenant;
import static io.loragate.registry.RegistryFixtures.adapter;
import static io.loragate.registry.RegistryFixtures.config;
import static io.loragate.registry.RegistryFixtures.weights;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.notNullValue;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.AuthProfile;
import io.loragate.runtime.ResidentModel;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.restassured.response.ValidatableResponse;
import jakarta.inject.Inject;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Authentication, tenant management and quotas over REST with authentication on: missing, bad and
 * rotated keys, admin-only endpoints, open health and metrics, token buckets (refill and headers),
 * and the adapter, storage, job and stream quotas.
 */
@QuarkusTest
@TestProfile(AuthProfile.class)
class TenantsRestTest {

    @Inject
    ResidentModel resident;

    @Inject
    io.loragate.service.GenerationService inference;

    @Inject
    io.loragate.service.TenantLimits limits;

    @Inject
    io.loragate.registry.JobStore jobs;

    @TestHTTPResource("/")
    URL root;

    @BeforeEach
    void ready() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
    }

    static ValidatableResponse register(String key, String name, Path folder) {
        return given().auth().oauth2(key).multiPart("name", name)
                .multiPart("config", config(folder).toFile(), "application/json")
                .multiPart("weights", weights(folder).toFile(), "application/octet-stream")
                .post("/v1/adapters").then();
    }

    static String complete(String key, String model, int maxTokens) {
        return "{\"model\": \"" + model + "\", \"prompt\": \"the software\", \"max_tokens\": " + maxTokens
                + ", \"temperature\": 0, \"ignore_eos\": true}";
    }

    static void assertUnauthenticated(ValidatableResponse r, String message) {
        r.statusCode(401)
                .header("WWW-Authenticate", org.hamcrest.Matchers.startsWith("Bearer"))
                .body("error.type", equalTo("authentication_error"))
                .body("error.code", equalTo("unauthenticated"))
                .body("error.message", equalTo(message));
    }

    @Test
    void noKeyBadKeyAndARotatedKeyAreRefusedWhileHealthAndMetricsStayOpen() {
        String id = uniqueTenant("auth");
        String key = createTenant(id, null);
        assertTrue(key.startsWith("lg-"), key);
        given().auth().oauth2(key).get("/v1/models").then().statusCode(200).body("data[0].id", equalTo("tiny-llama"));

        assertUnauthenticated(given().get("/v1/models").then(), "missing API key: send 'Authorization: Bearer <key>'");
        assertUnauthenticated(given().header("Authorization", "Basic abc").get("/v1/adapters").then(),
                "missing API key: send 'Authorization: Bearer <key>'");
        assertUnauthenticated(given().auth().oauth2(key + "x").get("/v1/models").then(), "invalid API key");
        assertUnauthenticated(given().auth().oauth2("lg-000000000000-nope").get("/v1/files").then(), "invalid API key");
        assertUnauthenticated(given().auth().oauth2(ADMIN_KEY).get("/v1/models").then(), "invalid API key");
        assertUnauthenticated(given().contentType(ContentType.JSON).body(complete(null, "tiny-llama", 2))
                .post("/v1/completions").then(), "missing API key: send 'Authorization: Bearer <key>'");

        // rotation: the old key stops working at once, the new one works
        String rotated = given().auth().oauth2(ADMIN_KEY).post("/v1/admin/tenants/" + id + "/rotate").then().statusCode(200)
                .body("id", equalTo(id)).extract().path("api_key");
        assertNotEquals(key, rotated);
        assertUnauthenticated(given().auth().oauth2(key).get("/v1/models").then(), "invalid API key");
        given().auth().oauth2(rotated).get("/v1/models").then().statusCode(200);

        // deletion revokes the key
        given().auth().oauth2(ADMIN_KEY).delete("/v1/admin/tenants/" + id).then().statusCode(200).body("deleted", equalTo(true));
        assertUnauthenticated(given().auth().oauth2(rotated).get("/v1/models").then(), "invalid API key");
        // the id is a tombstone: never issued again, so nothing recorded under it reaches a newcomer
        given().auth().oauth2(ADMIN_KEY).contentType(ContentType.JSON).body("{\"id\": \"" + id + "\"}").post("/v1/admin/tenants")
                .then().statusCode(400).body("error.param", equalTo("id"))
                .body("error.message", org.hamcrest.Matchers.containsString("never reused"));
        given().auth().oauth2(ADMIN_KEY).get("/v1/admin/tenants/" + id).then().statusCode(404);
        given().auth().oauth2(ADMIN_KEY).get("/v1/admin/tenants").then().statusCode(200).body("data.id", not(hasItem(id)));

        // health and metrics need no key
        given().get("/q/health/live").then().statusCode(200);
        given().get("/q/health/ready").then().statusCode(200);
        given().get("/q/metrics").then().statusCode(200);
    }

    @Test
    void tenantManagementTakesOnlyTheAdminKey() {
        String id = uniqueTenant("adm");
        String key = createTenant(id, "{\"max_adapters\": 3}");
        assertUnauthenticated(given().get("/v1/admin/tenants").then(), "missing API key: send 'Authorization: Bearer <key>'");
        assertUnauthenticated(given().auth().oauth2("wrong").get("/v1/admin/tenants").then(), "invalid API key");
        for (Response r : new Response[] {
                given().auth().oauth2(key).get("/v1/admin/tenants"),
                given().auth().oauth2(key).get("/v1/admin/tenants/" + id),
                given().auth().oauth2(key).post("/v1/admin/tenants/" + id + "/rotate"),
                given().auth().oauth2(key).delete("/v1/admin/tenants/" + id),
                given().auth().oauth2(key).contentType(ContentType.JSON).body("{}").put("/v1/admin/tenants/" + id + "/quotas"),
                given().auth().oauth2(key).contentType(ContentType.JSON).body("{\"id\": \"x-" + id + "\"}").post("/v1/admin/tenants")}) {
            r.then().statusCode(403).body("error.type", equalTo("permission_error"));
        }
        // the key still works: the refused calls changed nothing
        given().auth().oauth2(key).get("/v1/models").then().statusCode(200);

        given().auth().oauth2(ADMIN_KEY).get("/v1/admin/tenants").then().statusCode(200)
                .body("data.id", hasItem(id)).body("data.api_key", not(hasItem(notNullValue())));
        given().auth().oauth2(ADMIN_KEY).get("/v1/admin/tenants/" + id).then().statusCode(200)
                .body("quota_overrides.max_adapters", equalTo(3))
                .body("quotas.max_adapters", equalTo(3))
                .body("quotas.max_concurrent_jobs", equalTo(4)) // loragate.jobs.max-per-tenant
                .body("quota_overrides.max_concurrent_jobs", nullValue())
                .body("usage.adapters", equalTo(0))
                .body("api_key", nullValue());
        given().auth().oauth2(ADMIN_KEY).contentType(ContentType.JSON).body("{\"id\": \"" + id + "\"}").post("/v1/admin/tenants")
                .then().statusCode(400).body("error.message", equalTo("tenant '" + id + "' already exists"));
        given().auth().oauth2(ADMIN_KEY).contentType(ContentType.JSON).body("{\"id\": \"Bad/Id\"}").post("/v1/admin/tenants")
                .then().statusCode(400).body("error.param", equalTo("id"));
        given().auth().oauth2(ADMIN_KEY).contentType(ContentType.JSON).body("{\"max_adapters\": -1}")
                .put("/v1/admin/tenants/" + id + "/quotas").then().statusCode(400).body("error.param", equalTo("max_adapters"));
        given().auth().oauth2(ADMIN_KEY).contentType(ContentType.JSON).body("{\"max_adaptors\": 1}")
                .put("/v1/admin/tenants/" + id + "/quotas").then().statusCode(400).body("error.param", equalTo("max_adaptors"));
        given().auth().oauth2(ADMIN_KEY).get("/v1/admin/tenants/nobody-" + id).then().statusCode(404)
                .body("error.message", equalTo("tenant 'nobody-" + id + "' not found"));

        // a tenant that stores something is not deleted behind its back
        register(key, "keep", adapter("tiny-llama", 0)).statusCode(200);
        given().auth().oauth2(ADMIN_KEY).delete("/v1/admin/tenants/" + id).then().statusCode(400)
                .body("error.code", equalTo("failed_precondition"));
        given().auth().oauth2(key).get("/v1/adapters/keep").then().statusCode(200);
    }

    /** An unfinished job would publish for a tenant that is gone: the delete waits until it is final. */
    @Test
    void aTenantWithAnUnfinishedJobIsNotDeleted() {
        String id = uniqueTenant("busy");
        createTenant(id, null);
        io.loragate.registry.JobRecord job = jobs.create(id, "tiny-llama", "file-000000000000000000000000", null, "x", 1, "{}", null,
                false); // validating_files: nothing runs it
        given().auth().oauth2(ADMIN_KEY).delete("/v1/admin/tenants/" + id).then().statusCode(400)
                .body("error.code", equalTo("failed_precondition"))
                .body("error.message", org.hamcrest.Matchers.containsString("1 unfinished fine-tuning job(s)"));
        given().auth().oauth2(ADMIN_KEY).get("/v1/admin/tenants/" + id).then().statusCode(200);
        assertTrue(jobs.transition(job.id(), java.util.Set.of(io.loragate.registry.JobStore.VALIDATING),
                io.loragate.registry.JobStore.CANCELLED, "info", "cancelled by the test", null, null));
        given().auth().oauth2(ADMIN_KEY).delete("/v1/admin/tenants/" + id).then().statusCode(200);
    }

    @Test
    void theRequestBucketRefusesWithRetryAfterAndHeadersThenRefills() throws Exception {
        String key = createTenant(uniqueTenant("rps"), "{\"requests_per_second\": 0.5}");
        // a bucket of 1 request refilling every 2 s
        given().auth().oauth2(key).get("/v1/models").then().statusCode(200)
                .header("x-ratelimit-limit-requests", "1")
                .header("x-ratelimit-remaining-requests", "0")
                .header("x-ratelimit-reset-requests", org.hamcrest.Matchers.matchesPattern("[0-9.]+s"));
        long t0 = System.nanoTime();
        Response refused = given().auth().oauth2(key).get("/v1/adapters");
        refused.then().statusCode(429)
                .body("error.type", equalTo("rate_limit_error"))
                .body("error.code", equalTo("resource_exhausted"))
                .header("x-ratelimit-limit-requests", "1")
                .header("x-ratelimit-remaining-requests", "0");
        int retryAfter = Integer.parseInt(refused.header("Retry-After"));
        assertTrue(retryAfter >= 1 && retryAfter <= 2, "Retry-After " + retryAfter);
        // tokens are unlimited for this tenant: no token headers
        assertEquals(null, refused.header("x-ratelimit-limit-tokens"));
        Thread.sleep(Math.max(0, 2100 - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)));
        given().auth().oauth2(key).get("/v1/models").then().statusCode(200).header("x-ratelimit-remaining-requests", "0");
    }

    @Test
    void theTokenBucketChargesPromptAndMaxTokens() {
        String key = createTenant(uniqueTenant("tpm"), "{\"tokens_per_minute\": 100}");
        Response ok = given().auth().oauth2(key).contentType(ContentType.JSON).body(complete(key, "tiny-llama", 60))
                .post("/v1/completions");
        ok.then().statusCode(200).header("x-ratelimit-limit-tokens", "100");
        int prompt = ok.jsonPath().getInt("usage.prompt_tokens");
        int remaining = Integer.parseInt(ok.header("x-ratelimit-remaining-tokens"));
        // what refilled during the request (100/min) is at most a token or two
        assertTrue(remaining >= 100 - prompt - 60 && remaining <= 100 - prompt - 60 + 3, "remaining " + remaining);
        given().auth().oauth2(key).contentType(ContentType.JSON).body(complete(key, "tiny-llama", 60))
                .post("/v1/completions").then().statusCode(429)
                .body("error.message", org.hamcrest.Matchers.containsString("100 tokens per minute"))
                .header("Retry-After", notNullValue());
        // more than a whole minute's allowance can never pass: a client error, not a retry
        given().auth().oauth2(key).contentType(ContentType.JSON).body(complete(key, "tiny-llama", 200))
                .post("/v1/completions").then().statusCode(400).body("error.param", equalTo("max_tokens"));
    }

    /**
     * Admission reserves prompt + max_tokens; a generation that stops early gives back what it did not
     * generate, unary and streamed alike. Without the refund the bucket would be down 2 × (prompt + 60).
     */
    @Test
    void tokensAGenerationDidNotUseGoBackToTheBucket() throws Exception {
        String probe = uniqueTenant("probe");
        createTenant(probe, null);
        io.loragate.common.SamplingParams one = new io.loragate.common.SamplingParams(1, 0, 0, 1, null, java.util.Set.of(),
                java.util.List.of(), true);
        long first = inference.complete(probe, new io.loragate.service.CompletionCommand("tiny-llama", java.util.List.of(
                "the software"), one, false)).get(60, TimeUnit.SECONDS).choices().get(0).tokenIds()[0];
        // stops at its first token, though it may take 60
        io.loragate.common.SamplingParams early = new io.loragate.common.SamplingParams(60, 0, 0, 1, null, java.util.Set.of(first),
                java.util.List.of(), true);
        io.loragate.service.CompletionCommand command = new io.loragate.service.CompletionCommand("tiny-llama",
                java.util.List.of("the software"), early, false);
        String id = uniqueTenant("settle");
        createTenant(id, "{\"tokens_per_minute\": 100}");

        io.loragate.service.CompletionResult r = inference.complete(id, command).get(60, TimeUnit.SECONDS);
        assertEquals("stop", r.choices().get(0).finishReason());
        int used = r.usage().promptTokens() + r.usage().completionTokens();
        assertTrue(r.usage().completionTokens() <= 1, "stopped at the first token: " + r.usage());
        long remaining = limits.tokenState(id).remaining();
        // what refilled meanwhile (100/min) is a token or two
        assertTrue(remaining >= 100 - used - 1 && remaining <= 100 - used + 3, "remaining " + remaining + ", used " + used);

        inference.stream(id, command).collect().asList().await().atMost(java.time.Duration.ofSeconds(60));
        remaining = limits.tokenState(id).remaining();
        assertTrue(remaining >= 100 - 2 * used - 1 && remaining <= 100 - 2 * used + 4, "remaining " + remaining + ", used " + used);

        // a stream the client cancels before anything ran gives back its whole reservation
        long before = limits.tokenState(id).remaining();
        inference.stream(id, command).subscribe().with(x -> { }).cancel();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (limits.tokenState(id).remaining() < before && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(limits.tokenState(id).remaining() >= before, "after a cancelled stream: " + limits.tokenState(id).remaining()
                + " < " + before);
    }

    @Test
    void adapterStorageAndJobQuotasRefuseWith429() throws Exception {
        Path a0 = adapter("tiny-llama", 0);
        long weights = Files.size(weights(a0));
        String id = uniqueTenant("store");
        // room for two versions' weights and a small file, one adapter name, one unfinished job
        String key = createTenant(id, "{\"max_adapters\": 1, \"max_stored_bytes\": " + (2 * weights + 4000)
                + ", \"max_concurrent_jobs\": 1}");
        register(key, "first", a0).statusCode(200);
        register(key, "second", a0).statusCode(429).body("error.param", equalTo("weights"))
                .body("error.message", org.hamcrest.Matchers.containsString("max_adapters"));
        register(key, "first", a0).statusCode(200).body("version", equalTo(2)); // a version is no new adapter
        String file = given().auth().oauth2(key).multiPart("file", "qa.jsonl", dataset(10), "application/jsonl")
                .multiPart("purpose", "fine-tune").post("/v1/files").then().statusCode(200).extract().path("id");
        given().auth().oauth2(key).multiPart("file", "big.jsonl", dataset(200), "application/jsonl")
                .multiPart("purpose", "fine-tune").post("/v1/files").then().statusCode(429)
                .body("error.param", equalTo("file"))
                .body("error.message", org.hamcrest.Matchers.containsString("max_stored_bytes"));
        given().auth().oauth2(ADMIN_KEY).get("/v1/admin/tenants/" + id).then().statusCode(200)
                .body("usage.adapters", equalTo(1));

        String job = given().auth().oauth2(key).contentType(ContentType.JSON).body(jobBody(file)).post("/v1/fine_tuning/jobs")
                .then().statusCode(200).extract().path("id");
        given().auth().oauth2(key).contentType(ContentType.JSON).body(jobBody(file)).post("/v1/fine_tuning/jobs")
                .then().statusCode(429).body("error.message", org.hamcrest.Matchers.containsString("max_concurrent_jobs"));
        given().auth().oauth2(key).post("/v1/fine_tuning/jobs/" + job + "/cancel").then().statusCode(200);
        // raising the quota applies at once
        given().auth().oauth2(ADMIN_KEY).contentType(ContentType.JSON).body("{\"max_concurrent_jobs\": 2}")
                .put("/v1/admin/tenants/" + id + "/quotas").then().statusCode(200).body("quotas.max_concurrent_jobs", equalTo(2));
        String second = given().auth().oauth2(key).contentType(ContentType.JSON).body(jobBody(file)).post("/v1/fine_tuning/jobs")
                .then().statusCode(200).extract().path("id");
        given().auth().oauth2(key).post("/v1/fine_tuning/jobs/" + second + "/cancel").then().statusCode(200);
    }

    static byte[] dataset(int lines) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < lines; i++) {
            sb.append("{\"prompt\": \"Q: item ").append(i).append("\\nA:\", \"completion\": \" yes.\"}\n");
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    static String jobBody(String file) {
        return "{\"model\": \"tiny-llama\", \"training_file\": \"" + file + "\", \"suffix\": \"tuned\", \"method\": {\"type\":"
                + " \"supervised\", \"hyperparameters\": {\"epochs\": 1000, \"batch_size\": 4}}}"; // long: still running when cancelled
    }

    @Test
    void aTenantAtItsStreamLimitGets429UntilAStreamCloses() throws Exception {
        String key = createTenant(uniqueTenant("streams"), "{\"max_concurrent_streams\": 1}");
        HttpClient http = HttpClient.newHttpClient();
        HttpRequest stream = HttpRequest.newBuilder(URI.create(root + "v1/completions"))
                .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"tiny-llama\", \"prompt\": \"the software\","
                        + " \"max_tokens\": 240, \"temperature\": 0, \"ignore_eos\": true, \"stream\": true}"))
                .build();
        HttpResponse<InputStream> first = http.send(stream, HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, first.statusCode());
        BufferedReader events = new BufferedReader(new InputStreamReader(first.body(), StandardCharsets.UTF_8));
        assertTrue(events.readLine().startsWith("data: "), "the first stream is open");
        HttpResponse<String> second = http.send(stream, HttpResponse.BodyHandlers.ofString());
        assertEquals(429, second.statusCode(), second.body());
        assertTrue(second.body().contains("max_concurrent_streams"), second.body());
        // non-streaming requests are not streams
        given().auth().oauth2(key).contentType(ContentType.JSON).body(complete(key, "tiny-llama", 2)).post("/v1/completions")
                .then().statusCode(200);
        // the first stream ends (read to the end): its slot is free again
        String line;
        String last = null;
        while ((line = events.readLine()) != null) {
            if (!line.isEmpty()) {
                last = line;
            }
        }
        assertEquals("data: [DONE]", last);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        int status;
        do {
            HttpResponse<String> again = http.send(stream, HttpResponse.BodyHandlers.ofString());
            status = again.statusCode();
        } while (status == 429 && System.nanoTime() < deadline);
        assertEquals(200, status);
    }
}
