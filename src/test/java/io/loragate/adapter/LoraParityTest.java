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
import io.loragate.model.EncoderModel;
import io.loragate.model.KvCache;
import io.loragate.model.safetensors.SafetensorsFile;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The hook inside the real forwards against what PEFT computed for the fixtures' adapters. */
class LoraParityTest {

    static final double TOL = 1e-4;

    private static LoraAdapter load(BaseModel model, String fixture, int k) {
        return LoraAdapter.load(Fixtures.hf(fixture).resolve("adapter" + k), model.config().family(), model.linears(), model.paramShapes(), Device.cpu());
    }

    @ParameterizedTest
    @CsvSource({"tiny-llama,0", "tiny-llama,1", "tiny-qwen2,0", "tiny-qwen2,1", "tiny-gpt2,0", "tiny-gpt2,1"})
    void oneAdapterMatchesPeft(String fixture, int k) {
        try (CausalModel model = (CausalModel) BaseModel.load(Fixtures.hf(fixture), Device.cpu());
                LoraAdapter adapter = load(model, fixture, k);
                SafetensorsFile ref = Fixtures.reference(fixture);
                NDManager out = model.manager().newSubManager()) {
            for (int p = 0; p < 3; p++) {
                long[] ids = ref.readLongs("p" + p + ".input_ids");
                NDArray logits = model.logits(out, ids, MultiLoraHook.single(adapter));
                double diff = Fixtures.maxAbsDiff(ref.readFloats("p" + p + ".adapter" + k + ".logits"), logits.toFloatArray());
                assertTrue(diff < TOL, fixture + " adapter" + k + " prompt " + p + ": max abs diff " + diff);
            }
        }
    }

    /**
     * One left-padded batch mixing both adapters and the base, prefilled then decoded greedily: every
     * row must match its own PEFT run, logits and tokens.
     */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama", "tiny-qwen2", "tiny-gpt2"})
    void aMixedBatchMatchesEachRowsOwnRun(String fixture) {
        try (CausalModel model = (CausalModel) BaseModel.load(Fixtures.hf(fixture), Device.cpu());
                LoraAdapter a0 = load(model, fixture, 0);
                LoraAdapter a1 = load(model, fixture, 1);
                SafetensorsFile ref = Fixtures.reference(fixture);
                NDManager out = model.manager().newSubManager()) {
            int[] prompts = {0, 1, 2, 0, 2, 1};
            String[] variants = {"adapter1", "base", "adapter0", "adapter0", "adapter1", "adapter1"};
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
                    String key = "p" + prompts[r] + "." + variants[r];
                    double diff = Fixtures.maxAbsDiff(ref.readFloats(key + ".logits"), row);
                    assertTrue(diff < TOL, fixture + " row " + r + " (" + key + "): max abs diff " + diff);
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

    private static long argmax(float[] rows, int row, int width) {
        int best = 0;
        for (int i = 1; i < width; i++) {
            if (rows[row * width + i] > rows[row * width + best]) {
                best = i;
            }
        }
        return best;
    }

    @Test
    void bertLoraAndItsOwnClassifierMatchPeft() {
        try (EncoderModel model = (EncoderModel) BaseModel.load(Fixtures.hf("tiny-bert-cls"), Device.cpu());
                LoraAdapter adapter = load(model, "tiny-bert-cls", 0);
                SafetensorsFile ref = Fixtures.reference("tiny-bert-cls")) {
            List<long[]> ids = new ArrayList<>();
            for (int p = 0; p < 3; p++) {
                ids.add(ref.readLongs("p" + p + ".input_ids"));
            }
            float[][] single = model.classify(ids, MultiLoraHook.single(adapter));
            List<long[]> twice = new ArrayList<>(ids);
            twice.addAll(ids);
            List<LoraAdapter> rows = Arrays.asList(adapter, null, adapter, null, adapter, null);
            float[][] mixed;
            try (MultiLoraHook hook = new MultiLoraHook(rows)) {
                mixed = model.classify(twice, hook);
            }
            float[][] base = model.classify(ids, AdapterHook.NONE);
            for (int p = 0; p < 3; p++) {
                float[] expected = ref.readFloats("p" + p + ".adapter0.logits");
                float[] expectedBase = ref.readFloats("p" + p + ".base.logits");
                assertTrue(Fixtures.maxAbsDiff(expected, single[p]) < TOL, "prompt " + p + " " + Arrays.toString(single[p]));
                for (int r = p; r < 6; r += 3) {
                    float[] want = rows.get(r) == null ? expectedBase : expected;
                    assertTrue(Fixtures.maxAbsDiff(want, mixed[r]) < TOL, "mixed row " + r + " " + Arrays.toString(mixed[r]));
                }
                assertTrue(Fixtures.maxAbsDiff(expectedBase, base[p]) < TOL);
            }
        }
    }
}
