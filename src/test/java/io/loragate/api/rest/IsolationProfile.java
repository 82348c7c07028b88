package io.loragate.api.rest;

import io.loragate.AuthProfile;
import java.util.Map;

/**
 * Tiny-llama with authentication (two tenants), a batch of 2 and a queue long enough to hold 250
 * requests of one tenant, a 1 MiB adapter limit and a 3 s upload idle timeout: the worker-starvation
 * tests ({@link WorkerStarvationTest}).
 */
public class IsolationProfile extends AuthProfile {

    static final long ADAPTER_LIMIT = 1024 * 1024;
    static final int UPLOADS_PER_TENANT = 4;
    /** Bytes per second an upload must deliver (the flood test's trickle sends about 5). */
    static final long MIN_RATE = 2;

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.ofEntries(
                Map.entry("loragate.model.path", "src/test/resources/fixtures/hf/tiny-llama"),
                Map.entry("loragate.model.id", "tiny-llama"),
                Map.entry("loragate.device", "cpu"),
                Map.entry("loragate.data-dir", "target/test-data-isolation"),
                Map.entry("loragate.auth.enabled", "true"),
                Map.entry("loragate.auth.admin-key", ADMIN_KEY),
                Map.entry("loragate.adapters.max-upload-bytes", "1M"),
                Map.entry("loragate.files.max-bytes", "512K"),
                Map.entry("loragate.uploads.idle-timeout", "3s"),
                Map.entry("loragate.uploads.min-bytes-per-second", Long.toString(MIN_RATE)),
                Map.entry("loragate.uploads.max-concurrent-per-tenant", Integer.toString(UPLOADS_PER_TENANT)),
                Map.entry("loragate.engine.max-batch", "2"),
                Map.entry("loragate.engine.max-queue", "300"));
    }
}
