package io.loragate.api;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.config.LoragateConfig;
import io.loragate.runtime.ResidentModel;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Adapter files corrupted on disk after registration — one truncated, one with a single bit flipped
 * — are caught by the SHA-256 stored at registration when they are loaded: only that version turns
 * {@code errored} (500 {@code data_loss}, listed with its error, cannot be made active), while
 * another version of the same name and every other adapter keep serving the same tokens as before.
 */
@QuarkusTest
@TestProfile(ReliabilityProfile.class)
class CorruptedAdapterTest {

    @Inject
    ResidentModel resident;

    @Inject
    LoragateConfig config;

    static String tokens(String model) {
        Response r = given().contentType(ContentType.JSON)
                .body("{\"model\": \"" + model + "\", \"prompt\": \"Transfer learning\", \"max_tokens\": 6, \"temperature\": 0,"
                        + " \"return_token_ids\": true}")
                .post("/v1/completions");
        assertEquals(200, r.statusCode(), model + ": " + r.asString());
        return r.jsonPath().getList("choices[0].token_ids").toString();
    }

    static void assertDataLoss(String model, String what) {
        Response r = given().contentType(ContentType.JSON).body(ReliabilitySupport.body(model, 4, false)).post("/v1/completions");
        assertEquals(500, r.statusCode(), what + ": " + r.asString());
        assertEquals("data_loss", r.jsonPath().getString("error.code"), r.asString());
        assertTrue(r.jsonPath().getString("error.message").contains("sha256"), r.asString());
    }

    Path weights(String name, int version) {
        return config.dataDir().resolve("adapters/default").resolve(name).resolve(Integer.toString(version))
                .resolve("adapter_model.safetensors");
    }

    @Test
    void aTruncatedAndABitFlippedVersionFailAloneWhileEverythingElseServes() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
        String healthy = "healthy-" + ReliabilitySupport.RUN;
        String truncated = "truncated-" + ReliabilitySupport.RUN;
        String flipped = "flipped-" + ReliabilitySupport.RUN;
        ReliabilitySupport.register(healthy, "adapter1");
        ReliabilitySupport.register(truncated, "adapter0");
        ReliabilitySupport.register(flipped, "adapter0");
        ReliabilitySupport.register(flipped, "adapter1"); // flipped@2 stays whole
        String healthyTokens = tokens(healthy);
        String flipped2Tokens = tokens(flipped + "@2");
        String baseTokens = tokens("tiny-llama");
        // flipped@1 and truncated@1 are served once (resident), then dropped from the cache, as after a restart
        tokens(truncated);
        tokens(flipped);
        given().post("/v1/adapters/" + truncated + "/unload").then().statusCode(200);
        given().post("/v1/adapters/" + flipped + "/unload?version=1").then().statusCode(200);

        try (FileChannel f = FileChannel.open(weights(truncated, 1), StandardOpenOption.WRITE)) {
            f.truncate(f.size() / 2);
        }
        try (RandomAccessFile f = new RandomAccessFile(weights(flipped, 1).toFile(), "rw")) {
            long at = f.length() / 2; // inside the tensors' data
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0x01);
        }

        for (int round = 0; round < 3; round++) { // the second time from the errored state, without reading the file
            assertDataLoss(truncated, "truncated");
            assertDataLoss(flipped, "bit-flipped");
            assertDataLoss(flipped + "@1", "bit-flipped, by version");
            assertEquals(healthyTokens, tokens(healthy), "another adapter");
            assertEquals(flipped2Tokens, tokens(flipped + "@2"), "another version of the same name");
            assertEquals(baseTokens, tokens("tiny-llama"), "the base");
        }
        for (String name : List.of(truncated, flipped)) {
            JsonPath a = given().get("/v1/adapters/" + name).then().statusCode(200).extract().jsonPath();
            assertEquals("errored", a.getString("versions.find { it.version == 1 }.state"), a.prettify());
            assertTrue(a.getString("versions.find { it.version == 1 }.error").contains("sha256"), a.prettify());
        }
        JsonPath f = given().get("/v1/adapters/" + flipped).then().extract().jsonPath();
        assertEquals("ready", f.getString("versions.find { it.version == 2 }.state"), f.prettify());
        assertEquals("ready", given().get("/v1/adapters/" + healthy).then().extract().jsonPath().getString("versions[0].state"));
        // an errored version cannot become active; the whole one can, and serves
        given().contentType(ContentType.JSON).body("{\"version\": 2}").put("/v1/adapters/" + flipped + "/active").then().statusCode(200);
        given().contentType(ContentType.JSON).body("{\"version\": 1}").put("/v1/adapters/" + flipped + "/active").then().statusCode(400);
        assertEquals(flipped2Tokens, tokens(flipped));
    }
}
