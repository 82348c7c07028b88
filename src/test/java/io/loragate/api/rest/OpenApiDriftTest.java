package io.loragate.api.rest;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.TinyLlamaProfile;
import io.loragate.runtime.ResidentModel;
import io.quarkus.arc.Arc;
import io.quarkus.arc.ManagedContext;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The OpenAPI document cannot drift from the code. Requests: the resources parse by hand, so each
 * request schema's properties must equal the fields its parser reads (traced on a body holding
 * every documented field) or its {@link KnownFields} list. Answers: real answers of the main
 * operations must match their schemas (no undocumented field, every required one present, the
 * documented types).
 */
@QuarkusTest
@TestProfile(TinyLlamaProfile.class)
class OpenApiDriftTest {

    /** An object node that remembers which fields the code looked up. */
    static final class TracingNode extends ObjectNode {
        final Set<String> read = new TreeSet<>();

        TracingNode(JsonNodeFactory f) {
            super(f);
        }

        @Override
        public JsonNode get(String field) {
            read.add(field);
            return super.get(field);
        }

        @Override
        public JsonNode path(String field) {
            read.add(field);
            return super.path(field);
        }

        @Override
        public boolean has(String field) {
            read.add(field);
            return super.get(field) != null;
        }

        @Override
        public boolean hasNonNull(String field) {
            read.add(field);
            JsonNode n = super.get(field);
            return n != null && !n.isNull();
        }

        /** A child without recording a lookup. */
        TracingNode child(String... path) {
            JsonNode n = this;
            for (String p : path) {
                n = p.matches("\\d+") ? n.get(Integer.parseInt(p)) : ((TracingNode) n).raw(p);
            }
            return (TracingNode) n;
        }

        private JsonNode raw(String field) {
            return super.get(field);
        }
    }

    static final ObjectMapper TRACING = new ObjectMapper().setNodeFactory(new JsonNodeFactory() {
        @Override
        public ObjectNode objectNode() {
            return new TracingNode(this);
        }
    });

    @Inject
    ResidentModel resident;
    @Inject
    CompletionsResource completions;
    @Inject
    ChatCompletionsResource chat;
    @Inject
    EmbeddingsResource embeddings;
    @Inject
    AdaptersResource adapters;
    @Inject
    DiagnosticsResource diagnostics;
    @Inject
    AdminTenantsResource admin;
    @Inject
    io.loragate.registry.Tenants registeredTenants;

    JsonNode doc;

    @BeforeEach
    void ready() throws Exception {
        resident.whenLoaded().get(60, TimeUnit.SECONDS);
        doc = OpenApiDocumentTest.document();
    }

    TracingNode trace(String json) throws Exception {
        return (TracingNode) TRACING.readTree(json);
    }

    /** Runs a parser inside a request scope (the resources ask for the tenant); what it throws after parsing does not matter. */
    static void parse(Runnable parser) {
        ManagedContext rc = Arc.container().requestContext();
        rc.activate();
        try {
            parser.run();
        } catch (RuntimeException afterParsing) {
            // unknown model, adapter or file: the fields were read before
        } finally {
            rc.terminate();
        }
    }

    Set<String> properties(String schema) {
        JsonNode s = doc.path("components").path("schemas").get(schema);
        assertTrue(s != null && s.has("properties"), "no schema " + schema + " in the document");
        Set<String> out = new TreeSet<>();
        s.get("properties").fieldNames().forEachRemaining(out::add);
        return out;
    }

    void same(String schema, Set<String> parsed) {
        assertEquals(new TreeSet<>(parsed), properties(schema), "schema " + schema + " (left: what the parser reads)");
    }

    static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> out = new TreeSet<>(a);
        out.addAll(b);
        return out;
    }

    @Test
    void inferenceRequestsMatchTheirParsers() throws Exception {
        TracingNode c = trace("{\"model\": \"tiny-llama\", \"prompt\": \"Hi\", \"max_tokens\": 1, \"temperature\": 0, \"top_p\": 1,"
                + " \"top_k\": 0, \"n\": 1, \"stop\": [\"\\n\"], \"seed\": 1, \"ignore_eos\": false, \"logprobs\": true,"
                + " \"return_token_ids\": true, \"stream\": false}");
        parse(() -> completions.create(c, null));
        same("CompletionRequest", c.read);

        String common = "\"model\": \"tiny-llama\", \"temperature\": 0, \"top_p\": 1, \"top_k\": 0, \"n\": 1, \"stop\": [\"\\n\"],"
                + " \"seed\": 1, \"ignore_eos\": false, \"logprobs\": true, \"return_token_ids\": true, \"stream\": false,"
                + " \"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"Hi\"}]}]";
        TracingNode chat1 = trace("{" + common + ", \"max_tokens\": 1}");
        TracingNode chat2 = trace("{" + common + ", \"max_completion_tokens\": 1}");
        parse(() -> chat.create(chat1, null));
        parse(() -> chat.create(chat2, null));
        same("ChatCompletionRequest", union(chat1.read, chat2.read));
        same("ChatMessage", chat1.child("messages", "0").read);
        same("ContentPart", chat1.child("messages", "0").child("content", "0").read);

        TracingNode e = trace("{\"model\": \"tiny-llama\", \"input\": [\"a\"], \"encoding_format\": \"float\"}");
        parse(() -> embeddings.embeddings(e, null));
        same("EmbeddingRequest", e.read);
        TracingNode k = trace("{\"model\": \"no-such-classifier\", \"input\": \"a\"}");
        parse(() -> embeddings.classifications(k, null));
        same("ClassificationRequest", k.read);
    }

    @Test
    void managementRequestsMatchTheirParsers() throws Exception {
        TracingNode active = trace("{\"version\": 1}");
        parse(() -> adapters.setActive("no-such-adapter", active));
        same("ActivateRequest", active.read);

        TracingNode d = trace("{\"file\": \"file-x\", \"layers\": [0], \"max_examples\": 8, \"reference_file\": \"file-y\"}");
        parse(() -> diagnostics.run("no-such-adapter", d));
        same("DiagnosticsRequest", d.read);

        TracingNode r = trace("{\"training_file\": \"file-x\", \"task\": \"supervised\", \"top_k\": 2, \"epochs\": 1,"
                + " \"sample_size\": 8, \"budget\": {\"max_train_minutes\": 1, \"max_adapter_bytes\": 1000}}");
        TrainingRequests.recommendation(r);
        same("RecommendationRequest", r.read);
        same("Budget", r.child("budget").read);

        TracingNode s = trace("{\"model\": \"tiny-llama\", \"training_file\": \"file-x\", \"validation_file\": \"file-y\","
                + " \"task\": \"supervised\", \"methods\": [\"lora\"], \"top_k\": 1, \"hyperparameters\": {}, \"budget\": {},"
                + " \"seed\": 1, \"suffix\": \"s\"}");
        TrainingRequests.sweep(s);
        same("SweepRequest", s.read);

        // negative quotas are refused after every field is read, before a tenant is created
        TracingNode t = trace("{\"id\": \"drift-probe\", \"quotas\": {\"requests_per_second\": -1, \"tokens_per_minute\": 1,"
                + " \"max_concurrent_streams\": 1, \"max_adapters\": 1, \"max_stored_bytes\": 1, \"max_concurrent_jobs\": 1}}");
        parse(() -> admin.create(t));
        same("TenantCreateRequest", t.read);
        same("QuotaOverrides", t.child("quotas").read);
        assertTrue(registeredTenants.list().stream().noneMatch(x -> x.id().equals("drift-probe")), "the probe created no tenant");
    }

    @Test
    void jobRequestMatchesKnownFields() throws Exception {
        same("FineTuningJobRequest", TrainingRequests.JOB_FIELDS);
        same("Hyperparameters", TrainingRequests.HYPERPARAMETER_FIELDS);
        same("AdapterSettings", TrainingRequests.ADAPTER_FIELDS);
        same("PublishIf", TrainingRequests.PUBLISH_IF_FIELDS);
        same("DiagnosticsOptions", TrainingRequests.DIAGNOSTICS_FIELDS);
        // method: its fields plus one object named after each type (OpenAI's nesting)
        TracingNode a = trace("{\"model\": \"m\", \"training_file\": \"f\", \"suffix\": \"s\", \"method\": {\"type\": \"supervised\","
                + " \"adapter\": {}, \"supervised\": {\"hyperparameters\": {}}}}");
        TracingNode b = trace("{\"model\": \"m\", \"training_file\": \"f\", \"suffix\": \"s\", \"method\": {\"type\": \"classification\","
                + " \"hyperparameters\": {}, \"classification\": {}}}");
        TrainingRequests.job(a);
        TrainingRequests.job(b);
        same("JobMethod", union(a.child("method").read, b.child("method").read));
        same("MethodOptions", a.child("method", "supervised").read);
    }

    // --- answers

    final List<String> mismatches = new ArrayList<>();

    /** Checks {@code value} against {@code schema}: types, no undocumented field, every required one present. */
    void check(JsonNode declared, JsonNode value, String where) {
        JsonNode schema = OpenApiDocumentTest.resolve(doc, declared);
        if (value.isNull()) {
            if (!nullable(declared) && !nullable(schema)) {
                mismatches.add(where + ": null, but not nullable");
            }
            return;
        }
        for (String alternatives : List.of("oneOf", "anyOf")) {
            if (schema.has(alternatives)) {
                for (JsonNode alt : schema.get(alternatives)) {
                    if (matches(OpenApiDocumentTest.resolve(doc, alt), value)) {
                        check(alt, value, where);
                        return;
                    }
                }
                mismatches.add(where + ": " + value + " matches none of " + schema.get(alternatives));
                return;
            }
        }
        if (!matches(schema, value)) {
            mismatches.add(where + ": " + value + " is not a " + OpenApiDocumentTest.type(schema));
            return;
        }
        if (value.isObject() && schema.has("properties")) {
            value.fieldNames().forEachRemaining(f -> {
                if (!schema.get("properties").has(f)) {
                    mismatches.add(where + "." + f + ": not in the schema");
                }
            });
            for (String r : OpenApiDocumentTest.required(schema)) {
                if (!value.has(r)) {
                    mismatches.add(where + "." + r + ": required but absent");
                }
            }
            schema.get("properties").properties().forEach(p -> {
                if (value.has(p.getKey())) {
                    check(p.getValue(), value.get(p.getKey()), where + "." + p.getKey());
                }
            });
        } else if (value.isObject() && schema.path("additionalProperties").isObject()) {
            value.properties().forEach(e -> check(schema.get("additionalProperties"), e.getValue(), where + "." + e.getKey()));
        } else if (value.isArray() && schema.has("items")) {
            for (int i = 0; i < value.size(); i++) {
                check(schema.get("items"), value.get(i), where + "[" + i + "]");
            }
        }
    }

    static boolean nullable(JsonNode schema) {
        return schema.path("type").toString().contains("\"null\"") || schema.path("anyOf").toString().contains("\"null\"")
                || schema.path("nullable").asBoolean(false);
    }

    static boolean matches(JsonNode schema, JsonNode value) {
        String type = OpenApiDocumentTest.type(schema);
        if (type == null) {
            return true;
        }
        return switch (type) {
            case "object" -> value.isObject();
            case "array" -> value.isArray();
            case "string" -> value.isTextual();
            case "integer" -> value.isIntegralNumber();
            case "number" -> value.isNumber();
            case "boolean" -> value.isBoolean();
            default -> true;
        };
    }

    void answer(String schema, String json, String where) throws Exception {
        check(OpenApiDocumentTest.JSON.readTree("{\"$ref\": \"#/components/schemas/" + schema + "\"}"),
                OpenApiDocumentTest.JSON.readTree(json), where);
    }

    @Test
    void answersMatchTheirSchemas() throws Exception {
        answer("ModelList", given().get("/v1/models").then().statusCode(200).extract().asString(), "GET /v1/models");
        answer("AdapterList", given().get("/v1/adapters").then().statusCode(200).extract().asString(), "GET /v1/adapters");
        answer("Completion", given().contentType(ContentType.JSON).body("{\"model\": \"tiny-llama\", \"prompt\": [\"Hi\", \"Yo\"],"
                + " \"max_tokens\": 2, \"logprobs\": true, \"return_token_ids\": true}").post("/v1/completions")
                .then().statusCode(200).extract().asString(), "POST /v1/completions");
        answer("Completion", given().contentType(ContentType.JSON).body("{\"model\": \"tiny-llama\", \"prompt\": \"Hi\", \"max_tokens\": 1}")
                .post("/v1/completions").then().statusCode(200).extract().asString(), "POST /v1/completions (plain)");
        answer("ChatCompletion", given().contentType(ContentType.JSON).body("{\"model\": \"tiny-llama\", \"max_tokens\": 2,"
                + " \"logprobs\": true, \"return_token_ids\": true, \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}")
                .post("/v1/chat/completions").then().statusCode(200).extract().asString(), "POST /v1/chat/completions");
        answer("ErrorResponse", given().contentType(ContentType.JSON).body("{}").post("/v1/completions")
                .then().statusCode(400).extract().asString(), "POST /v1/completions (400)");
        answer("ErrorResponse", given().get("/v1/fine_tuning/jobs/ftjob-000000000000000000000000")
                .then().statusCode(404).extract().asString(), "GET job (404)");

        String data = FineTuningJobsRestTest.promptCompletionSet() + "not json\n";
        java.nio.file.Path file = Path.of("target", "openapi-drift.jsonl");
        java.nio.file.Files.writeString(file, data);
        String uploaded = given().multiPart("file", file.toFile(), "application/jsonl").multiPart("purpose", "fine-tune")
                .post("/v1/files").then().statusCode(200).extract().asString();
        answer("FileObject", uploaded, "POST /v1/files");
        assertTrue(uploaded.contains("\"line\""), "the report's line errors were checked too: " + uploaded);
        String fileId = OpenApiDocumentTest.JSON.readTree(uploaded).get("id").asText();
        answer("FileList", given().get("/v1/files").then().statusCode(200).extract().asString(), "GET /v1/files");

        String created = given().contentType(ContentType.JSON).body("{\"model\": \"tiny-llama\", \"training_file\": \"" + fileId
                + "\", \"suffix\": \"drift\", \"method\": {\"type\": \"supervised\", \"hyperparameters\": {\"epochs\": 1}},"
                + " \"publish_if\": {\"max_eval_loss_ratio\": 2}, \"diagnostics\": {\"max_examples\": 4}}")
                .post("/v1/fine_tuning/jobs").then().statusCode(200).extract().asString();
        answer("FineTuningJob", created, "POST /v1/fine_tuning/jobs");
        String id = OpenApiDocumentTest.JSON.readTree(created).get("id").asText();
        answer("FineTuningJob", given().get("/v1/fine_tuning/jobs/" + id).then().statusCode(200).extract().asString(), "GET job");
        answer("FineTuningJobList", given().get("/v1/fine_tuning/jobs").then().statusCode(200).extract().asString(), "GET jobs");
        String cancelled = given().post("/v1/fine_tuning/jobs/" + id + "/cancel").then().statusCode(200).extract().asString();
        answer("FineTuningJob", cancelled, "POST cancel");
        String events = given().get("/v1/fine_tuning/jobs/" + id + "/events").then().statusCode(200).extract().asString();
        assertTrue(OpenApiDocumentTest.JSON.readTree(events).get("data").size() > 0, events);
        answer("JobEventList", events, "GET events");
        answer("JobCheckpointList", given().get("/v1/fine_tuning/jobs/" + id + "/checkpoints").then().statusCode(200).extract()
                .asString(), "GET checkpoints");
        assertEquals(List.of(), mismatches);
    }

    /**
     * A classification job run to its end, with diagnostics: its report carries the fields only
     * classification has (the bag-of-words baseline, the reliability bins, the base model's probe),
     * and the job, its events and its checkpoints match their schemas.
     */
    @Test
    void classificationReportMatchesItsSchema() throws Exception {
        String topics;
        try (java.io.InputStream in = getClass().getResourceAsStream("/datasets/topics.jsonl")) {
            topics = FineTuningJobsRestTest.upload("openapi-drift-topics.jsonl",
                    new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
        }
        String suffix = "drift-cls-" + java.util.UUID.randomUUID().toString().substring(0, 8);
        String id = given().contentType(ContentType.JSON).body("{\"model\": \"tiny-llama\", \"training_file\": \"" + topics
                + "\", \"suffix\": \"" + suffix + "\", \"seed\": 7, \"method\": {\"type\": \"classification\","
                + " \"hyperparameters\": {\"epochs\": 1, \"batch_size\": 4, \"learning_rate\": 0.02},"
                + " \"adapter\": {\"method\": \"linear_probe\"}}, \"diagnostics\": {\"max_examples\": 8, \"layers\": [0]}}")
                .post("/v1/fine_tuning/jobs").then().statusCode(200).extract().path("id");
        io.restassured.path.json.JsonPath done = FineTuningJobsRestTest.awaitFinal(id, 300);
        assertEquals("succeeded", done.getString("status"), done.prettify());
        String job = given().get("/v1/fine_tuning/jobs/" + id).then().statusCode(200).extract().asString();
        JsonNode report = OpenApiDocumentTest.JSON.readTree(job).path("report");
        assertTrue(report.has("bag_of_words") && report.has("base_probe"), job);
        assertTrue(job.contains("\"reliability\""), job);
        answer("FineTuningJob", job, "GET classification job (finished)");
        answer("JobEventList", given().queryParam("limit", 999).get("/v1/fine_tuning/jobs/" + id + "/events").then()
                .statusCode(200).extract().asString(), "GET classification events");
        answer("JobCheckpointList", given().get("/v1/fine_tuning/jobs/" + id + "/checkpoints").then().statusCode(200)
                .extract().asString(), "GET classification checkpoints");
    }

    /**
     * A job run to its end (its report, step and evaluation events, checkpoints), the diagnostics of
     * the adapter it published, a recommendation and a sweep run to its end: every answer matches
     * its schema, field by field.
     */
    @Test
    void trainingAnswersMatchTheirSchemas() throws Exception {
        String file = FineTuningJobsRestTest.upload("openapi-drift-train.jsonl", DiagnosticsRestTest.slicedSet());
        String suffix = "drift-" + java.util.UUID.randomUUID().toString().substring(0, 8);
        String id = given().contentType(ContentType.JSON).body(FineTuningJobsRestTest.body(file, suffix, 2,
                ", \"diagnostics\": {\"max_examples\": 8, \"layers\": [0, 1]}")).post("/v1/fine_tuning/jobs")
                .then().statusCode(200).extract().path("id");
        io.restassured.path.json.JsonPath done = FineTuningJobsRestTest.awaitFinal(id, 240);
        assertEquals("succeeded", done.getString("status"), done.prettify());
        String job = given().get("/v1/fine_tuning/jobs/" + id).then().statusCode(200).extract().asString();
        assertTrue(OpenApiDocumentTest.JSON.readTree(job).path("report").has("slices"), job);
        answer("FineTuningJob", job, "GET job (finished)");
        String events = given().queryParam("limit", 999).get("/v1/fine_tuning/jobs/" + id + "/events").then().statusCode(200)
                .extract().asString();
        assertTrue(events.contains("\"train_loss\"") && events.contains("\"base_eval_loss\""), "step and evaluation data: " + events);
        answer("JobEventList", events, "GET events (finished)");
        String checkpoints = given().get("/v1/fine_tuning/jobs/" + id + "/checkpoints").then().statusCode(200).extract().asString();
        assertTrue(checkpoints.contains("\"train_loss\""), checkpoints);
        answer("JobCheckpointList", checkpoints, "GET checkpoints (finished)");

        answer("DiagnosticsReport", given().contentType(ContentType.JSON).body("{\"file\": \"" + file
                + "\", \"max_examples\": 4, \"layers\": [0]}").post("/v1/adapters/" + suffix + "/diagnostics")
                .then().statusCode(200).extract().asString(), "POST diagnostics");

        answer("Recommendation", given().contentType(ContentType.JSON).body("{\"training_file\": \"" + file
                + "\", \"top_k\": 2, \"epochs\": 1, \"sample_size\": 4}").post("/v1/recommendations")
                .then().statusCode(200).extract().asString(), "POST recommendations");
        String excluded = given().contentType(ContentType.JSON).body("{\"training_file\": \"" + file
                + "\", \"sample_size\": 4, \"budget\": {\"max_adapter_bytes\": 1}}").post("/v1/recommendations")
                .then().statusCode(200).extract().asString();
        assertTrue(OpenApiDocumentTest.JSON.readTree(excluded).path("excluded").size() > 0, excluded);
        answer("Recommendation", excluded, "POST recommendations (budget)");

        // lora trains; linear_probe is refused at creation (a supervised file): a failed row without a job
        String sweep = given().contentType(ContentType.JSON).body("{\"model\": \"tiny-llama\", \"training_file\": \"" + file
                + "\", \"methods\": [\"lora\", \"linear_probe\"], \"seed\": 3, \"suffix\": \"" + suffix + "-sweep\","
                + " \"hyperparameters\": {\"epochs\": 1, \"batch_size\": 4}}").post("/v1/fine_tuning/sweeps")
                .then().statusCode(200).extract().asString();
        answer("Sweep", sweep, "POST sweeps");
        String sweepId = OpenApiDocumentTest.JSON.readTree(sweep).get("id").asText();
        String finished = RecommendationsRestTest.awaitSweep(sweepId, 240).prettify();
        assertTrue(finished.contains("\"forgetting\""), finished);
        answer("Sweep", finished, "GET sweep (finished)");
        answer("SweepList", given().get("/v1/fine_tuning/sweeps").then().statusCode(200).extract().asString(), "GET sweeps");
        answer("Sweep", given().post("/v1/fine_tuning/sweeps/" + sweepId + "/cancel").then().statusCode(200).extract().asString(),
                "POST sweep cancel");
        assertEquals(List.of(), mismatches);
    }
}
