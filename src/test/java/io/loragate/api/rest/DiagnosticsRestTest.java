package io.loragate.api.rest;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.Fixtures;
import io.loragate.TinyLlamaProfile;
import io.loragate.diagnostics.DiagnosticsService;
import io.loragate.common.LoragateException;
import io.loragate.runtime.ResidentModel;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Diagnostics over REST on the tiny-llama base: a job's report carries them and its
 * {@code max_forgetting} gate can stop publication; {@code POST /v1/adapters/{id}/diagnostics}
 * answers the same report for a registered PEFT adapter; unknown and foreign ids answer 404. The
 * two reports are written to {@code target/diagnostics-*.json} (the README's examples).
 */
@QuarkusTest
@TestProfile(TinyLlamaProfile.class)
class DiagnosticsRestTest {

    @Inject
    ResidentModel resident;

    @Inject
    DiagnosticsService diagnostics;

    @BeforeEach
    void ready() throws Exception {
        resident.whenLoaded().get(60, TimeUnit.SECONDS);
    }

    /** The job set of FineTuningJobsRestTest, with a slice per line: fruit words and the rest. */
    static String slicedSet() {
        StringBuilder sb = new StringBuilder();
        for (String w : FineTuningJobsRestTest.WORDS) {
            String slice = List.of("apple", "lemon", "maple").contains(w) ? "fruit" : "other";
            sb.append("{\"prompt\": \"Q: ").append(w).append("\\nA:\", \"completion\": \" yes.\", \"slice\": \"").append(slice)
                    .append("\"}\n");
        }
        return sb.toString();
    }

    static void save(String name, String json) throws Exception {
        Files.writeString(Path.of("target", name), json, StandardCharsets.UTF_8);
    }

    @Test
    void aJobReportCarriesTheDiagnosticsAndMaxForgettingStopsPublication() throws Exception {
        String file = FineTuningJobsRestTest.upload("diag.jsonl", slicedSet());
        String suffix = "diag-" + UUID.randomUUID().toString().substring(0, 8);
        String id = given().contentType(ContentType.JSON)
                .body(FineTuningJobsRestTest.body(file, suffix, 2, ", \"publish_if\": {\"max_forgetting\": -100},"
                        + " \"diagnostics\": {\"max_examples\": 16, \"layers\": [0, 1]}"))
                .when().post("/v1/fine_tuning/jobs").then().statusCode(200)
                .body("diagnostics.max_examples", equalTo(16)).extract().path("id");
        JsonPath done = FineTuningJobsRestTest.awaitFinal(id, 120);
        assertEquals("succeeded", done.getString("status"), done.prettify());
        assertNull(done.get("fine_tuned_model"), "the forgetting gate refused publication");
        assertFalse(done.getBoolean("report.publish_if.passed"));
        assertTrue(done.getString("report.publish_if.reasons[0]").contains("max_forgetting"));
        Map<String, Object> report = done.getMap("report");
        for (String key : List.of("task", "validation_examples", "steps", "early_stopped", "base", "adapter", "eval_loss_ratio",
                "publish_if", "negative_transfer", "negative_transfer_metrics", "forgetting", "layers", "slices", "diagnostics")) {
            assertTrue(report.containsKey(key), key + " in " + report.keySet());
        }
        assertTrue(done.getBoolean("report.forgetting.applicable"));
        assertEquals("built-in", done.getString("report.forgetting.reference"));
        assertTrue(done.getDouble("report.forgetting.delta") > -100);
        assertEquals(2, done.getList("report.layers").size());
        assertTrue(done.getDouble("report.layers[1].cka") < 1, "a trained LoRA changes the residual stream");
        Map<String, Object> slices = done.getMap("report.slices");
        assertFalse(slices.isEmpty());
        for (String s : slices.keySet()) {
            assertTrue(List.of("fruit", "other").contains(s), s);
        }
        save("diagnostics-job-report.json", done.prettify());
        given().get("/v1/adapters/" + suffix).then().statusCode(404);
    }

    @Test
    void onDemandDiagnosticsOfARegisteredAdapter() throws Exception {
        String name = "diag-peft-" + UUID.randomUUID().toString().substring(0, 8);
        AdaptersResourceTest.register(name, Fixtures.hf("tiny-llama").resolve("adapter0")).statusCode(200);
        String file = FineTuningJobsRestTest.upload("diag-eval.jsonl", slicedSet());
        String body = given().contentType(ContentType.JSON).body("{\"file\": \"" + file + "\", \"max_examples\": 16}")
                .when().post("/v1/adapters/" + name + "/diagnostics")
                .then().statusCode(200)
                .body("object", equalTo("adapter.diagnostics"))
                .body("adapter_id", equalTo(name + "@1"))
                .body("task", equalTo("supervised"))
                .body("validation_examples", equalTo(16))
                .body("forgetting.applicable", equalTo(true))
                .extract().asString();
        JsonPath j = new JsonPath(body);
        assertEquals(resident.model().config().numLayers(), j.getList("layers").size());
        for (int l = 0; l < resident.model().config().numLayers(); l++) {
            assertTrue(j.getDouble("layers[" + l + "].cka") < 1, "adapter0 targets every layer");
        }
        assertEquals(3, j.getInt("slices.fruit.examples"));
        assertTrue(j.getMap("slices.fruit").containsKey("base"));
        save("diagnostics-on-demand.json", j.prettify());

        // refusals: what the client can fix names its field; unknown and foreign ids are 404
        given().contentType(ContentType.JSON).body("{}").post("/v1/adapters/" + name + "/diagnostics")
                .then().statusCode(400).body("error.param", equalTo("file"));
        given().contentType(ContentType.JSON).body("{\"file\": \"" + file + "\", \"max_examples\": 100000}")
                .post("/v1/adapters/" + name + "/diagnostics").then().statusCode(400).body("error.param", equalTo("max_examples"));
        given().contentType(ContentType.JSON).body("{\"file\": \"" + file + "\", \"layers\": [7]}")
                .post("/v1/adapters/" + name + "/diagnostics").then().statusCode(400).body("error.param", equalTo("layers"));
        given().contentType(ContentType.JSON).body("{\"file\": \"file-000000000000000000000000\"}")
                .post("/v1/adapters/" + name + "/diagnostics").then().statusCode(404).body("error.param", equalTo("file"));
        given().contentType(ContentType.JSON).body("{\"file\": \"" + file + "\"}")
                .post("/v1/adapters/no-such-adapter/diagnostics").then().statusCode(404);
        assertEquals(LoragateException.Kind.NOT_FOUND, assertThrows(LoragateException.class,
                () -> diagnostics.report("mallory", name, new DiagnosticsService.Request(file, null, null, null))).kind());
    }
}
