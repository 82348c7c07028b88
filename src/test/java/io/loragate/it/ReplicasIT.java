package io.loragate.it;

import static io.loragate.registry.RegistryFixtures.adapter;
import static io.loragate.registry.RegistryFixtures.config;
import static io.loragate.registry.RegistryFixtures.weights;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.loragate.TenantMatrix;
import io.loragate.api.grpc.v1.GenerateRequest;
import io.loragate.api.grpc.v1.GenerateResponse;
import io.loragate.api.grpc.v1.InferenceServiceGrpc;
import io.loragate.postgres.PostgresServer;
import io.restassured.specification.RequestSpecification;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.IntPredicate;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Three packaged gateways (replicas) on one PostgreSQL 15 database and one shared blob folder
 * ({@code loragate.store.url=file:...}), authentication on, started once for every test: what one
 * replica writes, the others serve. A new adapter version is served and listed by the other replicas
 * at once; 200 requests spread over the replicas while the alias switches 10 times on varying
 * replicas all answer exactly the greedy output of the version they name, never one the alias had
 * left before the request was sent; the tenant matrix holds between tenants on different replicas; a
 * rotated or deleted tenant's key stops working on every replica. gRPC (on each replica's HTTP port)
 * likewise: a version registered over REST is served by the first gRPC Generate on the others, and a
 * rotated or deleted key is refused UNAUTHENTICATED by every replica. Propagation delays are measured
 * from the write's answer (each replica polled every 20 ms) and printed; the assertions allow
 * {@link #BOUND} so that they hold on a loaded machine.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReplicasIT {

    static final String ADMIN_KEY = "replicas-it-admin-key-4b8e1d";
    /** What "within 1 s" is asserted as: generous, for a loaded CI machine; the measured delays are printed. */
    static final Duration BOUND = Duration.ofSeconds(10);
    /** A ceiling for waits that normally end within milliseconds; only a failure waits this long. */
    static final Duration PATIENCE = Duration.ofSeconds(120);
    static final long POLL_MILLIS = 20;
    static final int REPLICAS = 3;
    static final int REQUESTS = 200;
    static final int SWITCHES = 10;
    static final int CLIENTS = 6;
    static final String PROMPT = "The software";
    static final int MAX_TOKENS = 8;

    /** One completion: which replica, when it was sent and answered, and what came back (status -1: no answer). */
    record Answer(int replica, long sentNanos, long answeredNanos, int status, String model, String text, String body) {
    }

    /** One alias switch: on which replica, to which version, when it was sent and answered. */
    record Switch(int replica, int version, long sentNanos, long answeredNanos) {
    }

    private final List<Gateway> replicas = new ArrayList<>();
    /** A gRPC channel to each replica (plaintext h2c on its HTTP port). */
    private final List<ManagedChannel> channels = new ArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();
    private final ObjectMapper json = new ObjectMapper();
    /** A thread per replica for each of the two measurements (REST and gRPC) that run at once. */
    private final ExecutorService pollers = Executors.newFixedThreadPool(2 * REPLICAS);
    private final ExecutorService measurements = Executors.newFixedThreadPool(2);
    /** The key of the tenant whose adapters the serving tests publish. */
    private String key;

    @BeforeAll
    void startThreeReplicas() throws Exception {
        String db = PostgresServer.shared().createDatabase("replicas");
        Path root = Files.createTempDirectory(Files.createDirectories(Path.of("target").toAbsolutePath()), "it-replicas-");
        Path store = Files.createDirectories(root.resolve("store"));
        for (int i = 0; i < REPLICAS; i++) {
            replicas.add(new Gateway(Files.createDirectories(root.resolve("replica" + i)),
                    "quarkus.datasource.jdbc.url=" + db, "quarkus.datasource.username=" + PostgresServer.USER,
                    "quarkus.datasource.password=" + PostgresServer.PASSWORD, "loragate.store.url=file:" + store,
                    "loragate.auth.enabled=true", "loragate.auth.admin-key=" + ADMIN_KEY,
                    // what a replica learns during the tests it learns by NOTIFY: the periodic full re-read never runs
                    "loragate.replicas.reconcile-interval=1h"));
        }
        ExecutorService starter = Executors.newFixedThreadPool(REPLICAS);
        try {
            List<Callable<Long>> starts = replicas.stream().map(g -> (Callable<Long>) g::start).toList();
            for (Future<Long> started : starter.invokeAll(starts)) {
                started.get();
            }
        } finally {
            starter.shutdownNow();
        }
        for (Gateway g : replicas) {
            channels.add(ManagedChannelBuilder.forAddress("127.0.0.1", g.port).usePlaintext().build());
        }
        key = createTenantVisibleEverywhere(0, "serving");
        for (int i = 0; i < REPLICAS; i++) {
            // connects each channel, so that the delays measured later do not include that
            assertEquals(Status.Code.OK, grpcStatus(i, key), "gRPC Generate on replica " + i);
        }
    }

    @AfterAll
    void stopReplicas() {
        pollers.shutdownNow();
        measurements.shutdownNow();
        channels.forEach(ManagedChannel::shutdownNow);
        replicas.forEach(Gateway::close);
    }

    @Test
    void aVersionRegisteredOnOneReplicaIsServedAndListedByTheOthersAtOnce() {
        register(0, "fresh", adapter("tiny-llama", 0));
        long registered = System.nanoTime();
        // no retries: the very first request on B and C must find it
        Answer onB = complete(1, "fresh");
        Answer onC = complete(2, "fresh");
        String listed = as(2, key).get("/v1/adapters").then().statusCode(200).extract().asString();
        String models = as(2, key).get("/v1/models").then().statusCode(200).extract().asString();
        long listedAt = System.nanoTime();
        for (Answer a : List.of(onB, onC)) {
            assertEquals(200, a.status(), "replica " + a.replica() + ": " + a.body());
            assertEquals("fresh@1", a.model(), a.body());
        }
        assertTrue(listed.contains("\"fresh\""), listed);
        assertTrue(models.contains("\"fresh\""), models);
        Answer onA = complete(0, "fresh");
        assertEquals(onA.text(), onB.text(), "one blob, one greedy output on every replica");
        assertEquals(onA.text(), onC.text(), "one blob, one greedy output on every replica");
        System.out.printf("ReplicasIT: registered on A; served on B after %d ms, on C after %d ms, listed on C after %d ms%n",
                millis(onB.answeredNanos() - registered), millis(onC.answeredNanos() - registered), millis(listedAt - registered));
    }

    @Test
    void aVersionRegisteredOverRestOnOneReplicaIsServedByGrpcGenerateOnTheOthersAtOnce() {
        register(0, "fresh-grpc", adapter("tiny-llama", 1));
        long registered = System.nanoTime();
        // no retries: the very first gRPC call on B and C must find it
        GenerateResponse onB = generate(1, key, "fresh-grpc");
        long onBAt = System.nanoTime();
        GenerateResponse onC = generate(2, key, "fresh-grpc");
        long onCAt = System.nanoTime();
        assertEquals("fresh-grpc@1", onB.getModel());
        assertEquals("fresh-grpc@1", onC.getModel());
        Answer onA = complete(0, "fresh-grpc");
        assertEquals(200, onA.status(), onA.body());
        assertEquals(onA.text(), onB.getText(), "one blob, one greedy output on every replica and both APIs");
        assertEquals(onA.text(), onC.getText(), "one blob, one greedy output on every replica and both APIs");
        System.out.printf("ReplicasIT: registered on A over REST; gRPC Generate served it on B after %d ms, on C after %d ms%n",
                millis(onBAt - registered), millis(onCAt - registered));
    }

    @Test
    void whileTheAliasSwitchesOnVaryingReplicasEveryAnswerIsTheGreedyOutputOfTheVersionItNames() throws Exception {
        Map<String, String> expected = publishTwoVersions("switching");
        AtomicInteger completed = new AtomicInteger();
        AtomicInteger switched = new AtomicInteger();
        List<Answer> polls = Collections.synchronizedList(new ArrayList<>());
        ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
        List<Future<Answer>> load = new ArrayList<>();
        int perSwitch = REQUESTS / SWITCHES;
        for (int i = 0; i < REQUESTS; i++) {
            int n = i;
            // request n waits for switch n / perSwitch - 1: each switch lands among the requests of its stretch
            load.add(clients.submit(() -> {
                await(() -> switched.get() >= n / perSwitch, "switch " + (n / perSwitch));
                Answer a = complete(n % REPLICAS, "switching");
                completed.incrementAndGet();
                return a;
            }));
        }
        List<Switch> switches = new ArrayList<>();
        List<Long> delays = new ArrayList<>();
        for (int k = 0; k < SWITCHES; k++) {
            int stretch = k * perSwitch + perSwitch / 2;
            await(() -> completed.get() >= stretch, stretch + " answers");
            Switch s = activate(k % REPLICAS, "switching", k % 2 == 0 ? 2 : 1);
            switches.add(s);
            String now = "switching@" + s.version();
            delays.add(delayUntilEveryReplica(s.answeredNanos(), "serves " + now, i -> {
                Answer a = complete(i, "switching");
                polls.add(a);
                return now.equals(a.model());
            }));
            switched.incrementAndGet();
        }
        List<Answer> answers = new ArrayList<>();
        for (Future<Answer> f : load) {
            answers.add(f.get(PATIENCE.toSeconds(), TimeUnit.SECONDS));
        }
        clients.shutdown();
        checkAnswers(expected, switches, answers, polls, delays);
    }

    private void checkAnswers(Map<String, String> expected, List<Switch> switches, List<Answer> answers, List<Answer> polls,
            List<Long> delays) {
        List<String> failures = new ArrayList<>();
        List<Answer> all = new ArrayList<>(answers);
        all.addAll(polls);
        for (Answer a : all) {
            String wrong = wrongness(a, expected, switches);
            if (wrong != null) {
                failures.add("replica " + a.replica() + ": " + wrong);
            }
        }
        long v1 = answers.stream().filter(a -> "switching@1".equals(a.model())).count();
        long v2 = answers.stream().filter(a -> "switching@2".equals(a.model())).count();
        // polls == switches x replicas: each replica's first request after a switch's answer already served the new version
        System.out.printf("ReplicasIT: %d requests over %d replicas, %d switches on replicas %s, %d polls after them: %d failures;"
                + " answers @1=%d @2=%d; after each switch every replica served the new version within (ms) %s, at most %d ms%n",
                answers.size(), REPLICAS, switches.size(), switches.stream().map(Switch::replica).toList(), polls.size(),
                failures.size(), v1, v2, delays, Collections.max(delays));
        assertEquals(List.of(), failures.subList(0, Math.min(10, failures.size())), failures.size() + " failures");
        assertEquals(REQUESTS, v1 + v2);
        assertTrue(v1 > 0 && v2 > 0, "both versions served during the switching: @1=" + v1 + " @2=" + v2);
        delays.forEach(d -> assertTrue(d <= BOUND.toMillis(), "every replica served the new version after " + delays + " ms"));
    }

    /** What is wrong with an answer, or null: not 200, not its version's greedy output, or a version the alias had left before it was sent. */
    static String wrongness(Answer a, Map<String, String> expected, List<Switch> switches) {
        if (a.status() != 200) {
            return "status " + a.status() + ": " + a.body();
        }
        if (!expected.containsKey(a.model()) || !expected.get(a.model()).equals(a.text())) {
            return a.model() + " answered " + a.text() + "; its greedy output is " + expected.get(a.model());
        }
        Set<Integer> possible = versionsActiveDuring(a.sentNanos(), a.answeredNanos(), switches);
        int version = Integer.parseInt(a.model().substring(a.model().indexOf('@') + 1));
        return possible.contains(version) ? null : a.model() + " answered, but the alias was at " + possible + " all along";
    }

    /** The versions the alias named at some moment between {@code sent} and {@code answered} (version 1 before the first switch). */
    static Set<Integer> versionsActiveDuring(long sent, long answered, List<Switch> switches) {
        int before = 1;
        Set<Integer> out = new HashSet<>();
        for (Switch s : switches) {
            if (s.answeredNanos() < sent) {
                before = s.version();
            } else if (s.sentNanos() < answered) {
                out.add(s.version());
            }
        }
        out.add(before);
        return out;
    }

    @Test
    void theTenantMatrixHoldsBetweenTenantsOnDifferentReplicas() {
        String keyA = createTenantVisibleEverywhere(0, "tenant-a");
        String keyB = createTenantVisibleEverywhere(0, "tenant-b");
        // B's adapter, file, job and sweep on replica 1; A's own adapter on replica 2
        TenantMatrix.World w = TenantMatrix.world(() -> as(2, keyA), () -> as(1, keyB));
        for (int replica : List.of(0, 2)) {
            int checked = TenantMatrix.assertForeignIdsAnswerAsUnknown(w, () -> as(replica, keyA));
            TenantMatrix.assertListsHideB(w, () -> as(replica, keyA));
            TenantMatrix.assertBUntouched(w, () -> as(replica, keyB));
            System.out.printf("ReplicasIT: B's things made on replica 1; A on replica %d: %d calls answered as for unknown ids%n",
                    replica, checked);
        }
    }

    @Test
    void aRotatedOrDeletedKeyStopsWorkingOnEveryReplica() throws Exception {
        String old = createTenantVisibleEverywhere(1, "rotating");
        var rotated = call(2, "POST", "/v1/admin/tenants/rotating/rotate", ADMIN_KEY, null);
        long rotatedAt = System.nanoTime();
        assertEquals(200, rotated.statusCode(), rotated.body());
        String fresh = json.readTree(rotated.body()).path("api_key").asText();
        long[] refusedBy = restAndGrpcDelays(rotatedAt, "refuses the rotated key", i -> modelsStatus(i, old) == 401,
                i -> grpcStatus(i, old) == Status.Code.UNAUTHENTICATED);
        long[] worksBy = restAndGrpcDelays(rotatedAt, "accepts the new key", i -> modelsStatus(i, fresh) == 200,
                i -> grpcStatus(i, fresh) == Status.Code.OK);
        long refused = refusedBy[0];
        long grpcRefused = refusedBy[1];
        long works = worksBy[0];
        long grpcWorks = worksBy[1];

        String leaving = createTenantVisibleEverywhere(2, "leaving");
        var deleted = call(0, "DELETE", "/v1/admin/tenants/leaving", ADMIN_KEY, null);
        long deletedAt = System.nanoTime();
        assertEquals(200, deleted.statusCode(), deleted.body());
        long[] goneBy = restAndGrpcDelays(deletedAt, "refuses the deleted tenant's key", i -> modelsStatus(i, leaving) == 401,
                i -> grpcStatus(i, leaving) == Status.Code.UNAUTHENTICATED);
        long gone = goneBy[0];
        long grpcGone = goneBy[1];
        System.out.printf("ReplicasIT: rotated on replica 2: old key refused by every replica after %d ms (gRPC %d ms), new key"
                + " accepted after %d ms (gRPC %d ms); deleted on replica 0: its key refused by every replica after %d ms (gRPC %d ms)%n",
                refused, grpcRefused, works, grpcWorks, gone, grpcGone);
        for (int i = 0; i < REPLICAS; i++) {
            assertEquals(401, modelsStatus(i, old), "the rotated key stays refused on replica " + i);
            assertEquals(401, modelsStatus(i, leaving), "the deleted tenant's key stays refused on replica " + i);
            assertEquals(Status.Code.UNAUTHENTICATED, grpcStatus(i, old), "the rotated key stays refused over gRPC on replica " + i);
            assertEquals(Status.Code.UNAUTHENTICATED, grpcStatus(i, leaving), "the deleted key stays refused over gRPC on replica " + i);
        }
        List<Long> delays = List.of(refused, works, gone, grpcRefused, grpcWorks, grpcGone);
        for (long ms : delays) {
            assertTrue(ms <= BOUND.toMillis(), "revocation reached every replica after " + delays + " ms");
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Helpers

    /** Creates a tenant through replica {@code on}'s admin API and waits until its key works on every replica; answers the key. */
    private String createTenantVisibleEverywhere(int on, String id) {
        String apiKey = replicas.get(on).api().auth().oauth2(ADMIN_KEY).contentType("application/json").body("{\"id\": \"" + id + "\"}")
                .post("/v1/admin/tenants").then().statusCode(200).extract().path("api_key");
        long created = System.nanoTime();
        long ms = delayUntilEveryReplica(created, "accepts tenant " + id + "'s key", i -> modelsStatus(i, apiKey) == 200);
        System.out.printf("ReplicasIT: tenant %s created on replica %d: its key works on every replica after %d ms%n", id, on, ms);
        assertTrue(ms <= BOUND.toMillis(), "a new tenant's key reached every replica after " + ms + " ms");
        return apiKey;
    }

    /** Registers {@code name}'s next version from a PEFT folder through replica {@code on}. */
    private void register(int on, String name, Path folder) {
        as(on, key).multiPart("name", name).multiPart("config", config(folder).toFile(), "application/json")
                .multiPart("weights", weights(folder).toFile(), "application/octet-stream").post("/v1/adapters")
                .then().statusCode(200);
    }

    /** Two versions of {@code name} (on replicas 1 and 2) and the greedy output of each, taken from replica 0 by {@code name@N}. */
    private Map<String, String> publishTwoVersions(String name) {
        register(1, name, adapter("tiny-llama", 0));
        register(2, name, adapter("tiny-llama", 1));
        Answer one = complete(0, name + "@1");
        Answer two = complete(0, name + "@2");
        assertEquals(200, one.status(), one.body());
        assertEquals(200, two.status(), two.body());
        assertNotEquals(one.text(), two.text(), "the two versions' greedy outputs must tell them apart");
        System.out.printf("ReplicasIT: greedy outputs: %s@1 %s, %s@2 %s%n", name, json(one.text()), name, json(two.text()));
        return Map.of(name + "@1", one.text(), name + "@2", two.text());
    }

    private Switch activate(int on, String name, int version) throws Exception {
        long sent = System.nanoTime();
        var r = call(on, "PUT", "/v1/adapters/" + name + "/active", key, "{\"version\": " + version + "}");
        long answered = System.nanoTime();
        assertEquals(200, r.statusCode(), r.body());
        return new Switch(on, version, sent, answered);
    }

    /** A greedy completion of {@code model} on a replica, as the serving tenant. */
    private Answer complete(int replica, String model) {
        String body = "{\"model\": \"" + model + "\", \"prompt\": \"" + PROMPT + "\", \"max_tokens\": " + MAX_TOKENS
                + ", \"temperature\": 0}";
        long sent = System.nanoTime();
        try {
            HttpResponse<String> r = call(replica, "POST", "/v1/completions", key, body);
            long answered = System.nanoTime();
            if (r.statusCode() != 200) {
                return new Answer(replica, sent, answered, r.statusCode(), null, null, r.body());
            }
            JsonNode j = json.readTree(r.body());
            return new Answer(replica, sent, answered, 200, j.path("model").asText(), j.path("choices").path(0).path("text").asText(),
                    r.body());
        } catch (IOException e) {
            return new Answer(replica, sent, System.nanoTime(), -1, null, null, e.toString());
        }
    }

    /** The inference service of a replica, called with {@code apiKey} in the {@code authorization} metadata. */
    private InferenceServiceGrpc.InferenceServiceBlockingStub inference(int replica, String apiKey) {
        Metadata auth = new Metadata();
        auth.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + apiKey);
        return InferenceServiceGrpc.newBlockingStub(channels.get(replica)).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth))
                .withDeadlineAfter(PATIENCE.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** gRPC Generate on a replica with {@code apiKey}: greedy, {@link #MAX_TOKENS} tokens of {@link #PROMPT}, as REST's {@link #complete}. */
    private GenerateResponse generate(int replica, String apiKey, String adapterId) {
        return inference(replica, apiKey).generate(GenerateRequest.newBuilder().setAdapterId(adapterId).setPrompt(PROMPT).setMaxTokens(MAX_TOKENS)
                        .setTemperature(0).build());
    }

    /** The status of a one-token gRPC Generate of the base model with {@code apiKey} on a replica (OK when it answered). */
    private Status.Code grpcStatus(int replica, String apiKey) {
        try {
            inference(replica, apiKey).generate(GenerateRequest.newBuilder().setAdapterId("tiny-llama").setPrompt(PROMPT).setMaxTokens(1)
                            .setTemperature(0).build());
            return Status.Code.OK;
        } catch (StatusRuntimeException e) {
            return e.getStatus().getCode();
        }
    }

    private int modelsStatus(int replica, String apiKey) {
        try {
            return call(replica, "GET", "/v1/models", apiKey, null).statusCode();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private HttpResponse<String> call(int replica, String method, String path, String apiKey, String body) throws IOException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + replicas.get(replica).port + path))
                .timeout(PATIENCE).header("Authorization", "Bearer " + apiKey)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        try {
            return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    private RequestSpecification as(int replica, String apiKey) {
        return replicas.get(replica).api().auth().oauth2(apiKey);
    }

    /**
     * Milliseconds from {@code since} (a write's answer) until every replica passed {@code check}: each
     * replica is polled on a thread of its own every {@link #POLL_MILLIS}, and its moment is the answer
     * of its first passing poll.
     */
    private long delayUntilEveryReplica(long since, String what, IntPredicate check) {
        List<CompletableFuture<Long>> passed = IntStream.range(0, REPLICAS)
                .mapToObj(i -> CompletableFuture.supplyAsync(() -> firstPass(i, what, check), pollers)).toList();
        try {
            return millis(passed.stream().mapToLong(CompletableFuture::join).max().orElseThrow() - since);
        } catch (CompletionException e) {
            if (e.getCause() instanceof Error error) {
                throw error; // a replica's assertion, with its message
            }
            throw e;
        }
    }

    /** {@link #delayUntilEveryReplica} over REST and over gRPC, measured at the same time from {@code since}: {rest, grpc}. */
    private long[] restAndGrpcDelays(long since, String what, IntPredicate rest, IntPredicate grpc) {
        CompletableFuture<Long> overRest = CompletableFuture.supplyAsync(() -> delayUntilEveryReplica(since, what, rest), measurements);
        CompletableFuture<Long> overGrpc = CompletableFuture.supplyAsync(() -> delayUntilEveryReplica(since, what + " over gRPC", grpc),
                measurements);
        try {
            return new long[] {overRest.join(), overGrpc.join()};
        } catch (CompletionException e) {
            if (e.getCause() instanceof Error error) {
                throw error; // a replica's assertion, with its message
            }
            throw e;
        }
    }

    private static long firstPass(int replica, String what, IntPredicate check) {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (!check.test(replica)) {
            assertTrue(System.nanoTime() < deadline, "replica " + replica + " never " + what + " within " + PATIENCE);
            Gateway.sleep(POLL_MILLIS);
        }
        return System.nanoTime();
    }

    private static void await(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "waited " + PATIENCE + " for " + what);
            Gateway.sleep(2);
        }
    }

    private String json(String text) {
        try {
            return json.writeValueAsString(text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long millis(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }
}
