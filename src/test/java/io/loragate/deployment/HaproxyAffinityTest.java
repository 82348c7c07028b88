package io.loragate.deployment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.loragate.DebianPackages;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The shipped HAProxy configuration ({@code deployment/haproxy/haproxy.cfg}) routes as documented,
 * run by a real HAProxy in front of three stand-in replicas (small HTTP servers that answer which
 * replica they are and a health endpoint): a request naming an adapter (the JSON body's
 * {@code model}, or the {@code x-loragate-adapter} header) always reaches the same replica, whatever
 * its version suffix; the base model goes round-robin; a hot adapter's concurrent requests spill to a
 * second replica (bounded load); a replica that fails its health check moves only its own adapters.
 * The routing is HAProxy's; the stand-ins keep the test about the configuration, not about models.
 */
class HaproxyAffinityTest {

    static final String BASE = "tiny-llama";
    static final Pattern MODEL = Pattern.compile("\"model\"\\s*:\\s*\"([^\"]*)\"");

    static final class Replica {
        final String name;
        final HttpServer server;
        final AtomicBoolean ready = new AtomicBoolean(true);
        final AtomicInteger healthChecks = new AtomicInteger();
        final AtomicInteger hotInFlight = new AtomicInteger();
        final Map<String, AtomicInteger> served = new ConcurrentHashMap<>();

        Replica(String name, CountDownLatch hotGate) throws IOException {
            this.name = name;
            this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 200);
            server.setExecutor(Executors.newCachedThreadPool());
            server.createContext("/q/health/ready", ex -> {
                healthChecks.incrementAndGet();
                byte[] body = (ready.get() ? "UP" : "DOWN").getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(ready.get() ? 200 : 503, body.length);
                ex.getResponseBody().write(body);
                ex.close();
            });
            server.createContext("/v1/", ex -> {
                String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
                Matcher m = MODEL.matcher(body);
                String model = m.find() ? m.group(1) : "";
                served.computeIfAbsent(model, k -> new AtomicInteger()).incrementAndGet();
                if (model.startsWith("hot")) { // held open so that requests overlap (bounded load)
                    hotInFlight.incrementAndGet();
                    try {
                        hotGate.await(60, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                byte[] out = ("{\"replica\":\"" + this.name + "\"}").getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().add("Content-Type", "application/json");
                ex.sendResponseHeaders(200, out.length);
                ex.getResponseBody().write(out);
                ex.close();
            });
            server.start();
        }

        String address() {
            return "127.0.0.1:" + server.getAddress().getPort();
        }
    }

    static final CountDownLatch hotGate = new CountDownLatch(1);
    static final List<Replica> replicas = new ArrayList<>();
    static Process haproxy;
    static URI lb;
    static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @BeforeAll
    static void start() throws Exception {
        Path bin = DebianPackages.require("haproxy", "haproxy");
        for (int i = 1; i <= 3; i++) {
            replicas.add(new Replica("replica" + i, hotGate));
        }
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        ProcessBuilder pb = new ProcessBuilder(bin.toString(), "-db", "-f", "deployment/haproxy/haproxy.cfg")
                .redirectErrorStream(true).redirectOutput(Path.of("target", "haproxy-affinity-test.log").toFile());
        pb.environment().put("LORAGATE_LB_BIND", "127.0.0.1:" + port);
        pb.environment().put("LORAGATE_BASE_MODEL_ID", BASE);
        for (int i = 0; i < 3; i++) {
            pb.environment().put("LORAGATE_REPLICA_" + (i + 1), replicas.get(i).address());
        }
        haproxy = pb.start();
        lb = URI.create("http://127.0.0.1:" + port);
        awaitAllUp();
    }

    /** HAProxy marks a server up after 2 passing checks ("rise 2"): wait for a few more on every replica. */
    static void awaitAllUp() throws InterruptedException {
        int[] base = replicas.stream().mapToInt(r -> r.healthChecks.get()).toArray();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        for (int i = 0; i < replicas.size(); i++) {
            while (replicas.get(i).healthChecks.get() < base[i] + 8) { // 4 backends check each replica
                assertTrue(haproxy.isAlive(), "haproxy exited; see target/haproxy-affinity-test.log");
                assertTrue(System.nanoTime() < deadline, "HAProxy does not health-check " + replicas.get(i).name);
                Thread.sleep(50);
            }
        }
    }

    @AfterAll
    static void stop() {
        hotGate.countDown();
        if (haproxy != null) {
            haproxy.destroyForcibly();
        }
        replicas.forEach(r -> r.server.stop(0));
    }

    static String post(String model, String adapterHeader, String key) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(lb.resolve("/v1/completions")).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").header("Authorization", "Bearer " + key)
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"" + model + "\", \"prompt\": \"hi\", \"max_tokens\": 1}"));
        if (adapterHeader != null) {
            b.header("x-loragate-adapter", adapterHeader);
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        Matcher m = Pattern.compile("\"replica\":\"([^\"]+)\"").matcher(r.body());
        assertTrue(m.find(), r.body());
        return m.group(1);
    }

    /** Where each of 40 adapters lands (asserting every one of 3 requests lands on the same replica). */
    static Map<String, String> placement(String key) throws Exception {
        Map<String, String> where = new HashMap<>();
        for (int a = 0; a < 40; a++) {
            String name = "adapter-" + a;
            Set<String> seen = new HashSet<>();
            for (int i = 0; i < 3; i++) {
                seen.add(post(name + "@" + (i + 1), null, key)); // versions @1, @2, @3 of one adapter
            }
            assertEquals(1, seen.size(), name + " (all versions) reached " + seen);
            where.put(name, seen.iterator().next());
        }
        return where;
    }

    @Test
    void anAdapterAndAllItsVersionsReachOneReplicaAndAdaptersSpreadOverAll() throws Exception {
        Map<String, String> where = placement("tenant-a-key");
        assertEquals(3, new HashSet<>(where.values()).size(), "40 adapters over 3 replicas: " + where);
        assertEquals(where, placement("tenant-a-key"), "the same placement the second time");
        // the header names the adapter for clients whose body HAProxy cannot read (gRPC)
        assertEquals(where.get("adapter-7"), post("not-in-the-hash", "adapter-7", "tenant-a-key"));
        // another tenant's "adapter-N" hashes independently: not the same placement for all 40
        assertNotEquals(where, placement("tenant-b-key"), "the caller's key is part of the hash key");
    }

    @Test
    void theBaseModelGoesRoundRobin() throws Exception {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 6; i++) {
            seen.add(post(BASE, null, "tenant-a-key"));
        }
        assertEquals(3, seen.size(), "6 base-model requests over 3 replicas: " + seen);
    }

    @Test
    void aHotAdaptersConcurrentRequestsSpillToASecondReplica() throws Exception {
        String home = post("warm-up", null, "k"); // any request, to be sure routing works
        assertTrue(home.startsWith("replica"));
        ExecutorService pool = Executors.newFixedThreadPool(12);
        try {
            List<Future<String>> answers = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                answers.add(pool.submit(() -> post("hot-adapter", null, "k")));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (replicas.stream().mapToInt(r -> r.hotInFlight.get()).sum() < 12) {
                assertTrue(System.nanoTime() < deadline, "12 concurrent hot requests never all reached a replica");
                Thread.sleep(20);
            }
            long holding = replicas.stream().filter(r -> r.hotInFlight.get() > 0).count();
            assertTrue(holding >= 2, "bounded load spreads 12 concurrent requests of one adapter: "
                    + replicas.stream().map(r -> r.name + "=" + r.hotInFlight.get()).toList());
            int max = replicas.stream().mapToInt(r -> r.hotInFlight.get()).max().orElse(0);
            assertTrue(max <= 8, "no replica holds more than 1.5x the average (plus one): " + max);
            hotGate.countDown();
            for (Future<String> f : answers) {
                assertTrue(f.get(60, TimeUnit.SECONDS).startsWith("replica"));
            }
        } finally {
            hotGate.countDown();
            pool.shutdownNow();
        }
    }

    @Test
    void aReplicaThatFailsItsHealthCheckMovesOnlyItsOwnAdapters() throws Exception {
        Map<String, String> before = placement("tenant-c-key");
        Replica down = replicas.get(1);
        down.ready.set(false);
        try {
            int checks = down.healthChecks.get();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (down.healthChecks.get() < checks + 12) { // "fall 2" on each of its 4 backends, and then some
                assertTrue(System.nanoTime() < deadline, "no health checks on the failed replica");
                Thread.sleep(50);
            }
            Map<String, String> after = placement("tenant-c-key");
            for (Map.Entry<String, String> e : before.entrySet()) {
                if (e.getValue().equals(down.name)) {
                    assertNotEquals(down.name, after.get(e.getKey()), e.getKey() + " still routed to the failed replica");
                } else {
                    assertEquals(e.getValue(), after.get(e.getKey()), e.getKey() + " moved though its replica is up");
                }
            }
        } finally {
            down.ready.set(true);
            awaitAllUp();
        }
        assertEquals(before, placement("tenant-c-key"), "back where they were once the replica is healthy again");
    }
}
