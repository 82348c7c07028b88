package io.loragate.adapter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.loragate.Fixtures;
import io.loragate.model.AdapterHook;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.model.KvCache;
import io.loragate.model.safetensors.SafetensorsFile;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The model families that users bring (docs/model-families.md) against what transformers + PEFT
 * computed for their fixtures (make_families.py): base and each adapter alone, then one left-padded
 * batch mixing base and both adapters on every prompt, prefilled and decoded greedily.
 */
class FamilyParityTest {

    static final double TOL = 1e-4;

    private static LoraAdapter load(BaseModel model, String fixture, int k) {
        return LoraAdapter.load(Fixtures.hf(fixture).resolve("adapter" + k), model.config().family(), model.linears(), model.paramShapes(), Device.cpu());
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama3", "tiny-qwen3", "tiny-mistral-sw", "tiny-qwen2-sw", "tiny-phi3",
            "tiny-llama-linear", "tiny-llama-dynamic", "tiny-llama-yarn"})
    void baseAndAdaptersMatchTransformersAloneAndMixed(String fixture) {
        try (CausalModel model = (CausalModel) BaseModel.load(Fixtures.hf(fixture), Device.cpu());
                LoraAdapter a0 = load(model, fixture, 0);
                LoraAdapter a1 = load(model, fixture, 1);
                SafetensorsFile ref = Fixtures.reference(fixture);
                NDManager out = model.manager().newSubManager()) {
            // alone: one row, all positions' logits
            for (int p = 0; p < 3; p++) {
                long[] ids = ref.readLongs("p" + p + ".input_ids");
                check(fixture, ref, "p" + p + ".base", model.logits(out, ids, AdapterHook.NONE).toFloatArray());
                check(fixture, ref, "p" + p + ".adapter0", model.logits(out, ids, MultiLoraHook.single(a0)).toFloatArray());
                check(fixture, ref, "p" + p + ".adapter1", model.logits(out, ids, MultiLoraHook.single(a1)).toFloatArray());
            }
            // mixed: every prompt with every variant in one batch
            int[] prompts = {0, 1, 2, 2, 0, 1, 1, 2, 0};
            String[] variants = {"adapter1", "base", "adapter0", "base", "adapter0", "adapter1", "adapter0", "adapter1", "base"};
            List<LoraAdapter> rows = new ArrayList<>();
            long[][] tokens = new long[prompts.length][];
            for (int r = 0; r < prompts.length; r++) {
                rows.add(switch (variants[r]) {
                    case "adapter0" -> a0;
                    case "adapter1" -> a1;
                    default -> null;
                });
                tokens[r] = ref.readLongs("p" + prompts[r] + ".input_ids");
            }
            int steps = 12;
            long[][] generated = new long[prompts.length][steps];
            try (KvCache cache = model.newCache(prompts.length); MultiLoraHook hook = new MultiLoraHook(rows)) {
                NDArray logits = model.forward(out, tokens, cache, hook, true); // (batch, t, vocab), left-padded
                long t = logits.getShape().get(1);
                long vocab = logits.getShape().get(2);
                float[] all = logits.toFloatArray();
                long[][] next = new long[prompts.length][1];
                for (int r = 0; r < prompts.length; r++) {
                    int len = tokens[r].length;
                    float[] row = Arrays.copyOfRange(all, (int) ((r * t + (t - len)) * vocab), (int) ((r * t + t) * vocab));
                    check(fixture + " mixed row " + r, ref, "p" + prompts[r] + "." + variants[r], row);
                    next[r][0] = argmax(row, len - 1, (int) vocab);
                }
                for (int s = 0; s < steps; s++) {
                    float[] last = model.forward(out, next, cache, hook, false).toFloatArray(); // (batch, vocab)
                    for (int r = 0; r < prompts.length; r++) {
                        generated[r][s] = next[r][0];
                        next[r][0] = argmax(last, r, (int) vocab);
                    }
                }
            }
            for (int r = 0; r < prompts.length; r++) {
                String key = "p" + prompts[r] + "." + variants[r];
                assertArrayEquals(ref.readLongs(key + ".greedy"), generated[r], fixture + " row " + r + " (" + key + ") greedy");
            }
        }
    }

    /**
     * Continuous batching: each prompt is prefilled alone and joins a running slot cache
     * ({@link KvCache#adopt}), so rows hold tokens in different columns; every row must still decode
     * what transformers decodes for it alone (sliding windows and dynamic rope go by positions).
     */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-mistral-sw", "tiny-qwen2-sw", "tiny-llama-dynamic", "tiny-phi3"})
    void rowsJoiningARunningBatchMatchTheirOwnRuns(String fixture) {
        try (CausalModel model = (CausalModel) BaseModel.load(Fixtures.hf(fixture), Device.cpu());
                SafetensorsFile ref = Fixtures.reference(fixture);
                NDManager out = model.manager().newSubManager();
                KvCache slots = model.newSlots(3)) {
            List<List<Long>> generated = new ArrayList<>();
            long[] next = new long[3];
            for (int p = 0; p < 3; p++) {
                try (KvCache one = model.newCache(1)) {
                    NDArray logits = model.forward(out, new long[][] {ref.readLongs("p" + p + ".input_ids")}, one,
                            AdapterHook.NONE, false); // (1, vocab)
                    int row = slots.adopt(one, 0);
                    next[row] = argmax(logits.toFloatArray(), 0, (int) logits.getShape().get(1));
                    generated.add(new ArrayList<>());
                }
                int steps = p < 2 ? 4 : 12; // the last row to join decodes until it has 12 tokens
                for (int s = 0; s < steps; s++) {
                    long[][] tokens = new long[slots.batch()][];
                    // row 0 idles for one step once others have joined: a gap column in its cache, where
                    // columns and positions part ways
                    boolean idle = p == 1 && s == 0;
                    for (int r = 0; r < tokens.length; r++) {
                        tokens[r] = idle && r == 0 ? new long[0] : new long[] {next[r]};
                        if (tokens[r].length > 0) {
                            generated.get(r).add(next[r]);
                        }
                    }
                    NDArray logits = model.forward(out, tokens, slots, AdapterHook.NONE, false); // (rows, vocab)
                    float[] last = logits.toFloatArray();
                    for (int r = 0; r < tokens.length; r++) {
                        if (tokens[r].length > 0) {
                            next[r] = argmax(last, r, (int) logits.getShape().get(1));
                        }
                    }
                }
            }
            for (int p = 0; p < 3; p++) {
                long[] got = generated.get(p).subList(0, 12).stream().mapToLong(Long::longValue).toArray();
                assertArrayEquals(ref.readLongs("p" + p + ".base.greedy"), got, fixture + " prompt " + p + " joined at step " + 4 * p);
            }
        }
    }

    /**
     * A row that idles for a step gets a gap column in its cache; the window goes by positions, so
     * its logits must be those of the run without the gap (greedy tokens alone did not notice a window
     * counted in columns).
     */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-mistral-sw", "tiny-qwen2-sw"})
    void anIdleStepDoesNotMoveTheWindow(String fixture) {
        try (CausalModel model = (CausalModel) BaseModel.load(Fixtures.hf(fixture), Device.cpu());
                SafetensorsFile ref = Fixtures.reference(fixture);
                NDManager out = model.manager().newSubManager()) {
            float[] straight = row0After6Tokens(model, out, ref, false);
            float[] withGap = row0After6Tokens(model, out, ref, true);
            double diff = Fixtures.maxAbsDiff(straight, withGap);
            assertTrue(diff < 1e-5, fixture + ": an idle step changed row 0's logits by " + diff);
        }
    }

    /** Row 0 (prompt 0) decoding beside row 1 (prompt 2); with {@code idle}, row 0 skips the third step. */
    private static float[] row0After6Tokens(CausalModel model, NDManager out, SafetensorsFile ref, boolean idle) {
        try (KvCache cache = model.newCache(2)) {
            long[][] prompts = {ref.readLongs("p0.input_ids"), ref.readLongs("p2.input_ids")};
            float[] first = model.forward(out, prompts, cache, AdapterHook.NONE, false).toFloatArray(); // (2, vocab)
            int vocab = first.length / 2;
            long[] next = {argmax(first, 0, vocab), argmax(first, 1, vocab)};
            float[] row0 = null;
            for (int step = 0, fed = 0; fed < 6; step++) {
                boolean skip = idle && step == 2;
                long[][] tokens = {skip ? new long[0] : new long[] {next[0]}, new long[] {next[1]}};
                float[] last = model.forward(out, tokens, cache, AdapterHook.NONE, false).toFloatArray();
                if (!skip) {
                    fed++;
                    next[0] = argmax(last, 0, vocab);
                    row0 = Arrays.copyOfRange(last, 0, vocab);
                }
                next[1] = argmax(last, 1, vocab);
            }
            return row0;
        }
    }

    private static void check(String what, SafetensorsFile ref, String key, float[] logits) {
        double diff = Fixtures.maxAbsDiff(ref.readFloats(key + ".logits"), logits);
        assertTrue(diff < TOL, what + " " + key + ": max abs diff " + diff);
    }

    private static long argmax(float[] rows, int row, int width) {
        int best = 0;
        for (int i = 1; i < width; i++) {
            if (rows[row * width + i] > rows[row * width + best]) {
                best = i;
            }
        }
        return best;
    }
}
