package io.loragate.api.rest;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.notNullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.Fixtures;
import io.loragate.TinyLlamaProfile;
import io.loragate.runtime.ResidentModel;
import io.loragate.model.safetensors.SafetensorsFile;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** /v1/completions over real HTTP against the tiny-llama fixture as base. */
@QuarkusTest
@TestProfile(TinyLlamaProfile.class)
class CompletionsRestTest {

    static final String PROMPT0 = "Transfer learning isn't magic; it's thrift.";

    @Inject
    ResidentModel resident;

    @BeforeEach
    void ready() throws Exception {
        resident.whenLoaded().get(60, TimeUnit.SECONDS);
        for (int i = 0; i < 100 && given().get("/q/health/ready").statusCode() != 200; i++) {
            Thread.sleep(50);
        }
    }

    /** Mistakes a client can fix get a body saying what to send: the model first, the content type, a strict version. */
    @Test
    void mistakesAnswerWithWhatToSend() {
        // the model is resolved before any length check: an unknown id is "not found", whatever max_tokens says
        given().contentType(ContentType.JSON)
                .body("{\"model\": \"no-such-adapter\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 100000}")
                .post("/v1/chat/completions").then().statusCode(404).body("error.type", equalTo("not_found_error"));
        given().contentType(ContentType.JSON).body("{\"model\": \"no-such-adapter\", \"prompt\": \"hi\", \"max_tokens\": 100000, \"stream\": true}")
                .post("/v1/completions").then().statusCode(404).body("error.type", equalTo("not_found_error"));
        // 415 names the content type to send
        given().contentType("text/plain").body("hello").post("/v1/completions").then().statusCode(415)
                .body("error.message", containsString("'text/plain")).body("error.message", containsString("application/json"));
        // activating a version: an integer from 1, nothing else (1.5 used to activate version 1; "x@1" answered an empty 400)
        for (String bad : List.of("1.5", "\"x@1\"", "0", "true")) {
            given().contentType(ContentType.JSON).body("{\"version\": " + bad + "}").put("/v1/adapters/anything/active")
                    .then().statusCode(400).body("error.param", equalTo("version"));
        }
        given().contentType(ContentType.JSON).body("{\"versoin\": 1}").put("/v1/adapters/anything/active")
                .then().statusCode(400).body("error.message", containsString("did you mean 'version'?"));
    }

    static long[] expectedGreedy(String key) {
        try (SafetensorsFile ref = Fixtures.reference("tiny-llama")) {
            long[] g = ref.readLongs(key);
            int end = g.length;
            for (int i = 0; i < g.length; i++) {
                if (g[i] == 2) { // HF keeps the EOS it stopped at; we do not return it
                    end = i;
                    break;
                }
            }
            return Arrays.copyOf(g, end);
        }
    }

    static long[] longs(List<Integer> l) {
        return l.stream().mapToLong(Integer::longValue).toArray();
    }

    @Test
    void greedyCompletionReturnsTheFixtureTokensWithTokenIdsAndUsage() {
        var r = given().contentType(ContentType.JSON)
                .body("{\"model\":\"tiny-llama\",\"prompt\":\"" + PROMPT0.replace("'", "'") + "\",\"max_tokens\":12,\"temperature\":0,\"return_token_ids\":true,\"logprobs\":1}")
                .post("/v1/completions").then().statusCode(200)
                .body("object", equalTo("text_completion"))
                .body("model", equalTo("tiny-llama"))
                .body("choices[0].finish_reason", notNullValue())
                .extract().jsonPath();
        long[] tokens = longs(r.getList("choices[0].token_ids", Integer.class));
        assertEquals(Arrays.toString(expectedGreedy("p0.base.greedy")), Arrays.toString(tokens));
        try (SafetensorsFile ref = Fixtures.reference("tiny-llama")) {
            assertEquals(Arrays.toString(ref.readLongs("p0.input_ids")), Arrays.toString(longs(r.getList("choices[0].prompt_token_ids", Integer.class))));
        }
        assertEquals(tokens.length, r.getInt("usage.completion_tokens"));
        assertEquals(r.getInt("usage.prompt_tokens") + tokens.length, r.getInt("usage.total_tokens"));
        List<Float> lp = r.getList("choices[0].logprobs.token_logprobs", Float.class);
        assertEquals(tokens.length, lp.size());
        assertTrue(lp.stream().allMatch(x -> x <= 0));
    }

    @Test
    void streamingSendsServerSentEventsEndingWithDoneAndTheSameTokens() {
        String sse = given().contentType(ContentType.JSON)
                .body("{\"model\":\"tiny-llama\",\"prompt\":\"" + PROMPT0 + "\",\"max_tokens\":12,\"temperature\":0,\"stream\":true,\"return_token_ids\":true}")
                .post("/v1/completions").then().statusCode(200)
                .header("Content-Type", containsString("text/event-stream"))
                .extract().asString();
        List<String> events = new ArrayList<>();
        for (String line : sse.split("\n")) {
            if (line.startsWith("data: ")) {
                events.add(line.substring(6));
            }
        }
        assertEquals("[DONE]", events.get(events.size() - 1));
        List<Long> ids = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        for (String e : events.subList(0, events.size() - 1)) {
            var j = io.restassured.path.json.JsonPath.from(e);
            ids.addAll(j.getList("choices[0].token_ids", Long.class));
            text.append(j.getString("choices[0].text"));
        }
        assertEquals(Arrays.toString(expectedGreedy("p0.base.greedy")), ids.toString());
        String whole = given().contentType(ContentType.JSON)
                .body("{\"model\":\"tiny-llama\",\"prompt\":\"" + PROMPT0 + "\",\"max_tokens\":12,\"temperature\":0}")
                .post("/v1/completions").then().statusCode(200).extract().path("choices[0].text");
        assertEquals(whole, text.toString());
    }

    @Test
    void promptArraysGiveOneChoicePerPromptAndSeedsRepeat() {
        String body = "{\"model\":\"tiny-llama\",\"prompt\":[\"the software\",\"Permission is hereby granted, free of charge,\"],"
                + "\"max_tokens\":8,\"temperature\":0.9,\"top_p\":0.9,\"seed\":7}";
        var a = given().contentType(ContentType.JSON).body(body).post("/v1/completions").then().statusCode(200).extract().jsonPath();
        var b = given().contentType(ContentType.JSON).body(body).post("/v1/completions").then().statusCode(200).extract().jsonPath();
        assertEquals(2, a.getList("choices").size());
        assertEquals(a.getString("choices[0].text"), b.getString("choices[0].text"));
        assertEquals(a.getString("choices[1].text"), b.getString("choices[1].text"));
        assertEquals(1, a.getInt("choices[1].index"));
    }

    @Test
    void badRequestsAnswerWithOpenAiErrorsAndTheServerKeepsServing() {
        record Case(String body, int status, String param, String messagePart) {
        }
        List<Case> cases = List.of(
                new Case("{\"model\":\"tiny-llama\",\"prompt\":\"x\",\"max_tokens\":0}", 400, "max_tokens", "at least 1"),
                new Case("{\"model\":\"tiny-llama\",\"prompt\":\"x\",\"max_tokens\":100000}", 400, "max_tokens", "limit"),
                new Case("{\"model\":\"tiny-llama\",\"prompt\":\"x\",\"temperature\":-1}", 400, "temperature", ">= 0"),
                new Case("{\"model\":\"tiny-llama\",\"prompt\":\"\"}", 400, "prompt", "empty"),
                new Case("{\"model\":\"tiny-llama\"}", 400, "prompt", "required"),
                new Case("{\"prompt\":\"x\"}", 400, "model", "required"),
                new Case("{\"model\":\"no-such-adapter\",\"prompt\":\"x\"}", 404, null, "no-such-adapter"),
                new Case("{\"model\":\"tiny-llama\",\"prompt\":\"" + "word ".repeat(300) + "\",\"max_tokens\":10}", 400, "max_tokens", "context"),
                new Case("{\"model\":\"tiny-llama\",\"prompt\":\"x\",\"n\":2}", 400, "n", "n = 1"));
        for (Case c : cases) {
            var r = given().contentType(ContentType.JSON).body(c.body()).post("/v1/completions").then()
                    .statusCode(c.status()).extract().jsonPath();
            assertTrue(r.getString("error.message").contains(c.messagePart()), c.body() + " → " + r.getString("error.message"));
            assertEquals(c.param(), r.getString("error.param"), c.body());
            assertTrue(r.getString("error.type") != null);
        }
        given().contentType(ContentType.JSON).body("{\"model\": \"tiny-llama\", \"prompt\": ").post("/v1/completions")
                .then().statusCode(400).body("error.message", containsString("JSON"));
        given().contentType(ContentType.TEXT).body("hello").post("/v1/completions")
                .then().statusCode(415).body("error.type", equalTo("invalid_request_error"));
        given().contentType(ContentType.JSON).body("{\"model\":\"tiny-llama\",\"input\":\"x\"}").post("/v1/classifications")
                .then().statusCode(400).body("error.message", containsString("decoder"));
        // still serving
        given().contentType(ContentType.JSON).body("{\"model\":\"tiny-llama\",\"prompt\":\"the software\",\"max_tokens\":2}")
                .post("/v1/completions").then().statusCode(200);
    }

    @Test
    void chatCompletionsRenderTheFallbackTemplateAndStream() {
        String completion = given().contentType(ContentType.JSON)
                .body("{\"model\":\"tiny-llama\",\"prompt\":\"User: the software\\nAssistant:\",\"max_tokens\":8,\"temperature\":0}")
                .post("/v1/completions").then().statusCode(200).extract().path("choices[0].text");
        given().contentType(ContentType.JSON)
                .body("{\"model\":\"tiny-llama\",\"messages\":[{\"role\":\"user\",\"content\":\"the software\"}],\"max_tokens\":8,\"temperature\":0}")
                .post("/v1/chat/completions").then().statusCode(200)
                .body("object", equalTo("chat.completion"))
                .body("choices[0].message.role", equalTo("assistant"))
                .body("choices[0].message.content", equalTo(completion));
        String sse = given().contentType(ContentType.JSON)
                .body("{\"model\":\"tiny-llama\",\"messages\":[{\"role\":\"user\",\"content\":\"the software\"}],\"max_tokens\":8,\"temperature\":0,\"stream\":true}")
                .post("/v1/chat/completions").then().statusCode(200).extract().asString();
        StringBuilder text = new StringBuilder();
        for (String line : sse.split("\n")) {
            if (line.startsWith("data: {")) {
                var j = io.restassured.path.json.JsonPath.from(line.substring(6));
                assertEquals("chat.completion.chunk", j.getString("object"));
                text.append(j.getString("choices[0].delta.content"));
            }
        }
        assertTrue(sse.trim().endsWith("data: [DONE]"));
        assertEquals(completion, text.toString());
        given().contentType(ContentType.JSON).body("{\"model\":\"tiny-llama\",\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}")
                .post("/v1/chat/completions").then().statusCode(400).body("error.param", equalTo("messages[0].role"));
    }
}
