package io.loragate.api.rest;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.TinyLlamaProfile;
import io.loragate.runtime.ResidentModel;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A {@code prompt_tuning} job through {@code /v1/fine_tuning/jobs} on tiny-llama: it trains,
 * publishes a PEFT {@code PROMPT_TUNING} adapter, and the adapter serves completions whose usage
 * counts the client's prompt tokens only; a request that fits the context without the virtual
 * tokens but not with them is refused.
 */
@QuarkusTest
@TestProfile(TinyLlamaProfile.class)
class PromptTuningJobRestTest {

    @Inject
    ResidentModel resident;

    @Test
    void aPromptTuningJobPublishesAnAdapterThatServes() throws Exception {
        resident.whenLoaded().get(60, TimeUnit.SECONDS);
        String file = FineTuningJobsRestTest.upload("qa-prompt.jsonl", FineTuningJobsRestTest.promptCompletionSet());
        String suffix = "prompted-" + UUID.randomUUID().toString().substring(0, 8);
        String body = "{\"model\": \"tiny-llama\", \"training_file\": \"" + file + "\", \"suffix\": \"" + suffix + "\", \"seed\": 7,"
                + " \"method\": {\"type\": \"supervised\", \"hyperparameters\": {\"epochs\": 3, \"batch_size\": 4,"
                + " \"learning_rate\": 0.05}, \"adapter\": {\"method\": \"prompt_tuning\", \"num_virtual_tokens\": 6,"
                + " \"prompt_init_text\": \"Answer yes or no.\"}}}";
        String id = given().contentType(ContentType.JSON).body(body).when().post("/v1/fine_tuning/jobs")
                .then().statusCode(200)
                .body("method.adapter.method", equalTo("prompt_tuning"))
                .body("method.adapter.num_virtual_tokens", equalTo(6))
                .extract().path("id");
        JsonPath done = FineTuningJobsRestTest.awaitFinal(id, 120);
        assertEquals("succeeded", done.getString("status"), () -> done.prettify());
        String published = done.getString("fine_tuned_model");
        double base = done.getDouble("report.base.loss");
        double adapter = done.getDouble("report.adapter.loss");
        assertTrue(adapter < base, "held-out loss must drop: base " + base + ", adapter " + adapter);
        // the diagnostics see the adapter with its virtual tokens in front (DiagnosticsTest has the closed form)
        assertTrue(done.get("report.diagnostics_skipped") == null, () -> done.prettify());
        assertTrue(done.get("report.diagnostics_error") == null, () -> done.prettify());
        assertEquals(6, done.getInt("report.diagnostics.virtual_tokens"));
        assertEquals(Boolean.TRUE, done.get("report.forgetting.applicable"));
        assertEquals(resident.model().config().numLayers(), done.getList("report.layers").size());
        assertEquals(Boolean.FALSE, done.get("report.negative_transfer"), () -> done.prettify());

        given().get("/v1/adapters/" + published.substring(0, published.indexOf('@'))).then().statusCode(200)
                .body("versions[0].peft_type", equalTo("PROMPT_TUNING"));

        JsonPath diag = given().contentType(ContentType.JSON).body("{\"file\": \"" + file + "\"}")
                .when().post("/v1/adapters/" + published + "/diagnostics").then().statusCode(200).extract().jsonPath();
        assertEquals(6, diag.getInt("diagnostics.virtual_tokens"));
        assertTrue(diag.getDouble("adapter.loss") < diag.getDouble("base.loss"), () -> diag.prettify());

        String prompt = "Q: violin\nA:";
        int promptTokens = resident.tokenizer().encode(prompt, true).length;
        JsonPath completion = given().contentType(ContentType.JSON)
                .body("{\"model\": \"" + published + "\", \"prompt\": \"Q: violin\\nA:\", \"max_tokens\": 3, \"temperature\": 0}")
                .when().post("/v1/completions").then().statusCode(200).extract().jsonPath();
        assertEquals(published, completion.getString("model"));
        assertEquals(promptTokens, completion.getInt("usage.prompt_tokens"), "usage counts the client's tokens, not the virtual ones");
        assertTrue(completion.getInt("usage.completion_tokens") > 0);

        // fits the context of 256 without the 6 virtual tokens, not with them
        int maxTokens = resident.model().config().maxPositions() - promptTokens - 2;
        given().contentType(ContentType.JSON)
                .body("{\"model\": \"tiny-llama\", \"prompt\": \"Q: violin\\nA:\", \"max_tokens\": " + maxTokens
                        + ", \"temperature\": 0, \"stop\": [\"\\n\"]}")
                .when().post("/v1/completions").then().statusCode(200);
        given().contentType(ContentType.JSON)
                .body("{\"model\": \"" + published + "\", \"prompt\": \"Q: violin\\nA:\", \"max_tokens\": " + maxTokens + "}")
                .when().post("/v1/completions").then().statusCode(400)
                .body("error.message", containsString("virtual tokens"));
    }
}
