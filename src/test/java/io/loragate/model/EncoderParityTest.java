package io.loragate.model;

import io.loragate.common.LoragateException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.loragate.Fixtures;
import io.loragate.model.safetensors.SafetensorsFile;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** BERT parity with transformers on the tiny-bert-cls fixture. */
class EncoderParityTest {

    static final String[] PROMPTS = {"Transfer learning isn't magic; it's thrift.", "Permission is hereby granted, free of charge,", "the software"};

    @Test
    void lastHiddenStateAndLogitsMatchTransformersAloneAndPadded() {
        try (EncoderModel model = (EncoderModel) BaseModel.load(Fixtures.hf("tiny-bert-cls"), Device.cpu());
                TextTokenizer tok = TextTokenizer.load(Fixtures.hf("tiny-bert-cls"));
                SafetensorsFile ref = Fixtures.reference("tiny-bert-cls")) {
            assertTrue(model.hasClassifier());
            assertEquals(List.of("LABEL_0", "LABEL_1", "LABEL_2"), model.config().labels());
            List<long[]> all = new ArrayList<>();
            for (int p = 0; p < 3; p++) {
                long[] ids = ref.readLongs("p" + p + ".input_ids");
                assertArrayEquals(ids, tok.encode(PROMPTS[p]), "WordPiece ids of prompt " + p);
                all.add(ids);
                float[][][] hidden = model.lastHidden(List.of(ids), AdapterHook.NONE);
                assertClose(ref.readFloats("p" + p + ".base.last_hidden"), flatten(hidden[0]), "hidden " + p);
                assertClose(ref.readFloats("p" + p + ".base.logits"), model.classify(List.of(ids), AdapterHook.NONE)[0], "logits " + p);
            }
            float[][][] hidden = model.lastHidden(all, AdapterHook.NONE);
            float[][] logits = model.classify(all, AdapterHook.NONE);
            for (int p = 0; p < 3; p++) {
                assertClose(ref.readFloats("p" + p + ".base.last_hidden"), flatten(hidden[p]), "padded hidden " + p);
                assertClose(ref.readFloats("p" + p + ".base.logits"), logits[p], "padded logits " + p);
            }
        }
    }

    @Test
    void embeddingsAreUnitVectorsAndGenerationIsNotOffered() {
        try (EncoderModel model = (EncoderModel) BaseModel.load(Fixtures.hf("tiny-bert-cls"), Device.cpu());
                TextTokenizer tok = TextTokenizer.load(Fixtures.hf("tiny-bert-cls"))) {
            List<long[]> ids = List.of(tok.encode(PROMPTS[0]), tok.encode(PROMPTS[2]));
            for (EncoderModel.Pooling pooling : EncoderModel.Pooling.values()) {
                float[][] e = model.embed(ids, pooling, AdapterHook.NONE);
                for (float[] v : e) {
                    double norm = 0;
                    for (float x : v) {
                        norm += x * x;
                    }
                    assertEquals(1.0, Math.sqrt(norm), 1e-5, pooling + " vector is L2-normalised");
                }
            }
            // mean pooling of one row equals the mean of its hidden states
            float[][][] hidden = model.lastHidden(List.of(ids.get(1)), AdapterHook.NONE);
            float[] mean = new float[model.config().hiddenSize()];
            for (float[] row : hidden[0]) {
                for (int i = 0; i < mean.length; i++) {
                    mean[i] += row[i] / hidden[0].length;
                }
            }
            double n = 0;
            for (float x : mean) {
                n += x * x;
            }
            float[] expected = new float[mean.length];
            for (int i = 0; i < mean.length; i++) {
                expected[i] = (float) (mean[i] / Math.sqrt(n));
            }
            assertClose(expected, model.embed(List.of(ids.get(1)), EncoderModel.Pooling.MEAN, AdapterHook.NONE)[0], "mean pooling");
            LoragateException e = assertThrows(LoragateException.class, () -> model.embed(List.of(new long[0]), EncoderModel.Pooling.MEAN, AdapterHook.NONE));
            assertEquals(LoragateException.Kind.INVALID_ARGUMENT, e.kind());
        }
    }

    static float[] flatten(float[][] m) {
        float[] out = new float[m.length * m[0].length];
        for (int i = 0; i < m.length; i++) {
            System.arraycopy(m[i], 0, out, i * m[0].length, m[0].length);
        }
        return out;
    }

    static void assertClose(float[] expected, float[] actual, String what) {
        double diff = Fixtures.maxAbsDiff(expected, actual);
        assertTrue(diff < 1e-4, what + ": max abs diff " + diff);
    }
}
