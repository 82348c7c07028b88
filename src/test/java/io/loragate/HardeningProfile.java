package io.loragate;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;

/**
 * {@link AuthProfile}'s gateway (tiny-llama, authentication on, the same admin key) in its own data
 * directory, with {@code /q/metrics} behind the admin key and without tenant or adapter labels: the
 * tests of tenant deletion and of the small hardening items share it.
 */
public class HardeningProfile implements QuarkusTestProfile {

    public static final String DATA_DIR = "target/test-data-hardening";

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of(
                "loragate.model.path", "src/test/resources/fixtures/hf/tiny-llama",
                "loragate.model.id", "tiny-llama",
                "loragate.device", "cpu",
                "loragate.data-dir", DATA_DIR,
                "loragate.auth.enabled", "true",
                "loragate.auth.admin-key", AuthProfile.ADMIN_KEY,
                "loragate.metrics.require-admin-key", "true",
                "loragate.metrics.tenant-labels", "false");
    }
}
