package io.loragate.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.loragate.Fixtures;
import io.loragate.model.safetensors.SafetensorsFile;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Base-model parity with Hugging Face transformers on the tiny decoder fixtures. */
class CausalParityTest {

    static final double TOL = 1e-4;

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama", "tiny-qwen2", "tiny-gpt2"})
    void baseLogitsMatchTransformers(String fixture) {
        try (CausalModel model = (CausalModel) BaseModel.load(Fixtures.hf(fixture), Device.cpu());
                SafetensorsFile ref = Fixtures.reference(fixture);
                NDManager out = model.manager().newSubManager()) {
            for (int p = 0; p < 3; p++) {
                long[] ids = ref.readLongs("p" + p + ".input_ids");
                NDArray logits = model.logits(out, ids, AdapterHook.NONE);
                double diff = Fixtures.maxAbsDiff(ref.readFloats("p" + p + ".base.logits"), logits.toFloatArray());
                assertTrue(diff < TOL, fixture + " prompt " + p + ": max abs diff " + diff);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama", "tiny-qwen2", "tiny-gpt2"})
    void tokenizerReproducesFixtureIds(String fixture) {
        try (TextTokenizer tok = TextTokenizer.load(Fixtures.hf(fixture));
                SafetensorsFile ref = Fixtures.reference(fixture)) {
            String[] prompts = {"Transfer learning isn't magic; it's thrift.", "Permission is hereby granted, free of charge,", "the software"};
            for (int p = 0; p < 3; p++) {
                assertArrayEquals(ref.readLongs("p" + p + ".input_ids"), tok.encode(prompts[p]), fixture + " prompt " + p);
            }
        }
    }
}
