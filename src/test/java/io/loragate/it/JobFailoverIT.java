package io.loragate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.Fixtures;
import io.loragate.model.safetensors.SafetensorsFile;
import io.loragate.postgres.PostgresServer;
import io.restassured.path.json.JsonPath;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Two packaged gateways on one PostgreSQL and one shared blob store: the replica running a
 * fine-tuning job is killed with SIGKILL after its first checkpoint; once its lease expired the
 * other replica takes the job over, resumes it from that checkpoint and publishes exactly one
 * version, whose tensors equal those of the same job run without interruption (within 1e-5).
 */
class JobFailoverIT {

    private Gateway a;
    private Gateway b;

    @AfterEach
    void stop() {
        for (Gateway g : new Gateway[] {a, b}) {
            if (g != null) {
                g.close();
            }
        }
    }

    static Gateway replica(Path root, String id, String url, Path store) throws Exception {
        Path data = Files.createDirectories(root.resolve(id));
        return new Gateway(data, "quarkus.datasource.jdbc.url=" + url, "quarkus.datasource.username=" + PostgresServer.USER,
                "quarkus.datasource.password=" + PostgresServer.PASSWORD, "loragate.store.url=file:" + store.toAbsolutePath(),
                "loragate.replica-id=" + id, "loragate.jobs.lease-duration=3s", "loragate.jobs.poll-interval=1s");
    }

    @Test
    void theOtherReplicaFinishesAKilledReplicasJobWithTheSameAdapterPublishedOnce() throws Exception {
        Path root = Files.createTempDirectory(Path.of("target"), "it-job-failover-");
        Path store = Files.createDirectories(root.resolve("store"));
        String url = PostgresServer.shared().createDatabase("failover");
        a = replica(root, "replica-a", url, store);
        b = replica(root, "replica-b", url, store);
        a.start();
        b.start();
        StringBuilder lines = new StringBuilder();
        for (String w : KillAndResumeIT.WORDS) {
            lines.append("{\"prompt\": \"Q: ").append(w).append("\\nA:\", \"completion\": \" yes, ").append(w).append(".\"}\n");
        }
        String file = a.api().multiPart("file", "qa.jsonl", lines.toString().getBytes(StandardCharsets.UTF_8), "application/jsonl")
                .multiPart("purpose", "fine-tune").post("/v1/files").then().statusCode(200).extract().path("id");

        String job = KillAndResumeIT.createJob(a.port, file, "resumed");
        String owner = awaitOwner(a.port, job);
        Gateway victim = owner.equals("replica-a") ? a : b;
        Gateway survivor = victim == a ? b : a;
        long checkpoint = awaitCheckpoint(a.port, job);
        JsonPath before = KillAndResumeIT.job(survivor.port, job);
        long stepAtKill = before.getLong("progress.step");
        long total = before.getLong("progress.total_steps");
        assertTrue(stepAtKill < total, "the job finished before it could be killed; make it longer");
        long t0 = System.nanoTime();
        victim.kill(); // SIGKILL: its lease is simply never renewed again
        JsonPath done = KillAndResumeIT.awaitFinal(survivor.port, job);
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertEquals("succeeded", done.getString("status"), done.prettify());
        assertEquals("resumed@1", done.getString("fine_tuned_model"));
        List<String> events = survivor.api().queryParam("limit", 999).get("/v1/fine_tuning/jobs/" + job + "/events").then()
                .statusCode(200).extract().jsonPath().<Map<String, Object>>getList("data").stream()
                .map(e -> String.valueOf(e.get("message"))).toList();
        String survivorId = survivor == a ? "replica-a" : "replica-b";
        assertTrue(events.stream().anyMatch(m -> m.startsWith("The lease of replica " + owner + " expired")), events::toString);
        assertTrue(events.stream().anyMatch(m -> m.startsWith("Resumed from the checkpoint at step") && m.contains("on replica "
                + survivorId)), () -> "resumed on the survivor from a checkpoint, not from scratch: " + events);
        List<Object> versions = survivor.api().get("/v1/adapters/resumed").then().statusCode(200).extract().jsonPath()
                .getList("versions");
        assertEquals(1, versions.size(), "exactly one version published: " + versions);

        String straight = KillAndResumeIT.createJob(survivor.port, file, "straight");
        JsonPath uninterrupted = KillAndResumeIT.awaitFinal(survivor.port, straight);
        assertEquals("succeeded", uninterrupted.getString("status"), uninterrupted.prettify());
        survivor.stop();

        Path resumed = store.resolve("adapters/default/resumed/1/adapter_model.safetensors");
        Path reference = store.resolve("adapters/default/straight/1/adapter_model.safetensors");
        try (SafetensorsFile fa = SafetensorsFile.open(resumed); SafetensorsFile fb = SafetensorsFile.open(reference)) {
            assertEquals(fb.names(), fa.names());
            double worst = 0;
            for (String name : fa.names()) {
                worst = Math.max(worst, Fixtures.maxAbsDiff(fa.readFloats(name), fb.readFloats(name)));
            }
            System.out.printf("JobFailoverIT: %s killed at step %d of %d (first checkpoint at step %d); %s finished the job"
                    + " %.1f s later; taken over vs uninterrupted adapter: max abs diff %.3g%n", owner, stepAtKill, total,
                    checkpoint, survivorId, seconds, worst);
            assertTrue(worst <= 1e-5, "taken over vs uninterrupted adapter: max abs diff " + worst);
            float[] anyB = fa.readFloats(fa.names().stream().filter(n -> n.contains("lora_B")).findFirst().orElseThrow());
            assertTrue(Fixtures.maxAbsDiff(anyB, new float[anyB.length]) > 1e-4, "the adapter trained");
        }
    }

    /** The replica that started the job, from its "Job started on replica ..." event. */
    static String awaitOwner(int port, String job) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        String prefix = "Job started on replica ";
        while (true) {
            List<Map<String, Object>> events = KillAndResumeIT.api(port).queryParam("limit", 999)
                    .get("/v1/fine_tuning/jobs/" + job + "/events").then().statusCode(200).extract().jsonPath().getList("data");
            for (Map<String, Object> e : events) {
                String m = String.valueOf(e.get("message"));
                if (m.startsWith(prefix)) {
                    return m.substring(prefix.length());
                }
            }
            assertTrue(System.nanoTime() < deadline, "the job never started: " + events);
            Gateway.sleep(50);
        }
    }

    /** Waits for the job's first checkpoint; answers its step. */
    static long awaitCheckpoint(int port, String job) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {
            List<Map<String, Object>> checkpoints = KillAndResumeIT.api(port).get("/v1/fine_tuning/jobs/" + job + "/checkpoints")
                    .then().statusCode(200).extract().jsonPath().getList("data");
            if (!checkpoints.isEmpty()) {
                Object step = checkpoints.get(checkpoints.size() - 1).get("step_number");
                assertNotNull(step, checkpoints.toString());
                return ((Number) step).longValue();
            }
            assertTrue(System.nanoTime() < deadline, "the job wrote no checkpoint");
            Gateway.sleep(20);
        }
    }
}
