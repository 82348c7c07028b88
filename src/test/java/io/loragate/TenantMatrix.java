package io.loragate;

import static io.loragate.registry.RegistryFixtures.adapter;
import static io.loragate.registry.RegistryFixtures.config;
import static io.loragate.registry.RegistryFixtures.weights;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.function.BiFunction;
import java.util.function.Supplier;

/**
 * The tenant matrix over REST: tenant B owns an adapter (two versions), a file, a job and a sweep;
 * tenant A's key against every REST endpoint with B's ids gets exactly what an unknown id gets, never
 * 403, and B's things are untouched. The callers say where each tenant's requests go (one gateway in
 * {@code TenantMatrixTest}, different replicas in {@code ReplicasIT}).
 */
public final class TenantMatrix {

    private TenantMatrix() {
    }

    /** B's world: an adapter (two versions), a file, a job and a sweep; A owns an adapter {@code mine}. */
    public record World(String adapter, String file, String job, String sweep) {
    }

    /** One REST call; {@code {id}} is B's adapter, file, job or sweep id, or an unknown one of the same shape. */
    public record Call(String what, String id, BiFunction<RequestSpecification, String, Response> run) {
    }

    /** Creates B's world with B's requests ({@code asB}: authenticated as B) and A's adapter {@code mine} with {@code asA}. */
    public static World world(Supplier<RequestSpecification> asA, Supplier<RequestSpecification> asB) {
        String adapter = "secret";
        Path a0 = adapter("tiny-llama", 0);
        for (int version = 1; version <= 2; version++) {
            register(asB.get(), adapter, a0);
        }
        register(asA.get(), "mine", a0);
        StringBuilder data = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            data.append("{\"prompt\": \"Q: ").append(i).append("\\nA:\", \"completion\": \" yes.\"}\n");
        }
        String file = asB.get().multiPart("file", "b.jsonl", data.toString().getBytes(StandardCharsets.UTF_8), "application/jsonl")
                .multiPart("purpose", "fine-tune").post("/v1/files").then().statusCode(200).extract().path("id");
        String job = asB.get().contentType(ContentType.JSON).body("{\"model\": \"tiny-llama\", \"training_file\": \"" + file
                + "\", \"suffix\": \"bjob\", \"method\": {\"type\": \"supervised\", \"hyperparameters\": {\"epochs\": 1,"
                + " \"batch_size\": 4}}}").post("/v1/fine_tuning/jobs").then().statusCode(200).extract().path("id");
        // a linear probe on a supervised file: refused at job creation, so nothing trains
        String sweep = asB.get().contentType(ContentType.JSON).body("{\"model\": \"tiny-llama\", \"training_file\": \"" + file
                + "\", \"methods\": [\"linear_probe\"]}").post("/v1/fine_tuning/sweeps").then().statusCode(200).extract().path("id");
        return new World(adapter, file, job, sweep);
    }

    static void register(RequestSpecification as, String name, Path folder) {
        as.multiPart("name", name).multiPart("config", config(folder).toFile(), "application/json")
                .multiPart("weights", weights(folder).toFile(), "application/octet-stream").post("/v1/adapters")
                .then().statusCode(200);
    }

    /** An id of the same shape that nobody has. */
    public static String unknown(String id) {
        int dash = id.indexOf('-');
        return dash < 0 ? "zz" + id.substring(2) : id.substring(0, dash + 1) + "0".repeat(id.length() - dash - 1);
    }

    /** Every REST endpoint that takes an adapter, file, job or sweep id. */
    public static List<Call> restCalls(World w) {
        String a = w.adapter();
        return List.of(
                new Call("recommendation on B's file", w.file(), (r, id) -> r.contentType(ContentType.JSON)
                        .body("{\"training_file\": \"" + id + "\"}").post("/v1/recommendations")),
                new Call("sweep on B's file", w.file(), (r, id) -> r.contentType(ContentType.JSON).body("{\"model\": \"tiny-llama\","
                        + " \"training_file\": \"" + id + "\", \"methods\": [\"lora\"]}").post("/v1/fine_tuning/sweeps")),
                new Call("GET sweep", w.sweep(), (r, id) -> r.get("/v1/fine_tuning/sweeps/" + id)),
                new Call("cancel sweep", w.sweep(), (r, id) -> r.post("/v1/fine_tuning/sweeps/" + id + "/cancel")),
                new Call("diagnostics of B's adapter", a, (r, id) -> r.contentType(ContentType.JSON)
                        .body("{\"file\": \"" + w.file() + "\"}").post("/v1/adapters/" + id + "/diagnostics")),
                new Call("diagnostics on B's file", w.file(), (r, id) -> r.contentType(ContentType.JSON)
                        .body("{\"file\": \"" + id + "\"}").post("/v1/adapters/mine/diagnostics")),
                new Call("GET adapter", a, (r, id) -> r.get("/v1/adapters/" + id)),
                new Call("PUT active", a, (r, id) -> r.contentType(ContentType.JSON).body("{\"version\": 1}").put("/v1/adapters/" + id + "/active")),
                new Call("pin", a, (r, id) -> r.post("/v1/adapters/" + id + "/pin")),
                new Call("unpin", a, (r, id) -> r.post("/v1/adapters/" + id + "/unpin")),
                new Call("load", a, (r, id) -> r.post("/v1/adapters/" + id + "/load")),
                new Call("load version", a, (r, id) -> r.post("/v1/adapters/" + id + "/load?version=2")),
                new Call("unload", a, (r, id) -> r.post("/v1/adapters/" + id + "/unload")),
                new Call("DELETE version", a, (r, id) -> r.delete("/v1/adapters/" + id + "@1")),
                new Call("completion", a, (r, id) -> r.contentType(ContentType.JSON)
                        .body("{\"model\": \"" + id + "\", \"prompt\": \"hi\", \"max_tokens\": 2}").post("/v1/completions")),
                new Call("completion by version", a, (r, id) -> r.contentType(ContentType.JSON)
                        .body("{\"model\": \"" + id + "@2\", \"prompt\": \"hi\", \"max_tokens\": 2}").post("/v1/completions")),
                new Call("streamed completion", a, (r, id) -> r.contentType(ContentType.JSON)
                        .body("{\"model\": \"" + id + "\", \"prompt\": \"hi\", \"max_tokens\": 2, \"stream\": true}").post("/v1/completions")),
                new Call("chat", a, (r, id) -> r.contentType(ContentType.JSON)
                        .body("{\"model\": \"" + id + "\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 2}")
                        .post("/v1/chat/completions")),
                new Call("embeddings", a, (r, id) -> r.contentType(ContentType.JSON)
                        .body("{\"model\": \"" + id + "\", \"input\": \"hi\"}").post("/v1/embeddings")),
                new Call("classifications", a, (r, id) -> r.contentType(ContentType.JSON)
                        .body("{\"model\": \"" + id + "\", \"input\": \"hi\"}").post("/v1/classifications")),
                new Call("GET file", w.file(), (r, id) -> r.get("/v1/files/" + id)),
                new Call("GET file max_length", w.file(), (r, id) -> r.get("/v1/files/" + id + "?max_length=8")),
                new Call("file content", w.file(), (r, id) -> r.get("/v1/files/" + id + "/content")),
                new Call("DELETE file", w.file(), (r, id) -> r.delete("/v1/files/" + id)),
                new Call("job on B's file", w.file(), (r, id) -> r.contentType(ContentType.JSON).body("{\"model\": \"tiny-llama\","
                        + " \"training_file\": \"" + id + "\", \"suffix\": \"x\", \"method\": {\"type\": \"supervised\"}}").post("/v1/fine_tuning/jobs")),
                new Call("GET job", w.job(), (r, id) -> r.get("/v1/fine_tuning/jobs/" + id)),
                new Call("cancel job", w.job(), (r, id) -> r.post("/v1/fine_tuning/jobs/" + id + "/cancel")),
                new Call("job events", w.job(), (r, id) -> r.get("/v1/fine_tuning/jobs/" + id + "/events")),
                new Call("job checkpoints", w.job(), (r, id) -> r.get("/v1/fine_tuning/jobs/" + id + "/checkpoints")));
    }

    /**
     * Runs every call as A ({@code asA}) with B's id and with an unknown one: the same status and the
     * same message once the id is masked, 404 or 400. Answers how many calls were checked.
     */
    public static int assertForeignIdsAnswerAsUnknown(World w, Supplier<RequestSpecification> asA) {
        List<Call> calls = restCalls(w);
        int checked = 0;
        for (Call c : calls) {
            String other = unknown(c.id());
            Response foreign = c.run().apply(asA.get(), c.id());
            Response none = c.run().apply(asA.get(), other);
            String f = foreign.asString().replace(c.id(), "<id>");
            String n = none.asString().replace(other, "<id>");
            assertEquals(none.statusCode(), foreign.statusCode(), c.what() + ": " + f);
            assertEquals(n, f, c.what());
            assertTrue(foreign.statusCode() == 404 || foreign.statusCode() == 400, c.what() + " answers " + foreign.statusCode());
            checked++;
        }
        assertEquals(calls.size(), checked);
        return checked;
    }

    /** A's lists and {@code /v1/models} show A's adapter and none of B's things. */
    public static void assertListsHideB(World w, Supplier<RequestSpecification> asA) {
        String models = asA.get().get("/v1/models").then().statusCode(200).extract().asString();
        assertTrue(models.contains("\"mine\"") && !models.contains(w.adapter()), models);
        String adapters = asA.get().get("/v1/adapters").then().statusCode(200).extract().asString();
        assertTrue(adapters.contains("\"mine\"") && !adapters.contains(w.adapter()), adapters);
        assertFalse(asA.get().get("/v1/files").then().statusCode(200).extract().asString().contains(w.file()));
        assertFalse(asA.get().get("/v1/fine_tuning/sweeps").then().statusCode(200).extract().asString().contains(w.sweep()));
        assertFalse(asA.get().get("/v1/fine_tuning/jobs").then().statusCode(200).extract().asString().contains(w.job()));
    }

    /** B still sees its things as it left them: version 1 active, not pinned, both versions, the file and the job. */
    public static void assertBUntouched(World w, Supplier<RequestSpecification> asB) {
        asB.get().get("/v1/adapters/" + w.adapter()).then().statusCode(200)
                .body("active_version", equalTo(1)).body("pinned", equalTo(false)).body("versions.size()", equalTo(2));
        asB.get().get("/v1/files/" + w.file()).then().statusCode(200);
        asB.get().get("/v1/fine_tuning/jobs/" + w.job()).then().statusCode(200);
        assertTrue(asB.get().get("/v1/models").asString().contains("\"" + w.adapter() + "\""));
    }
}
