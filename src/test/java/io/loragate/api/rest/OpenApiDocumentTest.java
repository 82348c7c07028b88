package io.loragate.api.rest;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.loragate.TinyLlamaProfile;
import io.loragate.config.LoragateConfig;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The OpenAPI document ({@code /q/openapi}) types every body of the main operations, so that a
 * client can be generated from it: each request and answer is a named schema with typed
 * properties, its limits, and error answers that reference the error schema. Swagger UI answers.
 */
@QuarkusTest
@TestProfile(TinyLlamaProfile.class)
class OpenApiDocumentTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String ERROR_REF = "#/components/schemas/ErrorResponse";

    @Inject
    LoragateConfig config;

    /** The document as served; also written to target/openapi.json for a look or a client generator. */
    static JsonNode document() throws Exception {
        String body = given().get("/q/openapi?format=json").then().statusCode(200).extract().asString();
        Files.writeString(Path.of("target", "openapi.json"), body);
        return JSON.readTree(body);
    }

    /** The named schema a property references (also through OpenAPI 3.1's nullable form, anyOf [ref, null]). */
    static JsonNode resolve(JsonNode doc, JsonNode schema) {
        for (JsonNode alt : schema.path("anyOf")) {
            if (alt.has("$ref")) {
                return resolve(doc, alt);
            }
        }
        JsonNode ref = schema.get("$ref");
        if (ref == null) {
            return schema;
        }
        String name = ref.asText().substring("#/components/schemas/".length());
        JsonNode s = doc.path("components").path("schemas").get(name);
        assertNotNull(s, "no component schema " + name);
        return s;
    }

    static JsonNode operation(JsonNode doc, String path, String method) {
        JsonNode op = doc.path("paths").path(path).get(method);
        assertNotNull(op, method + " " + path + " is missing from the document");
        return op;
    }

    /** The operation's request body schema for this media type, as a named (referenced) schema. */
    static JsonNode request(JsonNode doc, String path, String method, String media) {
        JsonNode schema = operation(doc, path, method).path("requestBody").path("content").path(media).get("schema");
        assertNotNull(schema, method + " " + path + ": no " + media + " request body");
        assertTrue(schema.has("$ref"), method + " " + path + ": the request body must be a named schema, got " + schema);
        return typed(doc, resolve(doc, schema), method + " " + path + " request");
    }

    static JsonNode response(JsonNode doc, String path, String method) {
        JsonNode schema = operation(doc, path, method).path("responses").path("200").path("content").path("application/json").get("schema");
        assertNotNull(schema, method + " " + path + ": no JSON 200 answer");
        assertTrue(schema.has("$ref"), method + " " + path + ": the answer must be a named schema, got " + schema);
        return typed(doc, resolve(doc, schema), method + " " + path + " answer");
    }

    /** An object schema whose every property has a type (or is a reference or a oneOf of types). */
    static JsonNode typed(JsonNode doc, JsonNode schema, String what) {
        assertTrue(schema.path("properties").size() > 0, what + " has no properties: " + schema);
        schema.path("properties").properties().forEach(p -> assertTrue(hasType(p.getValue()),
                what + ": property '" + p.getKey() + "' has no type: " + p.getValue()));
        return schema;
    }

    static boolean hasType(JsonNode s) {
        if (s.has("type") || s.has("$ref")) {
            return true;
        }
        for (String alternatives : List.of("oneOf", "anyOf", "allOf")) {
            if (s.path(alternatives).size() > 0) {
                boolean all = true;
                for (JsonNode alt : s.get(alternatives)) {
                    all &= hasType(alt);
                }
                return all;
            }
        }
        return false;
    }

    static String type(JsonNode s) {
        JsonNode t = s.get("type");
        if (t == null) {
            return null;
        }
        if (t.isArray()) { // OpenAPI 3.1: ["integer", "null"]
            for (JsonNode x : t) {
                if (!x.asText().equals("null")) {
                    return x.asText();
                }
            }
        }
        return t.asText();
    }

    static JsonNode prop(JsonNode doc, JsonNode schema, String name) {
        JsonNode p = schema.path("properties").get(name);
        assertNotNull(p, "no property '" + name + "' in " + schema);
        return p;
    }

    static Set<String> required(JsonNode schema) {
        Set<String> out = new java.util.TreeSet<>();
        schema.path("required").forEach(r -> out.add(r.asText()));
        return out;
    }

    /** The item schema of an array property, resolved. */
    static JsonNode items(JsonNode doc, JsonNode schema, String name) {
        JsonNode p = prop(doc, schema, name);
        assertEquals("array", type(p), name + " must be an array: " + p);
        return resolve(doc, p.get("items"));
    }

    @Test
    void completionsAndChatAreTyped() throws Exception {
        JsonNode doc = document();
        JsonNode req = request(doc, "/v1/completions", "post", "application/json");
        assertTrue(required(req).containsAll(List.of("model", "prompt")), req.toString());
        assertEquals("string", type(prop(doc, req, "model")));
        JsonNode maxTokens = prop(doc, req, "max_tokens");
        assertEquals("integer", type(maxTokens));
        assertEquals(1, maxTokens.get("minimum").asInt());
        assertEquals(config.limits().maxTokens(), maxTokens.get("maximum").asInt(), "the configured limit, not a constant");
        assertEquals("number", type(prop(doc, req, "temperature")));
        assertEquals(1, prop(doc, req, "top_p").get("maximum").asDouble());
        assertEquals(2, prop(doc, req, "prompt").get("oneOf").size(), "a string or an array of strings");
        assertEquals("boolean", type(prop(doc, req, "stream")));
        JsonNode completion = response(doc, "/v1/completions", "post");
        JsonNode choice = items(doc, completion, "choices");
        assertEquals("string", type(prop(doc, choice, "text")));
        assertEquals("integer", type(prop(doc, resolve(doc, prop(doc, completion, "usage")), "total_tokens")));
        assertNotNull(operation(doc, "/v1/completions", "post").path("responses").path("200").path("content").get("text/event-stream"),
                "streaming is documented");

        JsonNode chat = request(doc, "/v1/chat/completions", "post", "application/json");
        JsonNode message = items(doc, chat, "messages");
        assertEquals(1, prop(doc, chat, "messages").get("minItems").asInt());
        assertEquals(Set.of("role", "content"), required(message));
        assertTrue(prop(doc, message, "role").get("enum").toString().contains("assistant"));
        assertEquals(config.limits().maxTokens(), prop(doc, chat, "max_tokens").get("maximum").asInt());
        JsonNode answer = response(doc, "/v1/chat/completions", "post");
        JsonNode answered = resolve(doc, prop(doc, items(doc, answer, "choices"), "message"));
        assertEquals("string", type(prop(doc, answered, "content")));
    }

    @Test
    void embeddingsAndClassificationsAreTyped() throws Exception {
        JsonNode doc = document();
        JsonNode req = request(doc, "/v1/embeddings", "post", "application/json");
        assertEquals(config.limits().maxInputs(), prop(doc, req, "input").get("maxItems").asInt());
        JsonNode vector = prop(doc, items(doc, response(doc, "/v1/embeddings", "post"), "data"), "embedding");
        // floats, or with encoding_format "base64" a string of their little-endian bytes
        List<String> forms = new java.util.ArrayList<>();
        vector.get("oneOf").forEach(f -> forms.add(type(f) + ("array".equals(type(f)) ? " of " + type(f.get("items")) : "")));
        assertEquals(List.of("array of number", "string"), forms, vector.toString());
        JsonNode cls = request(doc, "/v1/classifications", "post", "application/json");
        assertTrue(required(cls).containsAll(List.of("model", "input")));
        JsonNode item = items(doc, response(doc, "/v1/classifications", "post"), "data");
        assertEquals("string", type(prop(doc, item, "label")));
        assertEquals("number", type(prop(doc, item, "scores").get("additionalProperties")));
        response(doc, "/v1/models", "get");
    }

    @Test
    void uploadsAreTypedMultipart() throws Exception {
        JsonNode doc = document();
        JsonNode adapter = request(doc, "/v1/adapters", "post", "multipart/form-data");
        assertEquals(1, operation(doc, "/v1/adapters", "post").path("requestBody").path("content").path("multipart/form-data")
                .path("schema").size(), "the record alone, not merged with the scanner's form fields");
        assertEquals(Set.of("name", "config", "weights"), required(adapter));
        assertEquals("binary", prop(doc, adapter, "weights").get("format").asText());
        assertEquals("string", type(prop(doc, adapter, "weights")));
        assertEquals("integer", type(prop(doc, response(doc, "/v1/adapters", "post"), "version")));
        JsonNode file = request(doc, "/v1/files", "post", "multipart/form-data");
        assertEquals("binary", prop(doc, file, "file").get("format").asText());
        JsonNode fileObject = response(doc, "/v1/files", "post");
        JsonNode report = resolve(doc, prop(doc, fileObject, "report"));
        assertEquals("integer", type(prop(doc, report, "examples")));
        assertEquals("integer", type(prop(doc, items(doc, report, "errors"), "line")));
        request(doc, "/v1/adapters/{name}/active", "put", "application/json");
    }

    @Test
    void fineTuningJobsAreTyped() throws Exception {
        JsonNode doc = document();
        JsonNode req = request(doc, "/v1/fine_tuning/jobs", "post", "application/json");
        assertTrue(required(req).containsAll(List.of("model", "training_file", "suffix")), req.toString());
        JsonNode method = resolve(doc, prop(doc, req, "method"));
        JsonNode hyper = resolve(doc, prop(doc, method, "hyperparameters"));
        assertEquals("number", type(prop(doc, hyper, "learning_rate")));
        JsonNode epochs = prop(doc, hyper, "epochs");
        assertEquals("integer", type(epochs));
        assertEquals(1, epochs.get("minimum").asInt());
        assertEquals(1000, epochs.get("maximum").asInt());
        assertEquals(config.training().maxSeqLength(), prop(doc, hyper, "max_seq_length").get("maximum").asInt());
        JsonNode adapter = resolve(doc, prop(doc, method, "adapter"));
        assertEquals(config.adapters().maxRank(), prop(doc, adapter, "r").get("maximum").asInt());
        assertEquals(8, prop(doc, adapter, "method").get("enum").size());
        JsonNode job = response(doc, "/v1/fine_tuning/jobs/{id}", "get");
        assertTrue(prop(doc, job, "status").get("enum").toString().contains("succeeded"));
        assertEquals("integer", type(prop(doc, resolve(doc, prop(doc, job, "progress")), "total_steps")));
        assertEquals("number", type(prop(doc, resolve(doc, prop(doc, job, "hyperparameters")), "learning_rate")));
        assertEquals(response(doc, "/v1/fine_tuning/jobs", "post"), job);
        JsonNode event = items(doc, response(doc, "/v1/fine_tuning/jobs/{id}/events", "get"), "data");
        assertEquals("string", type(prop(doc, event, "message")));
        JsonNode list = response(doc, "/v1/fine_tuning/jobs", "get");
        assertEquals("boolean", type(prop(doc, list, "has_more")));
        for (JsonNode p : operation(doc, "/v1/fine_tuning/jobs", "get").path("parameters")) {
            if (p.path("name").asText().equals("limit")) {
                assertEquals(100, p.path("schema").path("maximum").asInt(), "FineTuningJobs.list's page size");
            }
        }
        boolean eventLimit = false;
        for (JsonNode p : operation(doc, "/v1/fine_tuning/jobs/{id}/events", "get").path("parameters")) {
            if (p.path("name").asText().equals("limit")) {
                assertEquals(1, p.path("schema").path("minimum").asInt(), p.toString());
                assertEquals(999, p.path("schema").path("maximum").asInt(), "JobService.events' page size: " + p);
                eventLimit = true;
            }
        }
        assertTrue(eventLimit, "the events page size is documented");
    }

    /** Reports are typed to their leaves: a job's report, its events' data, checkpoint metrics, diagnostics, recommendations, sweeps. */
    @Test
    void reportsAndAdvisorAnswersAreTyped() throws Exception {
        JsonNode doc = document();
        JsonNode job = response(doc, "/v1/fine_tuning/jobs/{id}", "get");
        JsonNode report = typed(doc, resolve(doc, prop(doc, job, "report")), "job report");
        assertEquals("boolean", type(prop(doc, resolve(doc, prop(doc, report, "publish_if")), "passed")));
        JsonNode metrics = typed(doc, resolve(doc, prop(doc, report, "adapter")), "eval metrics");
        assertEquals("number", type(prop(doc, metrics, "loss")));
        assertEquals("number", type(prop(doc, items(doc, metrics, "reliability"), "confidence")));
        assertEquals("number", type(prop(doc, items(doc, report, "layers"), "cka")));
        JsonNode slice = resolve(doc, prop(doc, report, "slices").get("additionalProperties"));
        assertEquals("boolean", type(prop(doc, typed(doc, slice, "slice"), "negative_transfer")));
        assertEquals("number", type(prop(doc, resolve(doc, prop(doc, report, "forgetting")), "delta")));
        JsonNode event = items(doc, response(doc, "/v1/fine_tuning/jobs/{id}/events", "get"), "data");
        JsonNode data = typed(doc, resolve(doc, prop(doc, event, "data")), "event data");
        assertEquals("number", type(prop(doc, data, "train_loss")));
        assertEquals("integer", type(prop(doc, data, "total_steps")));
        JsonNode checkpoint = items(doc, response(doc, "/v1/fine_tuning/jobs/{id}/checkpoints", "get"), "data");
        assertEquals("number", type(prop(doc, typed(doc, resolve(doc, prop(doc, checkpoint, "metrics")), "checkpoint metrics"),
                "eval_loss")));

        JsonNode diagnostics = response(doc, "/v1/adapters/{id}/diagnostics", "post");
        assertEquals("string", type(prop(doc, diagnostics, "adapter_id")));
        assertEquals("integer", type(prop(doc, typed(doc, resolve(doc, prop(doc, diagnostics, "diagnostics")), "settings"),
                "cka_token_rows")));
        JsonNode recommendation = response(doc, "/v1/recommendations", "post");
        JsonNode plan = items(doc, recommendation, "methods");
        assertEquals("integer", type(prop(doc, typed(doc, resolve(doc, prop(doc, plan, "compute")), "compute"), "adapter_bytes")));
        assertEquals("string", type(prop(doc, resolve(doc, prop(doc, plan, "settings")), "method")));
        assertEquals("number", type(prop(doc, resolve(doc, prop(doc, recommendation, "shift")), "score")));
        JsonNode sweep = response(doc, "/v1/fine_tuning/sweeps/{id}", "get");
        assertEquals(sweep, response(doc, "/v1/fine_tuning/sweeps", "post"));
        assertEquals(sweep, response(doc, "/v1/fine_tuning/sweeps/{id}/cancel", "post"));
        assertEquals("number", type(prop(doc, items(doc, sweep, "table"), "eval_loss")));
        assertEquals(sweep, items(doc, response(doc, "/v1/fine_tuning/sweeps", "get"), "data"));
    }

    /** Every /v1 operation answers its errors with the error schema, which types message, type, param and code. */
    @Test
    void errorsReferenceTheErrorSchema() throws Exception {
        JsonNode doc = document();
        List<String> missing = new ArrayList<>();
        doc.path("paths").properties().forEach(path -> {
            if (!path.getKey().startsWith("/v1")) {
                return;
            }
            path.getValue().properties().forEach(op -> {
                for (String code : List.of("400", "401", "404", "429", "500", "503")) {
                    JsonNode ref = op.getValue().path("responses").path(code).path("content").path("application/json")
                            .path("schema").path("$ref");
                    if (!ERROR_REF.equals(ref.asText())) {
                        missing.add(op.getKey() + " " + path.getKey() + " " + code);
                    }
                }
            });
        });
        assertEquals(List.of(), missing);
        JsonNode error = resolve(doc, prop(doc, resolve(doc, JSON.readTree("{\"$ref\": \"" + ERROR_REF + "\"}")), "error"));
        for (String f : List.of("message", "type", "param", "code")) {
            assertEquals("string", type(prop(doc, error, f)), f);
        }
        assertTrue(doc.path("components").path("securitySchemes").has("bearer"), "the API key scheme is documented");
    }

    /** No request or answer of a /v1 JSON operation is an untyped object: a generated client gets a class for each. */
    @Test
    void noUntypedBodies() throws Exception {
        JsonNode doc = document();
        List<String> untyped = new ArrayList<>();
        doc.path("paths").properties().forEach(path -> {
            if (!path.getKey().startsWith("/v1")) {
                return;
            }
            path.getValue().properties().forEach(op -> {
                JsonNode body = op.getValue().path("requestBody").path("content");
                body.properties().forEach(m -> {
                    if (!m.getValue().path("schema").has("$ref")) {
                        untyped.add(op.getKey() + " " + path.getKey() + " request " + m.getKey());
                    }
                });
                JsonNode ok = op.getValue().path("responses").path("200").path("content").path("application/json").path("schema");
                boolean stream = path.getKey().endsWith("/content");
                if (!ok.has("$ref") && !stream) {
                    untyped.add(op.getKey() + " " + path.getKey() + " answer");
                }
            });
        });
        assertEquals(List.of(), untyped);
        Set<String> ids = new java.util.HashSet<>();
        doc.path("paths").properties().forEach(path -> path.getValue().properties().forEach(op -> {
            String id = op.getValue().path("operationId").asText("");
            assertTrue(path.getKey().startsWith("/q") || (!id.isEmpty() && ids.add(id)),
                    op.getKey() + " " + path.getKey() + ": no operationId, or a duplicate (OpenApiOperationIds)");
            assertTrue(path.getKey().startsWith("/q") || !op.getValue().path("tags").toString().contains("Resource"),
                    op.getKey() + " " + path.getKey() + ": tagged by Java class " + op.getValue().path("tags"));
        }));
        assertFalse(doc.path("components").path("schemas").has("JsonNode"), "no body is documented as Jackson's JsonNode");
    }

    @Test
    void swaggerUiAnswers() {
        given().get("/q/swagger-ui/").then().statusCode(200).body(containsString("swagger-ui"));
        given().redirects().follow(true).get("/q/swagger-ui").then().statusCode(200);
    }
}
