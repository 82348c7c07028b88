package io.loragate.registry;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;

/**
 * The gateway on the tiny-llama fixture (a decoder that the fixture adapters fit), with its own data
 * directory and an adapter cache budget that holds two of the fixture's r=4 adapters (35,840 bytes
 * each) but not three, a rank limit of 16, an upload limit of 1 MiB and a JSON body limit of 256 KiB.
 */
public class TinyLlamaRegistryProfile implements QuarkusTestProfile {

    /** Device bytes of tiny-llama's adapter0 (r=4 on all 14 linear layers). */
    public static final long ADAPTER0_BYTES = 35_840;
    public static final long BUDGET = 2 * ADAPTER0_BYTES + 8_000;

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of(
                "loragate.model.path", "src/test/resources/fixtures/hf/tiny-llama",
                "loragate.device", "cpu",
                "loragate.data-dir", "target/test-data-registry",
                "loragate.cache.max-bytes", Long.toString(BUDGET),
                "loragate.adapters.max-rank", "16",
                "loragate.adapters.max-upload-bytes", "1M",
                "loragate.limits.max-json-bytes", "256K");
    }
}
