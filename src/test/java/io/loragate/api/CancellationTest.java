package io.loragate.api;

import static io.loragate.api.ReliabilitySupport.await;
import static io.loragate.api.ReliabilitySupport.awaitIdle;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.loragate.api.grpc.v1.GenerateRequest;
import io.loragate.api.grpc.v1.GenerateStreamResponse;
import io.loragate.api.grpc.v1.InferenceServiceGrpc;
import io.loragate.engine.Engine;
import io.loragate.engine.EngineService;
import io.loragate.registry.AdapterCache;
import io.loragate.runtime.ResidentModel;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.grpc.GrpcClient;
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
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A client that goes away mid-stream frees its KV-cache row and its adapter lease within one
 * engine step: over REST SSE (the TCP connection is closed under a streaming completion) and over
 * gRPC (GenerateStream is cancelled), while running and while still waiting in the queue. The
 * engine counts its steps and how many passed between a transport's cancel and the step that dropped
 * the sequence ({@link Engine#maxCancelLagSteps()}); the test also bounds the whole path from the
 * client's close in wall-clock time (2 s) and in steps (far fewer than the request's 240 tokens).
 */
@QuarkusTest
@TestProfile(ReliabilityProfile.class)
class CancellationTest {

    static final String ADAPTER = "cancel-" + ReliabilitySupport.RUN;
    static final int LONG = 200; // tokens; the fixture's context is 256, the prompt about 30

    @Inject
    ResidentModel resident;

    @Inject
    EngineService engines;

    @Inject
    AdapterCache cache;

    @Inject
    MeterRegistry meters;

    @GrpcClient("loragate")
    InferenceServiceGrpc.InferenceServiceBlockingStub inference;

    @TestHTTPResource("/")
    URL root;

    private static boolean registered;

    @BeforeEach
    void adapterRegistered() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
        if (!registered) {
            ReliabilitySupport.register(ADAPTER, "adapter0");
            registered = true;
        }
    }

    double cancelled() {
        Counter c = meters.find("loragate_requests_total").tag("adapter", ADAPTER).tag("finish_reason", "cancelled").counter();
        return c == null ? 0 : c.count();
    }

    /**
     * The first token reaches the client during the prefill step, a moment before the engine counts
     * the sequence into its running batch: wait for it (briefly) rather than race it.
     */
    void awaitRunning(Engine engine, int leases) throws InterruptedException {
        await(() -> engine.running() == 1 && cache.stats().leases() == leases + 1, 2_000,
                "the stream is not running with its lease: running " + engine.running() + ", leases " + cache.stats().leases());
    }

    /** Waits for the row and the lease to be gone; answers {steps since the close, millis since the close}. */
    long[] awaitReleased(Engine engine, int leases, long steps0, long t0) throws InterruptedException {
        await(() -> engine.running() == 0 && engine.waiting() == 0 && cache.stats().leases() == leases, 2_000,
                "the cancelled request still holds its row or lease 2 s after the client left: running " + engine.running()
                        + ", leases " + cache.stats().leases() + " (before: " + leases + ")");
        return new long[] {engine.steps() - steps0, (System.nanoTime() - t0) / 1_000_000};
    }

    @Test
    void closingAnSseConnectionMidStreamFreesTheRowAndTheLease() throws Exception {
        Engine engine = engines.engine();
        awaitIdle(engine);
        int leases = cache.stats().leases();
        double cancelled = cancelled();
        long steps0;
        long t0;
        try (Socket socket = new Socket(root.getHost(), root.getPort())) {
            byte[] body = ReliabilitySupport.body(ADAPTER, LONG, true).getBytes(StandardCharsets.UTF_8);
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Accept: text/event-stream\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            String status = in.readLine();
            assertTrue(status.contains(" 200 "), status);
            String line = in.readLine();
            while (line != null && !line.startsWith("data: {")) {
                line = in.readLine(); // headers and chunk sizes
            }
            assertTrue(line != null && line.contains("\"text\""), "a token chunk: " + line);
            awaitRunning(engine, leases);
            steps0 = engine.steps();
            t0 = System.nanoTime();
        } // closes the connection mid-stream
        long[] took = awaitReleased(engine, leases, steps0, t0);
        assertEquals(cancelled + 1, cancelled(), "the engine ended the request as cancelled");
        assertTrue(took[0] < 60, "dropped within a few steps of the close, not after its " + LONG + " tokens: " + took[0]);
        assertTrue(engine.maxCancelLagSteps() <= 1, "steps between cancel and drop: " + engine.maxCancelLagSteps());
        System.out.printf("SSE close -> row and lease freed in %d ms, %d engine steps (max cancel lag %d step)%n", took[1], took[0],
                engine.maxCancelLagSteps());
        assertEquals(200, ReliabilitySupport.complete(ADAPTER, 4).statusCode(), "the server keeps serving");
    }

    @Test
    void cancellingAGrpcStreamFreesTheRowAndTheLease() throws Exception {
        Engine engine = engines.engine();
        awaitIdle(engine);
        int leases = cache.stats().leases();
        double cancelled = cancelled();
        long steps0;
        long t0;
        try (Context.CancellableContext call = Context.current().withCancellation()) {
            Iterator<GenerateStreamResponse> stream = call.call(() -> inference.withDeadlineAfter(60, TimeUnit.SECONDS)
                    .generateStream(request(LONG)));
            assertTrue(stream.hasNext() && stream.next().hasTokenId());
            awaitRunning(engine, leases);
            steps0 = engine.steps();
            t0 = System.nanoTime();
            call.cancel(null);
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> stream.forEachRemaining(r -> { }));
            assertEquals(Status.Code.CANCELLED, e.getStatus().getCode());
        }
        long[] took = awaitReleased(engine, leases, steps0, t0);
        assertEquals(cancelled + 1, cancelled(), "the engine ended the request as cancelled");
        assertTrue(took[0] < 60, "dropped within a few steps of the cancel, not after its " + LONG + " tokens: " + took[0]);
        assertTrue(engine.maxCancelLagSteps() <= 1, "steps between cancel and drop: " + engine.maxCancelLagSteps());
        System.out.printf("gRPC cancel -> row and lease freed in %d ms, %d engine steps%n", took[1], took[0]);
    }

    /**
     * With the batch full, a cancelled request that is still waiting in the queue leaves at the next
     * step too (not when a row frees up), and its lease with it.
     */
    @Test
    void aCancelledRequestWaitingBehindAFullBatchLeavesAtTheNextStep() throws Exception {
        Engine engine = engines.engine();
        awaitIdle(engine);
        int leases = cache.stats().leases();
        List<CompletableFuture<Integer>> fillers = List.of(
                CompletableFuture.supplyAsync(() -> ReliabilitySupport.complete(ADAPTER, LONG).statusCode()),
                CompletableFuture.supplyAsync(() -> ReliabilitySupport.complete(ADAPTER, LONG).statusCode()));
        await(() -> engine.running() == ReliabilityProfile.MAX_BATCH, 10_000, "the fillers did not start");
        // Hold the engine between two steps while the third request queues and is cancelled.
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        engine.execute(base -> {
            entered.countDown();
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return null;
        });
        assertTrue(entered.await(10, TimeUnit.SECONDS));
        assertEquals(ReliabilityProfile.MAX_BATCH, engine.running(), "the fillers are mid-way");
        long steps0;
        try (Context.CancellableContext call = Context.current().withCancellation()) {
            Iterator<GenerateStreamResponse> stream = call.call(() -> inference.withDeadlineAfter(60, TimeUnit.SECONDS)
                    .generateStream(request(8)));
            await(() -> engine.waiting() == 1, 5_000, "the third request did not queue");
            await(() -> cache.stats().leases() == leases + 3, 5_000, "three leases");
            call.cancel(null);
            assertThrows(StatusRuntimeException.class, () -> stream.forEachRemaining(r -> { }));
            steps0 = engine.steps();
            release.countDown();
        }
        await(() -> engine.waiting() == 0 && cache.stats().leases() == leases + 2, 2_000,
                "the cancelled request still waits: waiting " + engine.waiting() + ", leases " + cache.stats().leases());
        long steps = engine.steps() - steps0;
        assertTrue(steps < 30, "left the queue " + steps + " steps after the engine resumed, not when a row freed up");
        assertTrue(engine.maxCancelLagSteps() <= 1, "steps between cancel and drop: " + engine.maxCancelLagSteps());
        for (CompletableFuture<Integer> f : fillers) {
            assertEquals(200, f.get(60, TimeUnit.SECONDS));
        }
        awaitIdle(engine);
        assertEquals(leases, cache.stats().leases());
    }

    static GenerateRequest request(int maxTokens) {
        return GenerateRequest.newBuilder().setAdapterId(ADAPTER).setPrompt("Transfer learning isn't magic; it's thrift.")
                .setMaxTokens(maxTokens).setTemperature(0).build();
    }
}
