package io.loragate.api;

import static io.loragate.api.ReliabilitySupport.await;
import static io.loragate.api.ReliabilitySupport.awaitIdle;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.loragate.api.grpc.v1.GenerateRequest;
import io.loragate.api.grpc.v1.InferenceServiceGrpc;
import io.loragate.engine.Engine;
import io.loragate.engine.EngineService;
import io.loragate.registry.AdapterCache;
import io.loragate.runtime.ResidentModel;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Overload: with the engine's queue full, every further request is refused at once — REST 429 with
 * {@code Retry-After} and the OpenAI error shape, gRPC RESOURCE_EXHAUSTED — while the engine is still
 * held (so nothing waited for it), faster than a served request measured in the same test, holds no
 * lease, and the server recovers fully once the load drops: every later request succeeds. Times are
 * compared with a reference from the same run, never with a fixed number of milliseconds: the suite
 * runs on busy machines.
 */
@QuarkusTest
@TestProfile(ReliabilityProfile.class)
class OverloadTest {

    static final String ADAPTER = "overload-" + ReliabilitySupport.RUN;
    /** A refusal may take at most this many times a served 8-token request of the same run. */
    static final long REFUSAL_VS_SERVED = 10;

    @Inject
    ResidentModel resident;

    @Inject
    EngineService engines;

    @Inject
    AdapterCache cache;

    @GrpcClient("loragate")
    InferenceServiceGrpc.InferenceServiceBlockingStub inference;

    private static boolean registered;

    @BeforeEach
    void adapterRegistered() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
        if (!registered) {
            ReliabilitySupport.register(ADAPTER, "adapter0");
            registered = true;
        }
    }

    /** The median time of three served 8-token completions, at least 1 ms. */
    static long servedMillis() {
        List<Long> times = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            long t0 = System.nanoTime();
            assertEquals(200, ReliabilitySupport.complete(ADAPTER, 8).statusCode());
            times.add(millisSince(t0));
        }
        times.sort(null);
        return Math.max(1, times.get(1));
    }

    static long millisSince(long t0) {
        return (System.nanoTime() - t0) / 1_000_000;
    }

    @Test
    void aFullQueueRefusesAtOnceOnEveryTransportAndRecovers() throws Exception {
        Engine engine = engines.engine();
        awaitIdle(engine);
        long served = servedMillis();
        long bound = REFUSAL_VS_SERVED * served;
        int leases = cache.stats().leases();
        // Hold the engine between steps: nothing leaves the queue, so it is full after MAX_QUEUE requests.
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        engine.execute(base -> {
            entered.countDown();
            try {
                release.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return null;
        });
        assertTrue(entered.await(10, TimeUnit.SECONDS));
        List<CompletableFuture<Integer>> queued = new ArrayList<>();
        for (int i = 0; i < ReliabilityProfile.MAX_QUEUE; i++) {
            queued.add(CompletableFuture.supplyAsync(() -> ReliabilitySupport.complete(ADAPTER, 8).statusCode()));
        }
        await(() -> engine.waiting() == ReliabilityProfile.MAX_QUEUE, 10_000, "the queue did not fill");
        try {
            long worst = 0;
            for (int i = 0; i < 10; i++) {
                long t0 = System.nanoTime();
                Response r = ReliabilitySupport.complete(i % 2 == 0 ? ADAPTER : "tiny-llama", 8);
                long took = millisSince(t0);
                worst = Math.max(worst, took);
                assertEquals(429, r.statusCode(), r.asString());
                assertNotNull(r.header("Retry-After"));
                assertEquals("rate_limit_error", r.jsonPath().getString("error.type"), r.asString());
                assertTrue(r.jsonPath().getString("error.message").contains("queue is full"), r.asString());
                assertTrue(took < bound, "a refusal took " + took + " ms, a served request " + served + " ms");
            }
            // gRPC, unary and streaming
            for (boolean stream : new boolean[] {false, true}) {
                long t0 = System.nanoTime();
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> {
                    GenerateRequest req = GenerateRequest.newBuilder().setAdapterId(ADAPTER).setPrompt("hello").setMaxTokens(8).build();
                    if (stream) {
                        inference.withDeadlineAfter(10, TimeUnit.SECONDS).generateStream(req).forEachRemaining(r -> { });
                    } else {
                        inference.withDeadlineAfter(10, TimeUnit.SECONDS).generate(req);
                    }
                });
                long took = millisSince(t0);
                worst = Math.max(worst, took);
                assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), e.toString());
                assertTrue(took < bound, "a gRPC refusal took " + took + " ms, a served request " + served + " ms");
            }
            // A streamed REST request has already answered 200 when it reaches the queue: it gets an error event at once.
            long t0 = System.nanoTime();
            String sse = given().contentType(ContentType.JSON).body(ReliabilitySupport.body(ADAPTER, 8, true))
                    .post("/v1/completions").then().statusCode(200).extract().asString();
            long took = millisSince(t0);
            assertTrue(sse.contains("\"code\":\"resource_exhausted\"") && sse.endsWith("data: [DONE]\n\n"), sse);
            assertTrue(took < bound, "a streamed refusal took " + took + " ms, a served request " + served + " ms");
            assertEquals(leases + ReliabilityProfile.MAX_QUEUE, cache.stats().leases(), "refused requests hold no lease");
            System.out.printf("overload: refusals answered in at most %d ms; a served 8-token request %d ms%n",
                    Math.max(worst, took), served);
        } finally {
            release.countDown();
        }
        for (CompletableFuture<Integer> f : queued) {
            assertEquals(200, f.get(60, TimeUnit.SECONDS), "the queued requests are served");
        }
        awaitIdle(engine);
        assertEquals(leases, cache.stats().leases());
        // Load within capacity: every request succeeds.
        for (int i = 0; i < 8; i++) {
            assertEquals(200, ReliabilitySupport.complete(ADAPTER, 4).statusCode());
        }
    }

    /**
     * A burst of 24 concurrent clients on a gateway that holds 4 (batch 2 + queue 2): every answer is
     * a success or a 429 — no time-out, no server error — and afterwards everything succeeds. A
     * refusal is answered before anything is generated: every 429 faster than the fastest served
     * request (200 tokens), and the median 429 under half of it. (Each refusal with the engine held
     * is in the test above; here 24 client threads share the CPU with the engine.)
     */
    @Test
    void aBurstGetsSuccessesAndQuickRefusalsOnlyThenFullService() throws Exception {
        Engine engine = engines.engine();
        awaitIdle(engine);
        int leases = cache.stats().leases();
        int clients = 24;
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<long[]>> answers = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                answers.add(pool.submit(() -> {
                    go.await();
                    long t0 = System.nanoTime();
                    int status = ReliabilitySupport.complete(ADAPTER, 200).statusCode();
                    return new long[] {status, millisSince(t0)};
                }));
            }
            go.countDown();
            Map<Long, Integer> byStatus = new TreeMap<>();
            List<Long> refusals = new ArrayList<>();
            long fastestServed = Long.MAX_VALUE;
            for (Future<long[]> f : answers) {
                long[] a = f.get(120, TimeUnit.SECONDS);
                byStatus.merge(a[0], 1, Integer::sum);
                assertTrue(a[0] == 200 || a[0] == 429, "status " + a[0]);
                if (a[0] == 429) {
                    refusals.add(a[1]);
                } else {
                    fastestServed = Math.min(fastestServed, a[1]);
                }
            }
            assertTrue(!refusals.isEmpty(), "the burst overflowed the queue: " + byStatus);
            assertTrue(byStatus.getOrDefault(200L, 0) >= ReliabilityProfile.MAX_BATCH, byStatus.toString());
            refusals.sort(null);
            long median = refusals.get(refusals.size() / 2);
            long slowest = refusals.get(refusals.size() - 1);
            assertTrue(2 * median < fastestServed, "median 429 " + median + " ms vs fastest 200 " + fastestServed + " ms");
            assertTrue(slowest < fastestServed, "slowest 429 " + slowest + " ms vs fastest 200 " + fastestServed + " ms");
            System.out.printf("burst of %d: %s, 429 median %d ms, slowest %d ms; fastest 200 %d ms%n", clients, byStatus, median,
                    slowest, fastestServed);
        } finally {
            pool.shutdownNow();
        }
        awaitIdle(engine);
        assertEquals(leases, cache.stats().leases(), "no lease left behind");
        for (int i = 0; i < 8; i++) {
            assertEquals(200, ReliabilitySupport.complete(ADAPTER, 4).statusCode(), "recovered");
        }
    }
}
