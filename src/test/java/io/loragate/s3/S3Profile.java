package io.loragate.s3;

import io.loragate.common.S3rverServer;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** The gateway on the tiny-llama fixture with its blobs in s3rver ({@code loragate.store.url=s3://...}). */
public class S3Profile implements QuarkusTestProfile {

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of(
                "loragate.model.path", "src/test/resources/fixtures/hf/tiny-llama",
                "loragate.model.id", "tiny-llama",
                "loragate.device", "cpu",
                "loragate.data-dir", "target/test-data-s3");
    }

    @Override
    public List<TestResourceEntry> testResources() {
        return List.of(new TestResourceEntry(Store.class));
    }

    /** Starts s3rver (once per JVM) and points the store at a fresh prefix of its bucket. */
    public static class Store implements QuarkusTestResourceLifecycleManager {
        @Override
        public Map<String, String> start() {
            S3rverServer server = S3rverServer.shared();
            return Map.of(
                    "loragate.store.url", server.url("gateway-" + UUID.randomUUID()),
                    "loragate.store.s3.endpoint", server.endpoint().toString(),
                    "loragate.store.s3.region", S3rverServer.REGION,
                    "loragate.store.s3.path-style", "true");
        }

        @Override
        public void stop() {
            // the server lives as long as the JVM: other tests use it
        }
    }
}
