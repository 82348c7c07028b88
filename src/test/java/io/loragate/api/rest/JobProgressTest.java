package io.loragate.api.rest;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.DatasetsProfile;
import io.loragate.api.grpc.v1.GetJobRequest;
import io.loragate.api.grpc.v1.Job;
import io.loragate.api.grpc.v1.JobEvent;
import io.loragate.api.grpc.v1.TrainingServiceGrpc;
import io.loragate.api.grpc.v1.WatchJobRequest;
import io.loragate.runtime.ResidentModel;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A job's progress as clients draw it: OpenAI's {@code estimated_finish} on the job (REST get and
 * list; gRPC {@code Job.estimated_finish} with {@code Job.progress}), {@code total_steps} on every
 * gRPC {@code JobMetrics}, and data on every {@code metrics} event, the evaluation's included.
 */
@QuarkusTest
@TestProfile(DatasetsProfile.class)
class JobProgressTest {

    @Inject
    ResidentModel resident;

    @GrpcClient("loragate")
    TrainingServiceGrpc.TrainingServiceBlockingStub grpc;

    @BeforeEach
    void ready() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
    }

    static String upload(String name) {
        StringBuilder sb = new StringBuilder();
        for (String w : FineTuningJobsRestTest.WORDS) {
            sb.append("{\"prompt\": \"Q: ").append(w).append("\\nA:\", \"completion\": \" yes.\"}\n");
        }
        return given().multiPart("file", name, sb.toString().getBytes(StandardCharsets.UTF_8), "application/jsonl")
                .multiPart("purpose", "fine-tune").post("/v1/files").then().statusCode(200).extract().path("id");
    }

    /** A job with one evaluation (at its end) and no intermediate checkpoints, so that its steps are all alike. */
    static String create(String file, String suffix, int epochs, int batchSize) {
        return given().contentType(ContentType.JSON).body("{\"model\": \"tiny-llama\", \"training_file\": \"" + file
                        + "\", \"suffix\": \"" + suffix + "\", \"seed\": 5, \"method\": {\"type\": \"supervised\", \"hyperparameters\":"
                        + " {\"epochs\": " + epochs + ", \"batch_size\": " + batchSize + ", \"eval_every_steps\": 100000,"
                        + " \"checkpoint_every_steps\": 100000}, \"adapter\": {\"r\": 2, \"alpha\": 4}}}")
                .post("/v1/fine_tuning/jobs").then().statusCode(200).extract().asString();
    }

    static JsonPath get(String id) {
        return given().get("/v1/fine_tuning/jobs/" + id).then().statusCode(200).extract().jsonPath();
    }

    @Test
    void aRunningJobHasAnEstimatedFinishThatGoesWhenItStops() throws Exception {
        JsonPath created = JsonPath.from(create(upload("eta.jsonl"), "eta", 40, 1));
        String id = created.getString("id");
        Map<String, Object> fields = created.getMap("$");
        assertTrue(fields.containsKey("estimated_finish"), "the field is always there: " + fields.keySet());
        assertNull(fields.get("estimated_finish"), "no estimate before any step");

        // watch it until two steps are timed (hundreds remain: it is still running when looked at below)
        JsonPath running = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (System.nanoTime() < deadline) {
            JsonPath j = get(id);
            if (j.getString("status").equals("running") && j.getLong("progress.step") >= 2) {
                running = j;
                break;
            }
            assertFalse(List.of("succeeded", "failed", "cancelled").contains(j.getString("status")), j.prettify());
            if (j.getLong("progress.step") == 0) {
                assertNull(j.get("estimated_finish"), "no estimate before the first step: " + j.prettify());
            }
            Thread.sleep(50);
        }
        assertNotNull(running, "job " + id + " did not run two steps");
        long total = running.getLong("progress.total_steps");
        assertTrue(total > running.getLong("progress.step"), running.prettify());
        Long finish = running.getObject("estimated_finish", Long.class);
        assertNotNull(finish, "a running job that timed its steps has an estimate: " + running.prettify());
        assertTrue(finish >= created.getLong("created_at"), finish + " is before the job was created");

        // the list carries it too; gRPC carries progress and the estimate
        JsonPath listed = given().queryParam("limit", 100).get("/v1/fine_tuning/jobs").then().statusCode(200).extract().jsonPath();
        int at = listed.getList("data.id", String.class).indexOf(id);
        assertNotNull(listed.getObject("data[" + at + "].estimated_finish", Long.class), listed.prettify());
        Job job = grpc.withDeadlineAfter(30, TimeUnit.SECONDS).getJob(GetJobRequest.newBuilder().setJobId(id).build());
        assertEquals("running", job.getStatus());
        assertTrue(job.getProgress().getStep() >= 2, job.toString());
        assertEquals(total, job.getProgress().getTotalSteps());
        assertTrue(job.hasEstimatedFinish(), job.toString());
        assertTrue(job.getEstimatedFinish() >= job.getCreatedAt(), job.toString());

        // stopped: no estimate any more
        given().post("/v1/fine_tuning/jobs/" + id + "/cancel").then().statusCode(200);
        JsonPath done = FineTuningJobsRestTest.awaitFinal(id, 120);
        assertEquals("cancelled", done.getString("status"));
        assertNull(done.get("estimated_finish"), done.prettify());
        Job stopped = grpc.getJob(GetJobRequest.newBuilder().setJobId(id).build());
        assertFalse(stopped.hasEstimatedFinish(), stopped.toString());
        assertEquals(total, stopped.getProgress().getTotalSteps());
    }

    @Test
    void everyMetricsEventCarriesItsDataOverRestAndGrpc() throws Exception {
        String id = JsonPath.from(create(upload("curve.jsonl"), "curve", 2, 4)).getString("id");
        List<JobEvent> watched = new ArrayList<>();
        grpc.withDeadlineAfter(180, TimeUnit.SECONDS).watchJob(WatchJobRequest.newBuilder().setJobId(id).build())
                .forEachRemaining(watched::add);
        JsonPath done = get(id);
        assertEquals("succeeded", done.getString("status"), done.prettify());
        long total = done.getLong("progress.total_steps");
        assertTrue(total >= 2, done.prettify());
        assertNull(done.get("estimated_finish"), "a finished job has no estimate");

        // REST: one metrics event per step and the evaluation, each with its data
        List<Map<String, Object>> events = given().queryParam("limit", 999).get("/v1/fine_tuning/jobs/" + id + "/events")
                .then().statusCode(200).extract().jsonPath().getList("data");
        List<Map<String, Object>> metrics = events.stream().filter(e -> "metrics".equals(e.get("type"))).toList();
        assertEquals(total + 1, metrics.size(), "a metrics event per step and one for the evaluation: " + metrics);
        for (Map<String, Object> e : metrics) {
            Map<?, ?> data = (Map<?, ?>) e.get("data");
            assertNotNull(data, "metrics event without data: " + e);
            assertNotNull(data.get("step"), e.toString());
            assertEquals(total, ((Number) data.get("total_steps")).longValue(), e.toString());
        }
        Map<?, ?> evaluation = (Map<?, ?>) metrics.get(0).get("data"); // newest first: the evaluation
        assertTrue(((String) metrics.get(0).get("message")).startsWith("Evaluation:"), metrics.get(0).toString());
        assertEquals(total, ((Number) evaluation.get("step")).longValue());
        assertNotNull(evaluation.get("eval_loss"), evaluation.toString());
        assertNotNull(evaluation.get("base_eval_loss"), evaluation.toString());
        double reported = done.getDouble("report.adapter.loss"); // RestAssured reads JSON numbers as floats
        assertEquals(reported, ((Number) evaluation.get("eval_loss")).doubleValue(), 1e-5 * Math.abs(reported));
        assertNotNull(evaluation.get("publish_if"), "the report follows: " + evaluation);

        // gRPC: the same events, every JobMetrics with total_steps, the evaluation's with its details
        List<JobEvent> grpcMetrics = watched.stream().filter(e -> e.getType().equals("metrics")).toList();
        assertEquals(metrics.size(), grpcMetrics.size(), watched.toString());
        for (JobEvent e : grpcMetrics) {
            assertTrue(e.hasData(), e.toString());
            assertTrue(e.getData().getStep() >= 1, e.toString());
            assertEquals(total, e.getData().getTotalSteps(), e.toString());
            assertTrue(e.getData().hasDetails(), e.toString());
        }
        JobEvent last = grpcMetrics.get(grpcMetrics.size() - 1);
        assertEquals(total, last.getData().getStep());
        assertTrue(last.getData().hasEvalLoss(), last.toString());
        assertTrue(last.getData().getDetails().containsFields("adapter"), last.toString());
        assertTrue(grpcMetrics.get(0).getData().hasTrainLoss(), grpcMetrics.get(0).toString());
        Job job = grpc.getJob(GetJobRequest.newBuilder().setJobId(id).build());
        assertEquals(total, job.getProgress().getStep());
        assertEquals(total, job.getProgress().getTotalSteps());
    }
}
