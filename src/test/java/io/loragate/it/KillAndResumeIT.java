package io.loragate.it;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.Fixtures;
import io.loragate.model.safetensors.SafetensorsFile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.specification.RequestSpecification;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The packaged gateway is killed with SIGKILL in the middle of a fine-tuning job, started again on
 * the same data directory, and the job resumes from its last checkpoint and finishes with the same
 * adapter (within 1e-5) as the same job run without interruption.
 */
class KillAndResumeIT {

    static final List<String> WORDS = List.of("apple", "river", "stone", "cloud", "tiger", "lemon", "piano", "maple", "ocean",
            "pencil", "garden", "window", "rocket", "candle", "forest", "silver");

    private Gateway gateway;

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    static RequestSpecification api(int port) {
        return given().baseUri("http://localhost").port(port);
    }

    static String createJob(int port, String file, String suffix) {
        String body = "{\"model\": \"tiny-llama\", \"training_file\": \"" + file + "\", \"suffix\": \"" + suffix + "\", \"seed\": 11,"
                + " \"method\": {\"type\": \"supervised\", \"hyperparameters\": {\"epochs\": 60, \"batch_size\": 2,"
                + " \"learning_rate\": 0.01, \"warmup_steps\": 5, \"schedule\": \"cosine\", \"weight_decay\": 0.01,"
                + " \"checkpoint_every_steps\": 7}, \"adapter\": {\"r\": 4, \"alpha\": 8, \"dropout\": 0.1}}}";
        return api(port).contentType(ContentType.JSON).body(body).post("/v1/fine_tuning/jobs")
                .then().statusCode(200).extract().path("id");
    }

    static JsonPath job(int port, String id) {
        return api(port).get("/v1/fine_tuning/jobs/" + id).then().statusCode(200).extract().jsonPath();
    }

    static JsonPath awaitFinal(int port, String id) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (true) {
            JsonPath j = job(port, id);
            if (List.of("succeeded", "failed", "cancelled").contains(j.getString("status"))) {
                return j;
            }
            assertTrue(System.nanoTime() < deadline, "job " + id + " did not finish: " + j.prettify());
            sleep(100);
        }
    }

    @Test
    void aJobKilledMidRunResumesAndEndsWithTheSameAdapter() throws Exception {
        Path data = Files.createTempDirectory(Path.of("target"), "it-kill-resume-");
        gateway = new Gateway(data);
        int port = gateway.port;
        gateway.start();
        StringBuilder lines = new StringBuilder();
        for (String w : WORDS) {
            lines.append("{\"prompt\": \"Q: ").append(w).append("\\nA:\", \"completion\": \" yes, ").append(w).append(".\"}\n");
        }
        String file = api(port).multiPart("file", "qa.jsonl", lines.toString().getBytes(StandardCharsets.UTF_8), "application/jsonl")
                .multiPart("purpose", "fine-tune").post("/v1/files").then().statusCode(200).extract().path("id");

        String killed = createJob(port, file, "resumed");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        JsonPath j;
        while (true) {
            j = job(port, killed);
            long total = j.getLong("progress.total_steps");
            if (total > 0 && j.getLong("progress.step") >= total / 3) {
                break;
            }
            assertEquals("running".equals(j.getString("status")) || "queued".equals(j.getString("status"))
                    || "validating_files".equals(j.getString("status")), true, j.prettify());
            assertTrue(System.nanoTime() < deadline, "the job made no progress: " + j.prettify());
            sleep(20);
        }
        long stepAtKill = j.getLong("progress.step");
        long total = j.getLong("progress.total_steps");
        assertTrue(stepAtKill < total, "the job finished before it could be killed; make it longer");
        gateway.kill(); // SIGKILL: no shutdown hook, no final checkpoint
        gateway.start();
        JsonPath resumed = awaitFinal(port, killed);
        assertEquals("succeeded", resumed.getString("status"), resumed.prettify());
        assertEquals("resumed@1", resumed.getString("fine_tuned_model"));
        List<Map<String, Object>> events = api(port).queryParam("limit", 999).get("/v1/fine_tuning/jobs/" + killed + "/events")
                .then().statusCode(200).extract().jsonPath().getList("data");
        assertTrue(events.stream().anyMatch(e -> String.valueOf(e.get("message")).startsWith("The server restarted")), "restart logged");
        assertTrue(events.stream().anyMatch(e -> String.valueOf(e.get("message")).startsWith("Resumed from the checkpoint at step")),
                () -> "resumed from a checkpoint, not from scratch: " + events.stream().map(e -> e.get("message")).toList());

        String straight = createJob(port, file, "straight");
        JsonPath done = awaitFinal(port, straight);
        assertEquals("succeeded", done.getString("status"), done.prettify());
        gateway.stop();

        Path a = data.resolve("adapters/default/resumed/1/adapter_model.safetensors");
        Path b = data.resolve("adapters/default/straight/1/adapter_model.safetensors");
        try (SafetensorsFile fa = SafetensorsFile.open(a); SafetensorsFile fb = SafetensorsFile.open(b)) {
            assertEquals(fb.names(), fa.names());
            double worst = 0;
            for (String name : fa.names()) {
                worst = Math.max(worst, Fixtures.maxAbsDiff(fa.readFloats(name), fb.readFloats(name)));
            }
            System.out.printf("KillAndResumeIT: killed at step %d of %d; resumed vs uninterrupted adapter: max abs diff %.3g%n",
                    stepAtKill, total, worst);
            assertTrue(worst <= 1e-5, "resumed vs uninterrupted adapter: max abs diff " + worst);
            // the adapter did train (B starts at zero)
            float[] anyB = fa.readFloats(fa.names().stream().filter(n -> n.contains("lora_B")).findFirst().orElseThrow());
            assertTrue(Fixtures.maxAbsDiff(anyB, new float[anyB.length]) > 1e-4);
        }
    }

    private static void sleep(long millis) {
        Gateway.sleep(millis);
    }
}
