package io.loragate.cli;

import com.fasterxml.jackson.databind.JsonNode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.AuthProfile;
import io.loragate.runtime.ResidentModel;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.net.URL;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The CLI against the gateway with authentication on (tiny-llama, a decoder): tenants with the admin
 * key, then as the tenant (its key from the environment) streamed completions and chat, and adapter
 * registration from a PEFT folder with activate, pin, unpin and delete; wrong keys give the server's
 * message.
 */
@QuarkusTest
@TestProfile(AuthProfile.class)
class CliTenantsTest {

    static final String ADAPTER = "src/test/resources/fixtures/hf/tiny-llama/adapter0";

    @Inject
    ResidentModel resident;

    @TestHTTPResource("/")
    URL root;

    @BeforeEach
    void ready() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
    }

    CliRun as(String key, String... args) {
        return CliRun.run(Map.of("LORAGATE_URL", root.toString(), "LORAGATE_API_KEY", key), false, args);
    }

    CliRun ok(String key, String... args) {
        CliRun r = as(key, args);
        assertEquals(0, r.code(), String.join(" ", args) + "\n" + r);
        return r;
    }

    @Test
    void tenantsThenServingAndAdaptersAsTheTenant() throws Exception {
        String admin = AuthProfile.ADMIN_KEY;
        String tenant = AuthProfile.uniqueTenant("cli");
        CliRun created = ok(admin, "tenants", "create", tenant, "--quota", "requests_per_second=50");
        assertTrue(created.out().contains("created tenant " + tenant), created.toString());
        String key = created.out().substring(created.out().indexOf("api key (shown this once): ") + 27).strip();
        assertTrue(key.startsWith("lg-"), created.toString());
        assertTrue(ok(admin, "tenants", "list").out().matches("(?s).*" + tenant + "\\s+\\S+\\s+requests_per_second=50.0.*"));
        assertTrue(ok(admin, "tenants", "show", tenant).out().matches("(?s).*requests_per_second\\s+50.*"));
        // LORAGATE_ADMIN_KEY is preferred for tenants only
        CliRun viaAdminEnv = CliRun.run(Map.of("LORAGATE_URL", root.toString(), "LORAGATE_API_KEY", key, "LORAGATE_ADMIN_KEY", admin),
                false, "tenants", "list", "-o", "json");
        assertEquals(0, viaAdminEnv.code(), viaAdminEnv.toString());
        assertEquals("list", viaAdminEnv.json().path("object").asText());

        // a tenant's key on the admin API, and a wrong key: the server's messages, exit 3
        CliRun forbidden = as(key, "tenants", "list");
        assertEquals(ExitCodes.CLIENT_ERROR, forbidden.code(), forbidden.toString());
        assertTrue(forbidden.err().contains("(HTTP 403)"), forbidden.toString());
        CliRun wrong = as("lg-nope-nope", "models");
        assertEquals(ExitCodes.CLIENT_ERROR, wrong.code(), wrong.toString());
        assertTrue(wrong.err().startsWith("error: ") && wrong.err().contains("(HTTP 401)"), wrong.toString());
        assertFalse(wrong.err().contains("Exception"), wrong.toString());

        assertTrue(ok(key, "models").out().matches("(?s).*tiny-llama\\s+base.*"));

        // a streamed completion: the text arrives in several pieces, and equals the whole answer (greedy)
        CliRun streamed = ok(key, "complete", "-m", "tiny-llama", "--max-tokens", "8", "Once", "upon", "a", "time");
        assertTrue(streamed.flushes().size() >= 3, "tokens printed as they came: " + streamed.flushes());
        assertTrue(streamed.err().matches("\\[tiny-llama, finish: (length|stop)\\]\\s*"), streamed.toString());
        CliRun whole = ok(key, "complete", "-m", "tiny-llama", "--max-tokens", "8", "--no-stream", "Once upon a time");
        assertEquals(whole.out(), streamed.out());
        int tokens = ok(key, "complete", "-m", "tiny-llama", "--max-tokens", "8", "Once upon a time", "-o", "json").json()
                .path("usage").path("completion_tokens").asInt();
        assertTrue(tokens >= streamed.flushes().size() - 1 && tokens <= 8, "completion tokens: " + tokens);
        CliRun chat = ok(key, "chat", "-m", "tiny-llama", "--max-tokens", "6", "--system", "Be brief.", "Hi", "there");
        assertTrue(chat.flushes().size() >= 2, chat.toString());
        assertTrue(chat.err().contains("finish: "), chat.toString());
        // a conversation: two more user turns from standard input; each request carries the turns before it
        CliRun conversation = CliRun.runWithInput(Map.of("LORAGATE_URL", root.toString(), "LORAGATE_API_KEY", key), false,
                "And then?\nWhy?\n", "chat", "-m", "tiny-llama", "--max-tokens", "4", "-i", "-o", "json", "Hi");
        assertEquals(0, conversation.code(), conversation.toString());
        List<JsonNode> turns = CliRun.JSON.readerFor(JsonNode.class).<JsonNode>readValues(conversation.out()).readAll();
        assertEquals(3, turns.size(), conversation.toString());
        for (int t = 1; t < 3; t++) {
            JsonNode before = turns.get(t - 1).path("usage");
            assertTrue(turns.get(t).path("usage").path("prompt_tokens").asInt()
                    > before.path("prompt_tokens").asInt() + before.path("completion_tokens").asInt(), conversation.toString());
        }

        // adapters: register a PEFT folder twice (two versions), activate, pin, unpin, delete
        String name = "cli-ad";
        CliRun reg = ok(key, "adapters", "register", ADAPTER, "-n", name);
        assertTrue(reg.out().contains("uploading " + name) && reg.out().contains("registered " + name + "@1 (LORA"), reg.toString());
        assertEquals(name + "@2", ok(key, "adapters", "register", ADAPTER, "-n", name, "-o", "json").json().path("id").asText());
        assertTrue(ok(key, "adapters", "activate", name, "2").out().contains("now serves " + name + "@2"));
        CliRun bad = as(key, "adapters", "activate", name, "7");
        assertEquals(ExitCodes.CLIENT_ERROR, bad.code(), bad.toString());
        assertTrue(ok(key, "adapters", "pin", name, "--version", "1").out().contains("pinned " + name + "@1"));
        assertTrue(ok(key, "adapters", "show", name).out().matches("(?s).*" + name + "@1\\s+ready\\s+yes.*"));
        ok(key, "adapters", "unpin", name, "--version", "1");
        assertTrue(ok(key, "complete", "-m", name, "--max-tokens", "4", "hello").err().contains("[" + name + "@2, finish"));
        CliRun del = ok(key, "adapters", "delete", name, "--all");
        assertTrue(del.out().contains("deleted " + name + "@1\ndeleted " + name + "@2"), del.toString());
        assertEquals(0, ok(key, "adapters", "list", "-o", "json").json().path("data").size());

        assertTrue(ok(admin, "tenants", "delete", tenant).out().contains("deleted tenant " + tenant));
        CliRun after = as(key, "models");
        assertEquals(ExitCodes.CLIENT_ERROR, after.code(), after.toString());
    }
}
