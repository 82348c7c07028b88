package io.loragate.api;

import static io.loragate.api.ReliabilitySupport.await;
import static io.loragate.api.ReliabilitySupport.awaitIdle;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.engine.Engine;
import io.loragate.engine.EngineService;
import io.loragate.runtime.ResidentModel;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The gauges that the Kubernetes Gateway API Inference Extension's endpoint picker scrapes from a
 * model server ({@code vllm:num_requests_waiting}, {@code vllm:num_requests_running},
 * {@code vllm:kv_cache_usage_perc} and {@code vllm:lora_requests_info}) read what the engine holds:
 * with a batch of 2 and three long streams, 2 running, 1 waiting, the KV cache full (1.0) and the
 * adapter listed as running and waiting, and as resident in {@code loragate_adapter_resident_info}; all back
 * to 0 once the clients leave.
 */
@QuarkusTest
@TestProfile(ReliabilityProfile.class)
class VllmGaugesTest {

    static final String ADAPTER = "vllm-" + ReliabilitySupport.RUN;

    @Inject
    ResidentModel resident;

    @Inject
    EngineService engines;

    @TestHTTPResource("/")
    URL root;

    /** Opens a streaming completion on a raw socket (closing it cancels the request). */
    Socket stream(boolean awaitFirstToken) throws Exception {
        Socket socket = new Socket(root.getHost(), root.getPort());
        byte[] body = ReliabilitySupport.body(ADAPTER, 200, true).getBytes(StandardCharsets.UTF_8);
        OutputStream out = socket.getOutputStream();
        out.write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Accept: text/event-stream\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(body);
        out.flush();
        if (awaitFirstToken) {
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            String line = in.readLine();
            while (line != null && !line.startsWith("data: {")) {
                line = in.readLine();
            }
            assertTrue(line != null, "the stream answered a token");
        }
        return socket;
    }

    static double value(String metrics, String name) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "(\\{[^}]*\\})? (\\S+)$").matcher(metrics);
        assertTrue(m.find(), "no sample of " + name);
        return Double.parseDouble(m.group(2));
    }

    static String scrape() {
        return given().get("/q/metrics").then().statusCode(200).extract().asString();
    }

    @Test
    void theVllmGaugesFollowTheRunningAndWaitingRequests() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
        ReliabilitySupport.register(ADAPTER, "adapter0");
        Engine engine = engines.engine();
        awaitIdle(engine);
        String idle = scrape();
        assertTrue(idle.contains("# TYPE vllm:num_requests_waiting gauge"), "a gauge");
        assertTrue(idle.contains("# TYPE vllm:kv_cache_usage_perc gauge"), "a gauge");
        assertEquals(0.0, value(idle, "vllm:num_requests_waiting"));
        assertEquals(0.0, value(idle, "vllm:num_requests_running"));
        assertEquals(0.0, value(idle, "vllm:kv_cache_usage_perc"));

        List<Socket> clients = new ArrayList<>();
        try {
            for (int i = 0; i < ReliabilityProfile.MAX_BATCH; i++) {
                clients.add(stream(true));
            }
            clients.add(stream(false)); // no free row: it waits
            await(() -> engine.running() == ReliabilityProfile.MAX_BATCH && engine.waiting() == 1, 10_000,
                    "two running and one waiting: running " + engine.running() + ", waiting " + engine.waiting());
            String busy = scrape();
            assertEquals(ReliabilityProfile.MAX_BATCH, value(busy, "vllm:num_requests_running"), busy);
            assertEquals(1.0, value(busy, "vllm:num_requests_waiting"));
            assertEquals(1.0, value(busy, "vllm:kv_cache_usage_perc"), "every KV-cache row holds a sequence");
            assertEquals(1.0, value(busy, "vllm:gpu_cache_usage_perc"), "the older name says the same");
            Matcher info = Pattern.compile("(?m)^vllm:lora_requests_info\\{([^}]*)\\}").matcher(busy);
            assertTrue(info.find(), "the LoRA info gauge: " + busy.lines().filter(l -> l.contains("lora")).toList());
            assertTrue(info.group(1).contains("max_lora=\"" + ReliabilityProfile.MAX_BATCH + "\""), info.group(1));
            assertTrue(info.group(1).matches(".*running_lora_adapters=\"[^\"]*" + ADAPTER + ".*"), info.group(1));
            assertTrue(busy.lines().anyMatch(l -> l.startsWith("loragate_adapter_resident_info{") && l.contains("adapter=\"" + ADAPTER + "\"")
                    && l.contains("version=\"1\"") && l.endsWith(" 1.0")), "the replica lists the adapter it holds: "
                    + busy.lines().filter(l -> l.startsWith("loragate_adapter_resident_info")).toList());
        } finally {
            for (Socket s : clients) {
                s.close();
            }
        }
        awaitIdle(engine);
        String after = scrape();
        assertEquals(0.0, value(after, "vllm:num_requests_running"));
        assertEquals(0.0, value(after, "vllm:num_requests_waiting"));
        assertEquals(0.0, value(after, "vllm:kv_cache_usage_perc"));
    }
}
