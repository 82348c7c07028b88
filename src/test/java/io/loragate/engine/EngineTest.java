package io.loragate.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.loragate.Fixtures;
import io.loragate.adapter.LoraAdapter;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.model.Generation;
import io.loragate.model.GenerationTestSupport;
import io.loragate.common.LoragateException;
import io.loragate.common.SamplingParams;
import io.loragate.model.TextTokenizer;
import io.loragate.model.safetensors.SafetensorsFile;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Continuous batching over the tiny-llama fixture: late joiners, mixed adapters, cancellation, back-pressure. */
class EngineTest {

    static CausalModel model;
    static TextTokenizer tokenizer;
    static LoraAdapter a0;
    static LoraAdapter a1;
    static SafetensorsFile ref;

    @BeforeAll
    static void load() {
        model = (CausalModel) BaseModel.load(Fixtures.hf("tiny-llama"), Device.cpu());
        tokenizer = TextTokenizer.load(Fixtures.hf("tiny-llama"));
        a0 = LoraAdapter.load(Fixtures.hf("tiny-llama").resolve("adapter0"), model.config().family(), model.linears(), model.paramShapes(), Device.cpu());
        a1 = LoraAdapter.load(Fixtures.hf("tiny-llama").resolve("adapter1"), model.config().family(), model.linears(), model.paramShapes(), Device.cpu());
        ref = Fixtures.reference("tiny-llama");
    }

    @AfterAll
    static void close() {
        a0.close();
        a1.close();
        ref.close();
        tokenizer.close();
        model.close();
    }

    /** Collects a sequence's output into a future. */
    static final class Collector implements SequenceListener {
        final List<Long> tokens = new ArrayList<>();
        final StringBuilder text = new StringBuilder();
        final CompletableFuture<String> done = new CompletableFuture<>();
        final CountDownLatch firstToken = new CountDownLatch(1);

        @Override
        public void onToken(long token, double logprob, String t) {
            tokens.add(token);
            text.append(t);
            firstToken.countDown();
        }

        @Override
        public void onFinish(String reason, String t, RuntimeException error) {
            text.append(t);
            if (error != null) {
                done.completeExceptionally(error);
            } else {
                done.complete(reason);
            }
        }

        Generation generation() throws Exception {
            String reason = done.get(60, TimeUnit.SECONDS);
            return new Generation(tokens.stream().mapToLong(Long::longValue).toArray(), new double[0], text.toString(), reason);
        }
    }

    @Test
    void lateJoinersWithMixedAdaptersEachGetExactlyTheirSoloGreedyOutput() throws Exception {
        try (Engine engine = new Engine(model, tokenizer, new EngineSettings(8, 64, 4096, 16), EngineObserver.NONE)) {
            engine.start();
            LoraAdapter[] adapters = {null, a0, a1};
            String[] keys = {"base", "adapter0", "adapter1"};
            List<Collector> collectors = new ArrayList<>();
            List<String> expected = new ArrayList<>();
            // wave 1: three sequences; wave 2 joins once wave 1 is decoding; wave 3 joins later still
            for (int wave = 0; wave < 3; wave++) {
                for (int p = 0; p < 3; p++) {
                    int a = (p + wave) % 3;
                    Collector c = new Collector();
                    collectors.add(c);
                    expected.add("p" + p + "." + keys[a] + ".greedy");
                    engine.submit(new Sequence(ref.readLongs("p" + p + ".input_ids"), "t", adapters[a], SamplingParams.greedy(12), c, 0));
                }
                collectors.get(collectors.size() - 1).firstToken.await(30, TimeUnit.SECONDS);
            }
            for (int i = 0; i < collectors.size(); i++) {
                GenerationTestSupport.assertGreedy(ref.readLongs(expected.get(i)), collectors.get(i).generation(), "sequence " + i + " " + expected.get(i));
            }
            assertEquals(0, engine.running());
        }
    }

    @Test
    void textStreamsWithoutLossAndStopStringsCutTheText() throws Exception {
        try (Engine engine = new Engine(model, tokenizer, new EngineSettings(4, 16, 4096, 16), EngineObserver.NONE)) {
            engine.start();
            long[] prompt = tokenizer.encode("the software");
            Collector free = new Collector();
            engine.submit(new Sequence(prompt, "t", null, new SamplingParams(12, 0, 0, 1, null, java.util.Set.of(), List.of(), true), free, 0));
            Generation g = free.generation();
            assertEquals(tokenizer.decode(g.tokens()), g.text(), "streamed deltas add up to the decoded text");
            String stop = g.text().substring(g.text().length() / 2, g.text().length() / 2 + 2);
            Collector cut = new Collector();
            engine.submit(new Sequence(prompt, "t", null, new SamplingParams(12, 0, 0, 1, null, java.util.Set.of(), List.of(stop), true), cut, 0));
            Generation c = cut.generation();
            assertEquals("stop", c.finishReason());
            assertEquals(g.text().substring(0, g.text().indexOf(stop)), c.text());
        }
    }

    @Test
    void cancelledSequencesLeaveAtTheNextStepAndAFullQueueRefusesAtOnce() throws Exception {
        try (Engine engine = new Engine(model, tokenizer, new EngineSettings(2, 2, 4096, 16), EngineObserver.NONE)) {
            engine.start();
            SamplingParams endless = new SamplingParams(200, 0, 0, 1, null, java.util.Set.of(), List.of(), true);
            Collector a = new Collector();
            Sequence sa = new Sequence(tokenizer.encode("the software"), "t", a0, endless, a, 0);
            engine.submit(sa);
            a.firstToken.await(30, TimeUnit.SECONDS);
            sa.cancel();
            assertEquals("cancelled", a.done.get(30, TimeUnit.SECONDS));
            assertTrue(a.tokens.size() < 200);
            // a full queue: batch of 2 busy, queue of 2 waiting, the fifth is refused
            List<Sequence> busy = new ArrayList<>();
            List<Collector> cs = new ArrayList<>();
            int refused = 0;
            for (int i = 0; i < 8; i++) {
                Collector c = new Collector();
                Sequence s = new Sequence(tokenizer.encode("the software"), "t", null, endless, c, 0);
                try {
                    engine.submit(s);
                    busy.add(s);
                    cs.add(c);
                } catch (LoragateException e) {
                    assertEquals(LoragateException.Kind.RESOURCE_EXHAUSTED, e.kind());
                    assertTrue(e.retryAfterSeconds() > 0);
                    refused++;
                }
            }
            assertTrue(refused >= 4, "at most 2 running + 2 queued fit; refused " + refused);
            busy.forEach(Sequence::cancel);
            for (Collector c : cs) {
                assertEquals("cancelled", c.done.get(30, TimeUnit.SECONDS));
            }
            // recovered: a new request runs to completion
            Collector after = new Collector();
            engine.submit(new Sequence(tokenizer.encode("the software"), "t", null, SamplingParams.greedy(3), after, 0));
            assertTrue(after.generation().tokens().length > 0);
        }
    }

    @Test
    void deadlinesExpireAndStoppedEnginesRefuse() throws Exception {
        Engine engine = new Engine(model, tokenizer, new EngineSettings(2, 4, 4096, 16), EngineObserver.NONE);
        engine.start();
        Collector late = new Collector();
        engine.submit(new Sequence(tokenizer.encode("the software"), "t", null,
                new SamplingParams(10_000, 0, 0, 1, null, java.util.Set.of(), List.of(), true), late, System.nanoTime() + 50_000_000L));
        assertEquals("timeout", late.done.get(30, TimeUnit.SECONDS));
        assertTrue(engine.alive());
        engine.close();
        assertTrue(!engine.alive());
        LoragateException e = assertThrows(LoragateException.class, () -> engine.submit(
                new Sequence(new long[] {1, 5}, "t", null, SamplingParams.greedy(2), new Collector(), 0)));
        assertEquals(LoragateException.Kind.RESOURCE_EXHAUSTED, e.kind());
    }

    @Test
    void drainLetsRunningSequencesFinishAndRefusesNewOnes() throws Exception {
        Engine engine = new Engine(model, tokenizer, new EngineSettings(4, 8, 4096, 16), EngineObserver.NONE);
        engine.start();
        Collector running = new Collector();
        engine.submit(new Sequence(tokenizer.encode("the software"), "t", a1,
                new SamplingParams(40, 0, 0, 1, null, java.util.Set.of(), List.of(), true), running, 0));
        running.firstToken.await(30, TimeUnit.SECONDS);
        Thread drainer = new Thread(() -> {
            try {
                engine.drain(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        drainer.start();
        Thread.sleep(20);
        LoragateException refused = assertThrows(LoragateException.class, () -> engine.submit(
                new Sequence(new long[] {1, 5}, "t", null, SamplingParams.greedy(2), new Collector(), 0)));
        assertTrue(refused.getMessage().contains("shutting down"));
        assertEquals("length", running.done.get(60, TimeUnit.SECONDS), "the running sequence finished normally");
        assertEquals(40, running.tokens.size());
        drainer.join(30_000);
        assertTrue(!engine.alive());
    }
}
