package io.loragate.adapter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.loragate.model.AdapterHook;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.model.EncoderModel;
import io.loragate.model.Generation;
import io.loragate.model.Generator;
import io.loragate.model.KvCache;
import io.loragate.common.SamplingParams;
import io.loragate.model.safetensors.SafetensorsFile;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * Our forward + LoRA against transformers + PEFT on every fixture, and the mixed-adapter batch:
 * rows for the base, adapter0 and adapter1 in one forward each give what they give alone.
 */
class AdapterParityTest {

    static final double TOL = 1e-4;

    static String key(LoraAdapter a, int i) {
        return a == null ? "base" : "adapter" + i;
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama", "tiny-qwen2", "tiny-gpt2"})
    void adapterLogitsAndGreedyMatchPeft(String fixture) {
        try (CausalModel model = (CausalModel) BaseModel.load(io.loragate.Fixtures.hf(fixture), Device.cpu());
                SafetensorsFile ref = io.loragate.Fixtures.reference(fixture);
                NDManager out = model.manager().newSubManager()) {
            for (int a = 0; a < 2; a++) {
                try (LoraAdapter adapter = LoraAdapter.load(io.loragate.Fixtures.hf(fixture).resolve("adapter" + a),
                        model.config().family(), model.linears(), model.paramShapes(), Device.cpu())) {
                    AdapterHook hook = MultiLoraHook.single(adapter);
                    for (int p = 0; p < 3; p++) {
                        long[] ids = ref.readLongs("p" + p + ".input_ids");
                        NDArray logits = model.logits(out, ids, hook);
                        double diff = io.loragate.Fixtures.maxAbsDiff(ref.readFloats("p" + p + ".adapter" + a + ".logits"), logits.toFloatArray());
                        assertTrue(diff < TOL, fixture + " adapter" + a + " prompt " + p + ": max abs diff " + diff);
                        Generation g = Generator.generate(model, new long[][] {ids}, hook,
                                new SamplingParams[] {SamplingParams.greedy(12)}, null)[0];
                        io.loragate.model.GenerationTestSupport.assertGreedy(ref.readLongs("p" + p + ".adapter" + a + ".greedy"), g,
                                fixture + " adapter" + a + " prompt " + p);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama", "tiny-qwen2", "tiny-gpt2"})
    void mixedBatchRowsGiveExactlyWhatTheyGiveAlone(String fixture) {
        try (CausalModel model = (CausalModel) BaseModel.load(io.loragate.Fixtures.hf(fixture), Device.cpu());
                SafetensorsFile ref = io.loragate.Fixtures.reference(fixture);
                LoraAdapter a0 = LoraAdapter.load(io.loragate.Fixtures.hf(fixture).resolve("adapter0"), model.config().family(), model.linears(), model.paramShapes(), Device.cpu());
                LoraAdapter a1 = LoraAdapter.load(io.loragate.Fixtures.hf(fixture).resolve("adapter1"), model.config().family(), model.linears(), model.paramShapes(), Device.cpu());
                NDManager out = model.manager().newSubManager()) {
            LoraAdapter[] choices = {null, a0, a1};
            // every assignment of (base, adapter0, adapter1) to the three prompts, rotated
            for (int shift = 0; shift < 3; shift++) {
                long[][] prompts = new long[3][];
                List<LoraAdapter> rows = new ArrayList<>();
                String[] expectKey = new String[3];
                for (int p = 0; p < 3; p++) {
                    prompts[p] = ref.readLongs("p" + p + ".input_ids");
                    int c = (p + shift) % 3;
                    rows.add(choices[c]);
                    expectKey[p] = c == 0 ? "base" : "adapter" + (c - 1);
                }
                MultiLoraHook hook = MultiLoraHook.perForward(rows);
                // all-position logits of the padded batch, compared row by row to the reference and to the row alone
                try (KvCache cache = model.newCache(3)) {
                    NDArray batch = model.forward(out, prompts, cache, hook, true); // (3, t, vocab), left-padded
                    long t = batch.getShape().get(1);
                    for (int p = 0; p < 3; p++) {
                        float[] rowLogits = batch.get(p).get((t - prompts[p].length) + ":").toFloatArray();
                        double diffRef = io.loragate.Fixtures.maxAbsDiff(ref.readFloats("p" + p + "." + expectKey[p] + ".logits"), rowLogits);
                        assertTrue(diffRef < TOL, fixture + " row " + p + " (" + expectKey[p] + ") vs PEFT: " + diffRef);
                        AdapterHook alone = rows.get(p) == null ? AdapterHook.NONE : MultiLoraHook.single(rows.get(p));
                        float[] aloneLogits = model.logits(out, prompts[p], alone).toFloatArray();
                        double diffAlone = io.loragate.Fixtures.maxAbsDiff(aloneLogits, rowLogits);
                        assertTrue(diffAlone < 1e-5, fixture + " row " + p + " batched vs alone: " + diffAlone);
                    }
                }
                SamplingParams[] greedy = new SamplingParams[3];
                Arrays.fill(greedy, SamplingParams.greedy(12));
                Generation[] g = Generator.generate(model, prompts, hook, greedy, null);
                for (int p = 0; p < 3; p++) {
                    io.loragate.model.GenerationTestSupport.assertGreedy(ref.readLongs("p" + p + "." + expectKey[p] + ".greedy"), g[p],
                            fixture + " mixed row " + p + " (" + expectKey[p] + ")");
                }
            }
        }
    }

    @Test
    void bertClassifierAdapterWithModulesToSaveMatchesPeftAloneAndMixed() {
        try (EncoderModel model = (EncoderModel) BaseModel.load(io.loragate.Fixtures.hf("tiny-bert-cls"), Device.cpu());
                SafetensorsFile ref = io.loragate.Fixtures.reference("tiny-bert-cls");
                LoraAdapter adapter = LoraAdapter.load(io.loragate.Fixtures.hf("tiny-bert-cls").resolve("adapter0"),
                        model.config().family(), model.linears(), model.paramShapes(), Device.cpu())) {
            List<long[]> ids = new ArrayList<>();
            for (int p = 0; p < 3; p++) {
                ids.add(ref.readLongs("p" + p + ".input_ids"));
                float[] logits = model.classify(List.of(ids.get(p)), MultiLoraHook.single(adapter))[0];
                double diff = io.loragate.Fixtures.maxAbsDiff(ref.readFloats("p" + p + ".adapter0.logits"), logits);
                assertTrue(diff < TOL, "bert adapter0 prompt " + p + ": " + diff);
            }
            List<LoraAdapter> rows = Arrays.asList(adapter, null, adapter);
            float[][] mixed = model.classify(ids, MultiLoraHook.perForward(rows));
            for (int p = 0; p < 3; p++) {
                String k = rows.get(p) == null ? "base" : "adapter0";
                double diff = io.loragate.Fixtures.maxAbsDiff(ref.readFloats("p" + p + "." + k + ".logits"), mixed[p]);
                assertTrue(diff < TOL, "bert mixed row " + p + " (" + k + "): " + diff);
            }
        }
    }
}
