package io.loragate.api.rest;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.DatasetsProfile;
import io.loragate.Fixtures;
import io.loragate.config.LoragateConfig;
import io.loragate.model.safetensors.SafetensorsFile;
import io.loragate.runtime.ResidentModel;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Two jobs train at once ({@code loragate.jobs.max-concurrent=2}): their steps take turns (DJL allows
 * one gradient collector per process) and neither disturbs the other: the same request twice gives
 * the same adapter, bit for bit.
 */
@QuarkusTest
@TestProfile(DatasetsProfile.class)
class ConcurrentJobsTest {

    @Inject
    ResidentModel resident;

    @Inject
    LoragateConfig config;

    @Test
    void twoJobsAtOnceGiveWhatEachGivesAlone() throws Exception {
        resident.whenLoaded().get(60, TimeUnit.SECONDS);
        StringBuilder lines = new StringBuilder();
        for (String w : FineTuningJobsRestTest.WORDS) {
            lines.append("{\"text\": \"the ").append(w).append(" is here and the ").append(w).append(" stays.\"}\n");
        }
        String file = given().multiPart("file", "text.jsonl", lines.toString().getBytes(StandardCharsets.UTF_8), "application/jsonl")
                .multiPart("purpose", "fine-tune").post("/v1/files").then().statusCode(200).extract().path("id");
        String a = create(file, "twin-a");
        String b = create(file, "twin-b");
        Set<String> seenRunning = new HashSet<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        JsonPath ja;
        JsonPath jb;
        while (true) {
            ja = job(a);
            jb = job(b);
            if (ja.getString("status").equals("running") && jb.getString("status").equals("running")) {
                seenRunning.add("both");
            }
            if (isFinal(ja) && isFinal(jb)) {
                break;
            }
            assertTrue(System.nanoTime() < deadline, "the jobs did not finish");
            Thread.sleep(20);
        }
        assertEquals("succeeded", ja.getString("status"), ja.prettify());
        assertEquals("succeeded", jb.getString("status"), jb.prettify());
        assertTrue(seenRunning.contains("both"), "the two jobs were never running at the same time");
        Path dir = config.dataDir().resolve("adapters/default");
        String va = ja.getString("fine_tuned_model");
        String vb = jb.getString("fine_tuned_model");
        try (SafetensorsFile fa = SafetensorsFile.open(dir.resolve(va.replace('@', '/')).resolve("adapter_model.safetensors"));
                SafetensorsFile fb = SafetensorsFile.open(dir.resolve(vb.replace('@', '/')).resolve("adapter_model.safetensors"))) {
            assertEquals(fa.names(), fb.names());
            for (String name : fa.names()) {
                assertEquals(0.0, Fixtures.maxAbsDiff(fa.readFloats(name), fb.readFloats(name)), name);
            }
        }
    }

    static boolean isFinal(JsonPath j) {
        return List.of("succeeded", "failed", "cancelled").contains(j.getString("status"));
    }

    static JsonPath job(String id) {
        return given().get("/v1/fine_tuning/jobs/" + id).then().statusCode(200).extract().jsonPath();
    }

    static String create(String file, String suffix) {
        return given().contentType(ContentType.JSON).body("{\"model\": \"tiny-llama\", \"training_file\": \"" + file
                + "\", \"suffix\": \"" + suffix + "\", \"seed\": 5, \"method\": {\"hyperparameters\": {\"epochs\": 12,"
                + " \"batch_size\": 4, \"learning_rate\": 0.01}, \"adapter\": {\"r\": 2, \"dropout\": 0.1}}}")
                .post("/v1/fine_tuning/jobs").then().statusCode(200).extract().path("id");
    }
}
