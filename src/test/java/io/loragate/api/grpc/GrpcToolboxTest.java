package io.loragate.api.grpc;

import static io.loragate.api.grpc.GrpcTestSupport.RUN;
import static io.loragate.api.grpc.GrpcTestSupport.assertStatus;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.grpc.Status;
import io.loragate.TinyLlamaProfile;
import io.loragate.api.grpc.v1.AdapterServiceGrpc;
import io.loragate.api.grpc.v1.CancelSweepRequest;
import io.loragate.api.grpc.v1.CreateJobRequest;
import io.loragate.api.grpc.v1.CreateSweepRequest;
import io.loragate.api.grpc.v1.DiagnoseRequest;
import io.loragate.api.grpc.v1.DiagnosticsOptions;
import io.loragate.api.grpc.v1.GetJobRequest;
import io.loragate.api.grpc.v1.GetSweepRequest;
import io.loragate.api.grpc.v1.Hyperparameters;
import io.loragate.api.grpc.v1.Job;
import io.loragate.api.grpc.v1.ListSweepsRequest;
import io.loragate.api.grpc.v1.Method;
import io.loragate.api.grpc.v1.PublishIf;
import io.loragate.api.grpc.v1.Sweep;
import io.loragate.api.grpc.v1.SweepRow;
import io.loragate.api.grpc.v1.TrainingServiceGrpc;
import io.loragate.runtime.ResidentModel;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The transfer-learning toolbox over gRPC on the tiny-llama base: a job's publication gate,
 * diagnostics options and evaluation report, on-demand {@code Diagnose}, and the sweep rpcs. Each
 * answer is compared with what REST answers for the same thing, value for value.
 */
@QuarkusTest
@TestProfile(TinyLlamaProfile.class)
class GrpcToolboxTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @GrpcClient("loragate")
    TrainingServiceGrpc.TrainingServiceBlockingStub training;

    @GrpcClient("loragate")
    AdapterServiceGrpc.AdapterServiceBlockingStub adapters;

    @Inject
    ResidentModel resident;

    @BeforeEach
    void ready() throws Exception {
        resident.whenLoaded().get(60, TimeUnit.SECONDS);
    }

    /** 16 prompt/completion lines, a slice per line (4 "fruit", 12 "other"). */
    static String dataset(String tag) {
        List<String> words = List.of("apple", "river", "stone", "cloud", "tiger", "lemon", "piano", "maple", "ocean", "pencil",
                "garden", "window", "rocket", "plum", "forest", "silver");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < words.size(); i++) {
            String slice = i % 4 == 0 ? "fruit" : "other";
            sb.append("{\"prompt\": \"Q: ").append(words.get(i)).append(' ').append(tag).append("\\nA:\", \"completion\": \" yes.\",")
                    .append(" \"slice\": \"").append(slice).append("\"}\n");
        }
        return sb.toString();
    }

    static String upload(String name, String content) {
        return given().multiPart("file", name, content.getBytes(StandardCharsets.UTF_8), "application/jsonl")
                .multiPart("purpose", "fine-tune").when().post("/v1/files").then().statusCode(200).extract().path("id");
    }

    @Test
    void aJobCarriesItsGateItsDiagnosticsOptionsAndItsReport() throws Exception {
        String file = upload("grpc-job.jsonl", dataset("j"));
        String suffix = "grpc-diag-" + RUN;
        Job created = training.createJob(CreateJobRequest.newBuilder().setModel("tiny-llama").setTrainingFile(file)
                .setSuffix(suffix).setSeed(7)
                .setMethod(Method.newBuilder().setType("supervised")
                        .setHyperparameters(Hyperparameters.newBuilder().setEpochs(2).setBatchSize(4).setLearningRate(0.02)
                                .setCheckpointEverySteps(3).setValidationSplit(0.25)))
                .setPublishIf(PublishIf.newBuilder().setMaxForgetting(-100))
                .setDiagnostics(DiagnosticsOptions.newBuilder().addLayers(0).addLayers(1).setMaxExamples(8))
                .build());
        assertEquals(-100, created.getPublishIf().getMaxForgetting());
        assertFalse(created.getPublishIf().hasMaxEvalLossRatio());
        assertEquals(List.of(0, 1), created.getDiagnostics().getLayersList());
        assertEquals(8, created.getDiagnostics().getMaxExamples());
        assertEquals(3, created.getMethod().getHyperparameters().getCheckpointEverySteps());
        assertEquals(0.25, created.getMethod().getHyperparameters().getValidationSplit());
        assertFalse(created.hasReport(), "no report before the job has evaluated");

        Job done = awaitJob(created.getId(), 120);
        assertEquals("succeeded", done.getStatus(), done.getError());
        assertEquals("", done.getFineTunedModel(), "the forgetting gate refused publication");
        Struct report = done.getReport();
        assertFalse(report.getFieldsOrThrow("publish_if").getStructValue().getFieldsOrThrow("passed").getBoolValue());
        assertEquals(2, report.getFieldsOrThrow("layers").getListValue().getValuesCount());
        assertTrue(report.getFieldsOrThrow("forgetting").getStructValue().getFieldsOrThrow("applicable").getBoolValue());
        assertEquals(4, report.getFieldsOrThrow("validation_examples").getNumberValue(), "validation_split 0.25 of 16");
        Set<String> slices = report.getFieldsOrThrow("slices").getStructValue().getFieldsMap().keySet();
        assertTrue(!slices.isEmpty() && Set.of("fruit", "other").containsAll(slices), slices.toString());

        JsonNode rest = JSON.readTree(given().get("/v1/fine_tuning/jobs/" + created.getId()).then().statusCode(200)
                .extract().asString());
        assertEquals(plain(rest.get("report")), plain(report), "gRPC and REST reports");
        assertEquals(plain(rest.get("diagnostics")), Map.of("layers", List.of(0.0, 1.0), "max_examples", 8.0));

        // its checkpoints, as REST lists them
        JsonNode restCheckpoints = JSON.readTree(given().get("/v1/fine_tuning/jobs/" + created.getId() + "/checkpoints").then()
                .statusCode(200).extract().asString()).get("data");
        List<io.loragate.api.grpc.v1.Checkpoint> checkpoints = training.listCheckpoints(
                io.loragate.api.grpc.v1.ListCheckpointsRequest.newBuilder().setJobId(created.getId()).build()).getCheckpointsList();
        assertEquals(restCheckpoints.size(), checkpoints.size());
        assertFalse(checkpoints.isEmpty());
        for (int i = 0; i < checkpoints.size(); i++) {
            JsonNode r = restCheckpoints.get(i);
            io.loragate.api.grpc.v1.Checkpoint c = checkpoints.get(i);
            assertEquals(r.get("id").asText(), c.getId());
            assertEquals(r.get("step_number").asLong(), c.getStepNumber());
            assertEquals(r.get("state_kept").asBoolean(), c.getStateKept());
            assertEquals(created.getId(), c.getJobId());
            assertEquals(plain(r.get("metrics")), plain(c.getMetrics()));
        }
    }

    @Test
    void diagnoseAnswersTheRestReport() throws Exception {
        String name = "grpc-diag-peft-" + RUN;
        GrpcTestSupport.ensureRegistered(adapters, name, "adapter0");
        String file = upload("grpc-diag.jsonl", dataset("d"));
        Struct viaGrpc = adapters.withDeadlineAfter(120, TimeUnit.SECONDS).diagnose(DiagnoseRequest.newBuilder()
                .setAdapterId(name).setFile(file).setMaxExamples(12).addLayers(1).build());
        JsonNode viaRest = JSON.readTree(given().contentType(ContentType.JSON)
                .body("{\"file\": \"" + file + "\", \"max_examples\": 12, \"layers\": [1]}")
                .when().post("/v1/adapters/" + name + "/diagnostics").then().statusCode(200).extract().asString());
        assertEquals(name + "@1", viaGrpc.getFieldsOrThrow("adapter_id").getStringValue());
        assertEquals(12, viaGrpc.getFieldsOrThrow("validation_examples").getNumberValue());
        assertEquals(1, viaGrpc.getFieldsOrThrow("layers").getListValue().getValuesCount());
        assertTrue(viaGrpc.getFieldsOrThrow("layers").getListValue().getValues(0).getStructValue()
                .getFieldsOrThrow("cka").getNumberValue() < 1, "adapter0 changes layer 1");
        // the same computation twice: equal but for the wall time it took
        assertEquals(withoutSeconds(plain(viaRest)), withoutSeconds(plain(viaGrpc)));

        assertStatus(Status.Code.INVALID_ARGUMENT, () -> adapters.diagnose(DiagnoseRequest.newBuilder().setAdapterId(name).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> adapters.diagnose(DiagnoseRequest.newBuilder().setFile(file).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> adapters.diagnose(DiagnoseRequest.newBuilder().setAdapterId(name)
                .setFile(file).addLayers(7).build()));
        assertStatus(Status.Code.NOT_FOUND, () -> adapters.diagnose(DiagnoseRequest.newBuilder().setAdapterId("no-such-adapter")
                .setFile(file).build()));
        assertStatus(Status.Code.NOT_FOUND, () -> adapters.diagnose(DiagnoseRequest.newBuilder().setAdapterId(name)
                .setFile("file-000000000000000000000000").build()));
    }

    @Test
    void aSweepOverGrpcIsTheRestSweep() throws Exception {
        String file = upload("grpc-sweep.jsonl", dataset("s"));
        Sweep created = training.createSweep(CreateSweepRequest.newBuilder().setModel("tiny-llama").setTrainingFile(file)
                .addMethods("lora").addMethods("ia3").setSeed(3).setSuffix("grpc-sweep-" + RUN)
                .setHyperparameters(Hyperparameters.newBuilder().setEpochs(1).setBatchSize(4).setLearningRate(0.01))
                .build());
        assertTrue(created.getId().startsWith("sweep-"));
        assertEquals(List.of("lora", "ia3"), created.getMethodsList());
        Sweep done = awaitSweep(created.getId(), 240);
        assertEquals("succeeded", done.getStatus(), done.getTableMarkdown());
        assertTrue(done.getFinishedAt() >= done.getCreatedAt());
        assertEquals(2, done.getTableCount());
        for (SweepRow row : done.getTableList()) {
            assertEquals("succeeded", row.getStatus(), row.toString());
            assertEquals("measured", row.getSizes());
            assertTrue(row.getTrainableParams() > 0 && row.getAdapterBytes() > 0);
            assertTrue(row.hasEvalLoss() && row.hasBaseEvalLoss() && row.hasForgetting());
            assertFalse(row.hasAccuracy(), "a supervised sweep has no accuracy");
            assertEquals(row.getMethod(), row.getSettings().getMethod());
            assertEquals("grpc-sweep-" + RUN + "-" + row.getMethod(), row.getFineTunedModel().split("@")[0]);
        }
        assertNotEquals(done.getTable(0).getTrainableParams(), done.getTable(1).getTrainableParams());

        JsonNode rest = JSON.readTree(given().get("/v1/fine_tuning/sweeps/" + created.getId()).then().statusCode(200)
                .extract().asString());
        assertEquals(rest.get("table_markdown").asText(), done.getTableMarkdown());
        for (int i = 0; i < 2; i++) {
            JsonNode r = rest.get("table").get(i);
            SweepRow g = done.getTable(i);
            assertEquals(r.get("job_id").asText(), g.getJobId());
            assertEquals(r.get("fine_tuned_model").asText(), g.getFineTunedModel());
            assertEquals(r.get("trainable_params").asLong(), g.getTrainableParams());
            assertEquals(r.get("adapter_bytes").asLong(), g.getAdapterBytes());
            assertEquals(r.get("eval_loss").asDouble(), g.getEvalLoss());
            assertEquals(r.get("base_eval_loss").asDouble(), g.getBaseEvalLoss());
            assertEquals(r.get("train_seconds").asDouble(), g.getTrainSeconds());
            assertEquals(plain(r.get("forgetting")), plain(g.getForgetting()));
            assertEquals(plain(r.get("diagnostics")), plain(g.getDiagnostics()));
        }
        assertTrue(training.listSweeps(ListSweepsRequest.getDefaultInstance()).getSweepsList().stream()
                .anyMatch(s -> s.getId().equals(created.getId()) && s.getStatus().equals("succeeded")));
        // cancelling a final sweep changes nothing
        assertEquals(done.getTableList(), training.cancelSweep(CancelSweepRequest.newBuilder().setSweepId(created.getId()).build())
                .getTableList());

        assertStatus(Status.Code.INVALID_ARGUMENT, () -> training.createSweep(CreateSweepRequest.newBuilder().setModel("tiny-llama")
                .setTrainingFile(file).addMethods("lora").addMethods("magic").build()));
        assertStatus(Status.Code.NOT_FOUND, () -> training.createSweep(CreateSweepRequest.newBuilder().setModel("other")
                .setTrainingFile(file).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> training.listSweeps(ListSweepsRequest.newBuilder().setLimit(101).build()));
        assertStatus(Status.Code.NOT_FOUND, () -> training.getSweep(GetSweepRequest.newBuilder()
                .setSweepId("sweep-000000000000000000000000").build()));
    }

    private Job awaitJob(String id, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true) {
            Job j = training.getJob(GetJobRequest.newBuilder().setJobId(id).build());
            if (Set.of("succeeded", "failed", "cancelled").contains(j.getStatus())) {
                return j;
            }
            assertTrue(System.nanoTime() < deadline, "job " + id + " still " + j.getStatus() + " after " + seconds + " s");
            Thread.sleep(100);
        }
    }

    private Sweep awaitSweep(String id, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true) {
            Sweep s = training.getSweep(GetSweepRequest.newBuilder().setSweepId(id).build());
            if (!s.getStatus().equals("running")) {
                return s;
            }
            assertTrue(System.nanoTime() < deadline, "sweep " + id + " still running after " + seconds + " s");
            Thread.sleep(200);
        }
    }

    /** JSON as maps, lists, strings, booleans, null and doubles (JSON numbers have one type). */
    static Object plain(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (n.isObject()) {
            Map<String, Object> m = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> e = it.next();
                m.put(e.getKey(), plain(e.getValue()));
            }
            return m;
        }
        if (n.isArray()) {
            List<Object> l = new ArrayList<>();
            n.forEach(x -> l.add(plain(x)));
            return l;
        }
        if (n.isNumber()) {
            return n.asDouble();
        }
        return n.isBoolean() ? (Object) n.asBoolean() : n.asText();
    }

    static Object plain(Struct s) {
        Map<String, Object> m = new LinkedHashMap<>();
        s.getFieldsMap().forEach((k, v) -> m.put(k, plain(v)));
        return m;
    }

    static Object plain(Value v) {
        return switch (v.getKindCase()) {
            case NULL_VALUE, KIND_NOT_SET -> null;
            case NUMBER_VALUE -> v.getNumberValue();
            case STRING_VALUE -> v.getStringValue();
            case BOOL_VALUE -> v.getBoolValue();
            case STRUCT_VALUE -> plain(v.getStructValue());
            case LIST_VALUE -> v.getListValue().getValuesList().stream().map(GrpcToolboxTest::plain).toList();
        };
    }

    @SuppressWarnings("unchecked")
    private static Object withoutSeconds(Object report) {
        Map<String, Object> m = new LinkedHashMap<>((Map<String, Object>) report);
        Map<String, Object> d = new LinkedHashMap<>((Map<String, Object>) m.get("diagnostics"));
        assertTrue(d.remove("seconds") != null, "diagnostics.seconds");
        m.put("diagnostics", d);
        return m;
    }
}
