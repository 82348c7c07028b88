package io.loragate.api.rest;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.TinyLlamaProfile;
import io.loragate.runtime.ResidentModel;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * IA3, DoRA and bottleneck jobs over REST ({@code method.adapter.method}): each trains a few steps,
 * publishes a version of its own PEFT type, and serves a completion by name, also in one mixed batch.
 */
@QuarkusTest
@TestProfile(TinyLlamaProfile.class)
class AdapterMethodsRestTest {

    @Inject
    ResidentModel resident;

    @BeforeEach
    void ready() throws Exception {
        resident.whenLoaded().get(60, TimeUnit.SECONDS);
    }

    @Test
    void trainsPublishesAndServesIa3DoraAndBottleneckJobs() throws Exception {
        String file = FineTuningJobsRestTest.upload("methods.jsonl", FineTuningJobsRestTest.promptCompletionSet());
        String run = Long.toString(System.nanoTime(), 36); // tests run twice: fresh names
        Map<String, String> adapters = Map.of(
                "ia3", "\"method\": \"ia3\"",
                "dora", "\"method\": \"dora\", \"r\": 4, \"alpha\": 8, \"dropout\": 0.05",
                "bottleneck", "\"method\": \"bottleneck\", \"bottleneck_size\": 8, \"placement\": \"houlsby\","
                        + " \"layers_to_transform\": [1]");
        Map<String, String> peftTypes = Map.of("ia3", "IA3", "dora", "LORA", "bottleneck", "LORAGATE_BOTTLENECK");
        List<String> jobIds = new ArrayList<>();
        List<String> methods = List.of("ia3", "dora", "bottleneck");
        for (String m : methods) {
            String body = "{\"model\": \"tiny-llama\", \"training_file\": \"" + file + "\", \"suffix\": \"" + m + "-" + run
                    + "\", \"seed\": 7, \"method\": {\"type\": \"supervised\", \"hyperparameters\": {\"epochs\": 2,"
                    + " \"batch_size\": 4, \"learning_rate\": 0.02}, \"adapter\": {" + adapters.get(m) + "}}}";
            JsonPath created = given().contentType(ContentType.JSON).body(body).when().post("/v1/fine_tuning/jobs")
                    .then().statusCode(200).extract().jsonPath();
            assertEquals(m, created.getString("method.adapter.method"));
            jobIds.add(created.getString("id"));
        }
        List<String> published = new ArrayList<>();
        for (int i = 0; i < methods.size(); i++) {
            String m = methods.get(i);
            JsonPath done = FineTuningJobsRestTest.awaitFinal(jobIds.get(i), 180);
            assertEquals("succeeded", done.getString("status"), () -> m + ": " + done.prettify());
            assertTrue(done.getLong("progress.step") > 0);
            String name = done.getString("fine_tuned_model");
            assertTrue(name.startsWith(m + "-" + run + "@"), name);
            published.add(name);
            JsonPath info = given().get("/v1/adapters/" + name.substring(0, name.indexOf('@'))).then().statusCode(200)
                    .extract().jsonPath();
            assertEquals(peftTypes.get(m), info.getString("versions[0].peft_type"), m);
            JsonPath completion = given().contentType(ContentType.JSON)
                    .body("{\"model\": \"" + name + "\", \"prompt\": \"Q: violin\\nA:\", \"max_tokens\": 3, \"temperature\": 0}")
                    .when().post("/v1/completions").then().statusCode(200).extract().jsonPath();
            assertEquals(name, completion.getString("model"));
            assertFalse(completion.getList("choices").isEmpty());
            System.out.printf("%s job %s -> %s: '%s'%n", m, jobIds.get(i), name, completion.getString("choices[0].text"));
        }
    }
}
