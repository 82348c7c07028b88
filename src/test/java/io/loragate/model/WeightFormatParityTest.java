package io.loragate.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.loragate.Fixtures;
import io.loragate.adapter.LoraAdapter;
import io.loragate.adapter.MultiLoraHook;
import io.loragate.common.LoragateException;
import io.loragate.common.SamplingParams;
import io.loragate.model.safetensors.SafetensorsFile;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A Llama-family base held in float16 or int8 against the same base in float32, on the fixtures'
 * prompts: the largest logit error relative to the largest logit, and greedy agreement (printed).
 *
 * <p>Tolerances, relative to max |logit| of the float32 forward: float16 5e-3, int8 1e-1. Measured
 * worst cases on these fixtures (docs/weight-formats.md): float16 1.7e-3, int8 6.7e-2 (both tiny-llama3;
 * 2e-4 to 4e-4 and 5e-3 to 2e-2 elsewhere). float16's is 3x its worst and 10x its per-weight rounding (2⁻¹¹); int8's
 * is 1.5x its worst and 25x its per-weight rounding (half a step, 1/254 of a row's largest weight):
 * random tiny models amplify the rounding through two layers and small logits. Both stay far below
 * what a wrong scale, a transposed weight or a lost row gives: errors of the order of the logits
 * (an adapter's change is 1.5 on the same scale).
 */
class WeightFormatParityTest {

    @ParameterizedTest
    @CsvSource({"tiny-llama,FLOAT16,5e-3", "tiny-llama,INT8,1e-1", "tiny-qwen2,INT8,1e-1", "tiny-qwen3,INT8,1e-1",
            "tiny-phi3,INT8,1e-1", "tiny-llama3,INT8,1e-1", "tiny-mistral-sw,INT8,1e-1", "tiny-qwen2,FLOAT16,5e-3",
            "tiny-phi3,FLOAT16,5e-3", "tiny-llama3,FLOAT16,5e-3"})
    void logitsStayWithinTheFormatsToleranceOfFloat32(String fixture, WeightFormat format, double tolerance) {
        try (CausalModel exact = (CausalModel) BaseModel.load(Fixtures.hf(fixture), Device.cpu());
                CausalModel held = (CausalModel) BaseModel.load(Fixtures.hf(fixture), Device.cpu(), format);
                SafetensorsFile ref = Fixtures.reference(fixture);
                NDManager out = exact.manager().newSubManager()) {
            double worst = 0;
            int agree = 0;
            int total = 0;
            int sameArgMax = 0;
            int positions = 0;
            for (int p = 0; p < 3; p++) {
                long[] ids = ref.readLongs("p" + p + ".input_ids");
                float[] a = exact.logits(out, ids, AdapterHook.NONE).toFloatArray();
                float[] b = held.logits(out, ids, AdapterHook.NONE).toFloatArray();
                worst = Math.max(worst, Fixtures.maxAbsDiff(a, b) / maxAbs(a));
                int vocab = exact.config().vocabSize();
                for (int t = 0; t < ids.length; t++) { // the next token each prompt position predicts, (t, vocab)
                    sameArgMax += argMax(a, t * vocab, vocab) == argMax(b, t * vocab, vocab) ? 1 : 0;
                    positions++;
                }
                long[] ga = greedy(exact, ids);
                long[] gb = greedy(held, ids);
                agree += identicalPrefix(ga, gb);
                total += ga.length;
            }
            System.out.printf(Locale.ROOT, "weight-format %s %s: max |dlogit| / max |logit| = %.2e, next-token argmax "
                    + "same at %d/%d prompt positions, greedy 12 tokens identical %d/%d, weights %d of %d bytes%n",
                    format.settingName(), fixture, worst, sameArgMax, positions, agree, total, held.weightBytes(),
                    exact.weightBytes());
            assertTrue(worst < tolerance, fixture + " " + format + ": relative logit error " + worst + " >= " + tolerance);
            // the format is really in effect: linear weights and the embedding dominate these fixtures' bytes
            double ratio = (double) held.weightBytes() / exact.weightBytes();
            double expected = format.bytesPerWeight() / 4.0;
            assertTrue(ratio < expected + 0.1, fixture + " " + format + ": weights take " + ratio + " of float32");
        }
    }

    @Test
    void aLoraAdapterOnAnInt8BaseAddsTheSameDelta() {
        try (CausalModel exact = (CausalModel) BaseModel.load(Fixtures.hf("tiny-llama"), Device.cpu());
                CausalModel held = (CausalModel) BaseModel.load(Fixtures.hf("tiny-llama"), Device.cpu(), WeightFormat.INT8);
                LoraAdapter onExact = LoraAdapter.load(Fixtures.hf("tiny-llama").resolve("adapter0"), exact);
                LoraAdapter onHeld = LoraAdapter.load(Fixtures.hf("tiny-llama").resolve("adapter0"), held);
                SafetensorsFile ref = Fixtures.reference("tiny-llama");
                NDManager out = exact.manager().newSubManager()) {
            long[] ids = ref.readLongs("p0.input_ids");
            float[] baseA = exact.logits(out, ids, AdapterHook.NONE).toFloatArray();
            float[] baseB = held.logits(out, ids, AdapterHook.NONE).toFloatArray();
            float[] adaptedA = exact.logits(out, ids, new MultiLoraHook(List.of(onExact))).toFloatArray();
            float[] adaptedB = held.logits(out, ids, new MultiLoraHook(List.of(onHeld))).toFloatArray();
            double scale = maxAbs(adaptedA);
            double baseErr = Fixtures.maxAbsDiff(baseA, baseB) / scale;
            double adaptedErr = Fixtures.maxAbsDiff(adaptedA, adaptedB) / scale;
            double delta = Fixtures.maxAbsDiff(adaptedA, baseA) / scale;
            System.out.printf(Locale.ROOT, "weight-format int8 tiny-llama adapter0: base error %.2e, adapted error %.2e, "
                    + "adapter delta %.2e (relative to max |logit|)%n", baseErr, adaptedErr, delta);
            assertTrue(delta > 10 * adaptedErr, "the adapter's effect " + delta + " must dwarf the int8 error " + adaptedErr);
            assertTrue(adaptedErr < 5e-2, "adapted logits off by " + adaptedErr);
        }
    }

    @Test
    void anotherArchitectureRefusesAFormatItDoesNotImplement() {
        LoragateException e = assertThrows(LoragateException.class,
                () -> BaseModel.load(Fixtures.hf("tiny-gpt2"), Device.cpu(), WeightFormat.INT8).close());
        assertEquals(LoragateException.Kind.UNIMPLEMENTED, e.kind());
        assertTrue(e.getMessage().contains("Llama family"), e.getMessage());
    }

    static long[] greedy(CausalModel model, long[] prompt) {
        return Generator.generate(model, new long[][] {prompt}, AdapterHook.NONE,
                new SamplingParams[] {SamplingParams.greedy(12)}, null)[0].tokens();
    }

    static int identicalPrefix(long[] a, long[] b) {
        int n = 0;
        while (n < Math.min(a.length, b.length) && a[n] == b[n]) {
            n++;
        }
        return n;
    }

    static int argMax(float[] a, int from, int n) {
        int best = from;
        for (int i = from; i < from + n; i++) {
            best = a[i] > a[best] ? i : best;
        }
        return best - from;
    }

    static double maxAbs(float[] a) {
        double m = 0;
        for (float v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }
}
