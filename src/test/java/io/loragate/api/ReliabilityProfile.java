package io.loragate.api;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;

/**
 * The tiny-llama gateway with a batch of 2 and a queue of 2, so that a test can fill the engine and
 * its queue with a handful of requests (cancellation while running and while waiting, overload).
 */
public class ReliabilityProfile implements QuarkusTestProfile {

    public static final int MAX_BATCH = 2;
    public static final int MAX_QUEUE = 2;

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of(
                "loragate.model.path", "src/test/resources/fixtures/hf/tiny-llama",
                "loragate.model.id", "tiny-llama",
                "loragate.device", "cpu",
                "loragate.data-dir", "target/test-data-reliability",
                "loragate.engine.max-batch", Integer.toString(MAX_BATCH),
                "loragate.engine.max-queue", Integer.toString(MAX_QUEUE));
    }
}
