package io.loragate;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;

/** Serves the tiny-llama fixture as the base model (a decoder, so generation works). */
public class TinyLlamaProfile implements QuarkusTestProfile {

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of(
                "loragate.model.path", "src/test/resources/fixtures/hf/tiny-llama",
                "loragate.model.id", "tiny-llama",
                "loragate.data-dir", "target/test-data-llama");
    }
}
