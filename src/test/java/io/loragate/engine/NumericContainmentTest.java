package io.loragate.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.loragate.Fixtures;
import io.loragate.adapter.AdapterNumbers;
import io.loragate.adapter.LoraAdapter;
import io.loragate.adapter.MultiLoraHook;
import io.loragate.model.AdapterHook;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.model.KvCache;
import io.loragate.common.LoragateException;
import io.loragate.common.SamplingParams;
import io.loragate.model.TextTokenizer;
import io.loragate.model.safetensors.SafetensorsFile;
import io.loragate.model.safetensors.SafetensorsWriter;
import io.loragate.model.safetensors.TensorInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * One row can never change another row's numbers. A poisoned adapter (NaN in a lora_B, loaded with
 * the door check off, as only tests do) runs beside clean rows; every clean row must be bit-identical
 * to the same batch layout with the poisoned adapter replaced by a finite one of the same shape,
 * both while the poisoned row runs and after it left, in the slot and cache columns it used.
 */
class NumericContainmentTest {

    static CausalModel model;
    static TextTokenizer tokenizer;
    static LoraAdapter finite;   // adapter0
    static LoraAdapter poisoned; // adapter0 with NaN in every lora_B
    static SafetensorsFile ref;
    static Path dir;

    @BeforeAll
    static void load() throws Exception {
        model = (CausalModel) BaseModel.load(Fixtures.hf("tiny-llama"), Device.cpu());
        tokenizer = TextTokenizer.load(Fixtures.hf("tiny-llama"));
        Path fixture = Fixtures.hf("tiny-llama").resolve("adapter0");
        finite = LoraAdapter.load(fixture, model);
        dir = Files.createTempDirectory("containment");
        Files.copy(fixture.resolve("adapter_config.json"), dir.resolve("adapter_config.json"));
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
        try (SafetensorsFile f = SafetensorsFile.open(fixture.resolve(LoraAdapter.WEIGHTS_FILE))) {
            for (TensorInfo t : f.tensors().values()) {
                float[] v = f.readFloats(t.name());
                if (t.name().contains("lora_B")) {
                    Arrays.fill(v, Float.NaN);
                }
                w.addFloats(t.name(), t.shape(), v);
            }
        }
        w.write(dir.resolve(LoraAdapter.WEIGHTS_FILE));
        System.setProperty(AdapterNumbers.CHECK_KEY, "false"); // tests only: the door would refuse it
        try {
            poisoned = LoraAdapter.load(dir, model);
        } finally {
            System.clearProperty(AdapterNumbers.CHECK_KEY);
        }
        ref = Fixtures.reference("tiny-llama");
    }

    @AfterAll
    static void close() throws Exception {
        poisoned.close();
        finite.close();
        ref.close();
        tokenizer.close();
        model.close();
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private static long[] prompt(int p) {
        return ref.readLongs("p" + p + ".input_ids");
    }

    private static int argMax(float[] row) {
        int best = 0;
        for (int i = 1; i < row.length; i++) {
            if (row[i] > row[best]) {
                best = i;
            }
        }
        return best;
    }

    /** What one drive of the slot cache produced: clean rows' logits per step, and the adapter row's. */
    record Trace(List<float[]> clean, List<float[]> adapterRow, long[] lateTokens) {
    }

    /**
     * Phase 1: rows [base p0, base p2, {@code x} p1] prefilled together and decoded 6 steps in the
     * continuous-batching slots. Phase 2: the adapter row leaves (it is the last row, so its slot keeps
     * whatever it held unless freeing clears it), a new base row (p1) is adopted into that slot with
     * fewer tokens than the cache's columns, and the three base rows decode 6 more steps.
     */
    private static Trace drive(LoraAdapter x) {
        List<float[]> clean = new ArrayList<>();
        List<float[]> adapterRow = new ArrayList<>();
        long[] late = new long[7];
        try (KvCache slots = model.newSlots(4); NDManager step = model.manager().newSubManager()) {
            long[][] prompts = {prompt(0), prompt(2), prompt(1)};
            long[] next = new long[3];
            try (KvCache pre = model.newCache(3)) {
                float[][] rows = rows(model.forward(step, prompts, pre, MultiLoraHook.perForward(Arrays.asList(null, null, x)), false));
                for (int r = 0; r < 3; r++) {
                    slots.adopt(pre, r);
                    next[r] = argMax(rows[r]);
                }
                clean.add(rows[0]);
                clean.add(rows[1]);
                adapterRow.add(rows[2]);
            }
            try (MultiLoraHook hook = new MultiLoraHook(Arrays.asList(null, null, x))) {
                for (int s = 0; s < 6; s++) {
                    float[][] rows = rows(model.forward(step, new long[][] {{next[0]}, {next[1]}, {next[2]}}, slots, hook, false));
                    for (int r = 0; r < 3; r++) {
                        next[r] = r == 2 && !finite(rows[r]) ? 1 : argMax(rows[r]);
                    }
                    clean.add(rows[0]);
                    clean.add(rows[1]);
                    adapterRow.add(rows[2]);
                }
            }
            slots.remove(2); // the adapter row leaves; its slot is the next one handed out
            try (KvCache pre = model.newCache(1)) {
                float[][] rows = rows(model.forward(step, new long[][] {prompt(1)}, pre, AdapterHook.NONE, false));
                assertTrue(pre.columns() < slots.columns(), "the new row must not fill every column of its slot");
                assertEquals(2, slots.adopt(pre, 0));
                next[2] = argMax(rows[0]);
                late[0] = next[2];
            }
            for (int s = 0; s < 6; s++) {
                float[][] rows = rows(model.forward(step, new long[][] {{next[0]}, {next[1]}, {next[2]}}, slots, AdapterHook.NONE, false));
                for (int r = 0; r < 3; r++) {
                    next[r] = argMax(rows[r]);
                    clean.add(rows[r]);
                }
                late[s + 1] = next[2];
            }
        }
        return new Trace(clean, adapterRow, late);
    }

    private static float[][] rows(NDArray logits) {
        int n = (int) logits.getShape().get(0);
        float[] all = logits.toFloatArray();
        logits.close();
        int vocab = all.length / n;
        float[][] out = new float[n][];
        for (int r = 0; r < n; r++) {
            out[r] = Arrays.copyOfRange(all, r * vocab, (r + 1) * vocab);
        }
        return out;
    }

    private static boolean finite(float[] row) {
        for (float v : row) {
            if (!Float.isFinite(v)) {
                return false;
            }
        }
        return true;
    }

    @Test
    void cleanRowsBesideAndAfterAPoisonedRowAreBitIdenticalToTheFiniteReference() {
        Trace reference = drive(finite);
        Trace attacked = drive(poisoned);
        assertTrue(reference.adapterRow().stream().allMatch(NumericContainmentTest::finite));
        assertTrue(attacked.adapterRow().stream().noneMatch(NumericContainmentTest::finite),
                "the poisoned adapter must actually poison its own row");
        assertEquals(reference.clean().size(), attacked.clean().size());
        for (int i = 0; i < reference.clean().size(); i++) {
            assertTrue(finite(attacked.clean().get(i)), "clean logits " + i + " went non-finite");
            assertArrayEquals(reference.clean().get(i), attacked.clean().get(i), "clean logits " + i + " differ");
        }
        // the late row, in the poisoned row's slot, also generates exactly its solo greedy tokens
        long[] solo = ref.readLongs("p1.base.greedy");
        int n = Math.min(solo.length, attacked.lateTokens().length);
        assertArrayEquals(Arrays.copyOf(solo, n), Arrays.copyOf(attacked.lateTokens(), n));
    }

    @Test
    void theFiniteScanSeesEveryNonFiniteValueWhereverItIs() {
        float[] row = new float[3 * 1003];
        for (int i = 0; i < row.length; i++) {
            row[i] = (float) Math.sin(i) * 1e30f; // huge but finite: x·0 is still 0
        }
        for (int r = 0; r < 3; r++) {
            assertTrue(Engine.finite(row, r * 1003, 1003));
        }
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            for (int at : new int[] {1003, 1004, 1010, 2000, 2005}) { // the middle row: its first, unrolled and tail elements
                float keep = row[at];
                row[at] = bad;
                assertFalse(Engine.finite(row, 1003, 1003), bad + " at " + at);
                assertTrue(Engine.finite(row, 0, 1003) && Engine.finite(row, 2006, 1003), "other rows are not affected");
                row[at] = keep;
            }
        }
    }

    /** Records the output of a sequence, logprobs included. */
    static final class Recorder implements SequenceListener {
        final List<Long> tokens = new ArrayList<>();
        final List<Double> logprobs = new ArrayList<>();
        final CompletableFuture<String> done = new CompletableFuture<>();

        @Override
        public void onToken(long token, double logprob, String text) {
            tokens.add(token);
            logprobs.add(logprob);
        }

        @Override
        public void onFinish(String reason, String text, RuntimeException error) {
            if (error != null) {
                done.completeExceptionally(error);
            } else {
                done.complete(reason);
            }
        }
    }

    /** Counts what the engine reports of non-finite rows and finish reasons. */
    static final class Counting implements EngineObserver {
        final AtomicInteger nonFinite = new AtomicInteger();
        final AtomicInteger errors = new AtomicInteger();

        @Override
        public void nonFinite(String tenant, String adapterId) {
            nonFinite.incrementAndGet();
        }

        @Override
        public void finished(String tenant, String adapterId, String reason, int promptTokens, int generated, long decodeNanos) {
            if (reason.equals("error")) {
                errors.incrementAndGet();
            }
        }
    }

    /**
     * Two waves, each admitted as one batch (the engine thread is held by a task while a wave is
     * submitted): clean base rows beside two rows of adapter {@code x} that stop at their first token
     * (the finite reference: max_tokens 1; the poisoned adapter: its first logits are NaN).
     */
    private static List<Recorder> engineRun(LoraAdapter x, Counting observer, List<Recorder> adapterRows) throws Exception {
        List<Recorder> clean = new ArrayList<>();
        try (Engine engine = new Engine(model, tokenizer, new EngineSettings(6, 64, 4096, 16), observer)) {
            engine.start();
            for (int wave = 0; wave < 2; wave++) {
                CountDownLatch hold = new CountDownLatch(1);
                CountDownLatch held = new CountDownLatch(1);
                engine.execute(m -> {
                    held.countDown();
                    try {
                        hold.await(30, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return null;
                });
                assertTrue(held.await(30, TimeUnit.SECONDS));
                List<Recorder> waveClean = new ArrayList<>();
                for (int p = 0; p < 3; p++) {
                    Recorder c = new Recorder();
                    waveClean.add(c);
                    engine.submit(new Sequence("clean", prompt(p), "tiny-llama", null, SamplingParams.greedy(10), c, 0));
                    if (wave == 0 && p < 2) {
                        Recorder a = new Recorder();
                        adapterRows.add(a);
                        engine.submit(new Sequence("attacker", prompt(p), "x@1", x, SamplingParams.greedy(x == poisoned ? 10 : 1), a, 0));
                    }
                }
                hold.countDown();
                for (Recorder c : waveClean) {
                    assertFalse(c.done.get(60, TimeUnit.SECONDS).equals("error"));
                }
                for (Recorder a : adapterRows) {
                    try {
                        a.done.get(60, TimeUnit.SECONDS);
                    } catch (ExecutionException e) {
                        // the poisoned rows end with an error: checked by the caller
                    }
                }
                clean.addAll(waveClean);
            }
            if (x == poisoned) {
                assertEquals(2, engine.nonFiniteRows());
            }
            assertEquals(0, engine.running());
        }
        return clean;
    }

    @Test
    void theEngineEndsPoisonedRowsAloneWithAnErrorAndCleanRowsKeepTheirNumbers() throws Exception {
        List<Recorder> refAdapterRows = new ArrayList<>();
        List<Recorder> reference = engineRun(finite, new Counting(), refAdapterRows);
        Counting observed = new Counting();
        List<Recorder> poisonedRows = new ArrayList<>();
        List<Recorder> attacked = engineRun(poisoned, observed, poisonedRows);

        assertEquals(2, observed.nonFinite.get());
        assertEquals(2, observed.errors.get());
        for (Recorder p : poisonedRows) {
            assertTrue(p.tokens.isEmpty(), "a non-finite row never becomes tokens: " + p.tokens);
            ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, () -> p.done.get());
            assertTrue(e.getCause() instanceof LoragateException le && le.getMessage().contains("non-finite")
                    && le.getMessage().contains("x@1"), String.valueOf(e.getCause()));
        }
        for (Recorder r : refAdapterRows) {
            assertEquals("length", r.done.get());
        }
        assertEquals(reference.size(), attacked.size());
        for (int i = 0; i < reference.size(); i++) {
            assertEquals(reference.get(i).tokens, attacked.get(i).tokens, "clean row " + i);
            assertEquals(reference.get(i).logprobs, attacked.get(i).logprobs, "clean row " + i + " logprobs");
            assertTrue(attacked.get(i).logprobs.stream().allMatch(Double::isFinite));
        }
    }
}
