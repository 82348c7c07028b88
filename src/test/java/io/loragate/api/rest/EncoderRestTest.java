package io.loragate.api.rest;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.model.AdapterHook;
import io.loragate.model.EncoderModel;
import io.loragate.runtime.ResidentModel;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The default gateway (embedded MiniLM): embeddings over REST, and clear errors for what an encoder cannot do. */
@QuarkusTest
class EncoderRestTest {

    @Inject
    ResidentModel resident;

    @BeforeEach
    void ready() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
        for (int i = 0; i < 100 && given().get("/q/health/ready").statusCode() != 200; i++) {
            Thread.sleep(50);
        }
    }

    @Test
    void embeddingsAreTheModelsMeanPooledUnitVectors() {
        List<String> input = List.of("A cat sits on the mat.", "Übermäßig große Äpfel — 很好");
        var r = given().contentType(ContentType.JSON)
                .body("{\"model\":\"all-minilm-l6-v2\",\"input\":[\"A cat sits on the mat.\",\"Übermäßig große Äpfel — 很好\"]}")
                .post("/v1/embeddings").then().statusCode(200)
                .body("object", equalTo("list")).body("data[1].index", equalTo(1))
                .extract().jsonPath();
        EncoderModel model = (EncoderModel) resident.model();
        float[][] expected = model.embed(input.stream().map(s -> resident.tokenizer().encode(s)).toList(),
                EncoderModel.Pooling.MEAN, AdapterHook.NONE);
        for (int i = 0; i < 2; i++) {
            List<Float> got = r.getList("data[" + i + "].embedding", Float.class);
            assertEquals(384, got.size());
            double norm = 0;
            for (int k = 0; k < 384; k++) {
                assertEquals(expected[i][k], got.get(k), 1e-6);
                norm += got.get(k) * got.get(k);
            }
            assertEquals(1.0, norm, 1e-4);
        }
        assertTrue(r.getInt("usage.prompt_tokens") > 10);
    }

    @Test
    void modelsListsTheBaseAndAnEncoderRefusesGeneration() {
        given().get("/v1/models").then().statusCode(200).body("data[0].id", equalTo("all-minilm-l6-v2"))
                .body("data[0].object", equalTo("model"));
        given().contentType(ContentType.JSON).body("{\"model\":\"all-minilm-l6-v2\",\"prompt\":\"hello\"}")
                .post("/v1/completions").then().statusCode(400)
                .body("error.message", containsString("encoder")).body("error.code", equalTo("failed_precondition"));
        given().contentType(ContentType.JSON).body("{\"model\":\"all-minilm-l6-v2\",\"input\":\"hello\"}")
                .post("/v1/classifications").then().statusCode(400).body("error.message", containsString("no classification head"));
        given().contentType(ContentType.JSON).body("{\"model\":\"all-minilm-l6-v2\",\"input\":42}")
                .post("/v1/embeddings").then().statusCode(400).body("error.param", equalTo("input"));
    }
}
