package io.loragate.api.grpc;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;
import java.util.UUID;

/**
 * The gateway on the {@code tiny-llama} parity fixture (Maven runs tests from the project root), with
 * a data directory of its own per test run so that adapter versions start at 1.
 */
public class TinyLlamaProfile implements QuarkusTestProfile {

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of(
                "loragate.model.path", "src/test/resources/fixtures/hf/tiny-llama",
                "loragate.data-dir", "target/test-data-grpc/" + UUID.randomUUID());
    }
}
