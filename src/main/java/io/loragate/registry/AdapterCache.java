package io.loragate.registry;

import jakarta.enterprise.context.ApplicationScoped;
import java.util.concurrent.CompletableFuture;

/**
 * The device cache of adapter weights: Caffeine weighed in device bytes ({@code LoraAdapter.bytes()})
 * within {@code loragate.cache.max-bytes}. Pinned versions are never evicted. Weights are reference
 * counted: the cache holds one reference and every {@link AdapterLease} another, so an evicted or
 * unloaded version is freed only when its last lease closes. Cold versions load on a dedicated
 * loader executor, never on the caller's thread; concurrent acquires of one cold version share one
 * load. Loading verifies the weights' SHA-256; a mismatch marks that version errored and fails it
 * with {@code DATA_LOSS}.
 */
@ApplicationScoped
public class AdapterCache {

    /**
     * A lease on the version's weights: completed at once when resident, else after a load on the
     * loader executor. Fails with the load's {@link io.loragate.model.LoragateException}. The caller
     * must close the lease.
     */
    public CompletableFuture<AdapterLease> acquire(AdapterVersion v) {
        throw new UnsupportedOperationException("not yet");
    }

    /** Keeps the version resident (loading it if cold) and exempt from eviction until {@link #unpin}. */
    public void pin(AdapterVersion v) {
        throw new UnsupportedOperationException("not yet");
    }

    /** Makes a pinned version evictable again. */
    public void unpin(AdapterVersion v) {
        throw new UnsupportedOperationException("not yet");
    }

    /** Loads the version into the cache (no lease); completes when resident. */
    public CompletableFuture<Void> load(AdapterVersion v) {
        throw new UnsupportedOperationException("not yet");
    }

    /** Drops the version from the cache; its weights are freed once no lease holds them. */
    public void unload(AdapterVersion v) {
        throw new UnsupportedOperationException("not yet");
    }

    /** The counters. */
    public CacheStats stats() {
        throw new UnsupportedOperationException("not yet");
    }
}
