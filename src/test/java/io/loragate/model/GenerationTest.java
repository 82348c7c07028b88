package io.loragate.model;

import io.loragate.common.SamplingParams;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.loragate.Fixtures;
import io.loragate.model.safetensors.SafetensorsFile;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Greedy generation, the KV cache, padded batches and the sampler. */
class GenerationTest {

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama", "tiny-qwen2", "tiny-gpt2"})
    void greedyMatchesTransformersAloneAndBatched(String fixture) {
        try (CausalModel model = (CausalModel) BaseModel.load(Fixtures.hf(fixture), Device.cpu());
                SafetensorsFile ref = Fixtures.reference(fixture)) {
            long[][] prompts = new long[3][];
            SamplingParams[] params = new SamplingParams[3];
            for (int p = 0; p < 3; p++) {
                prompts[p] = ref.readLongs("p" + p + ".input_ids");
                params[p] = SamplingParams.greedy(12);
                Generation alone = Generator.generate(model, new long[][] {prompts[p]}, AdapterHook.NONE,
                        new SamplingParams[] {params[p]}, null)[0];
                GenerationTestSupport.assertGreedy(ref.readLongs("p" + p + ".base.greedy"), alone, fixture + " prompt " + p + " alone");
            }
            // three prompts of different lengths in one padded batch
            Generation[] batch = Generator.generate(model, prompts, AdapterHook.NONE, params, null);
            for (int p = 0; p < 3; p++) {
                GenerationTestSupport.assertGreedy(ref.readLongs("p" + p + ".base.greedy"), batch[p], fixture + " prompt " + p + " batched");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama", "tiny-qwen2", "tiny-gpt2"})
    void kvCacheDecodeEqualsFullRecomputationFor20Steps(String fixture) {
        try (CausalModel model = (CausalModel) BaseModel.load(Fixtures.hf(fixture), Device.cpu());
                SafetensorsFile ref = Fixtures.reference(fixture);
                NDManager out = model.manager().newSubManager();
                KvCache cache = model.newCache(1)) {
            long[] seq = ref.readLongs("p1.input_ids");
            float[] step = model.forward(out, new long[][] {seq}, cache, AdapterHook.NONE, false).toFloatArray();
            for (int i = 0; i < 20; i++) {
                long next = Sampler.argMax(step);
                seq = Arrays.copyOf(seq, seq.length + 1);
                seq[seq.length - 1] = next;
                step = model.forward(out, new long[][] {{next}}, cache, AdapterHook.NONE, false).toFloatArray();
                NDArray full = model.logits(out, seq, AdapterHook.NONE);          // (t, vocab), no cache
                float[] last = full.get(seq.length - 1).toFloatArray();
                double diff = Fixtures.maxAbsDiff(last, step);
                assertTrue(diff < 1e-4, fixture + " step " + i + ": cached vs recomputed max abs diff " + diff);
            }
            assertEquals(seq.length, cache.length(0));
        }
    }

    @Test
    void samplerIsReproducibleWithASeedAndHonoursTopKAndTopP() {
        float[] logits = {2f, 1.5f, 1f, 0.5f, 0f, -1f};
        SamplingParams seeded = new SamplingParams(8, 1.0, 0, 1.0, 42L, Set.of(), List.of(), false);
        long[] a = new long[50];
        long[] b = new long[50];
        Sampler sa = new Sampler(seeded);
        Sampler sb = new Sampler(seeded);
        for (int i = 0; i < 50; i++) {
            a[i] = sa.next(logits).token();
            b[i] = sb.next(logits).token();
        }
        assertArrayEquals(a, b);
        assertTrue(Arrays.stream(a).distinct().count() > 2, "temperature 1 should explore several tokens");
        Sampler topK = new Sampler(new SamplingParams(8, 5.0, 2, 1.0, 1L, Set.of(), List.of(), false));
        Sampler topP = new Sampler(new SamplingParams(8, 1.0, 0, 0.5, 1L, Set.of(), List.of(), false));
        for (int i = 0; i < 200; i++) {
            assertTrue(topK.next(logits).token() < 2, "top_k 2 keeps tokens 0 and 1");
            assertTrue(topP.next(logits).token() < 2, "top_p 0.5 keeps the smallest set reaching 0.5: tokens 0 and 1");
        }
        Sampler.Choice greedy = new Sampler(SamplingParams.greedy(1)).next(logits);
        assertEquals(0, greedy.token());
        assertEquals(Sampler.logSoftmaxAt(logits, 0), greedy.logprob(), 1e-12);
        assertTrue(greedy.logprob() < 0);
    }

    @Test
    void stopStringsAndStopTokensEndGeneration() {
        try (CausalModel model = (CausalModel) BaseModel.load(Fixtures.hf("tiny-llama"), Device.cpu());
                TextTokenizer tok = TextTokenizer.load(Fixtures.hf("tiny-llama"))) {
            long[] prompt = tok.encode("the software");
            Generation free = Generator.generate(model, new long[][] {prompt}, AdapterHook.NONE,
                    new SamplingParams[] {SamplingParams.greedy(12)}, tok)[0];
            assertTrue(free.tokens().length >= 3, "fixture prompt should generate a few tokens");
            long stopToken = free.tokens()[2];
            Generation byToken = Generator.generate(model, new long[][] {prompt}, AdapterHook.NONE,
                    new SamplingParams[] {new SamplingParams(12, 0, 0, 1, null, Set.of(stopToken), List.of(), false)}, tok)[0];
            assertEquals("stop", byToken.finishReason());
            assertEquals(2, byToken.tokens().length);
            String stop = free.text().substring(free.text().length() / 2, free.text().length() / 2 + 1);
            Generation byString = Generator.generate(model, new long[][] {prompt}, AdapterHook.NONE,
                    new SamplingParams[] {new SamplingParams(12, 0, 0, 1, null, Set.of(), List.of(stop), false)}, tok)[0];
            assertEquals("stop", byString.finishReason());
            assertEquals(free.text().substring(0, free.text().indexOf(stop)), byString.text());
            assertNotEquals(free.text(), byString.text());
            assertEquals(12, Generator.generate(model, new long[][] {prompt}, AdapterHook.NONE,
                    new SamplingParams[] {new SamplingParams(12, 0, 0, 1, null, Set.of(), List.of(), true)}, tok)[0].tokens().length);
        }
    }
}
