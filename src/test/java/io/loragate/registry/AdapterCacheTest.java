package io.loragate.registry;

import static io.loragate.registry.RegistryFixtures.adapter;
import static io.loragate.registry.RegistryFixtures.config;
import static io.loragate.registry.RegistryFixtures.uniqueName;
import static io.loragate.registry.RegistryFixtures.weights;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.adapter.AdapterAccess;
import io.loragate.adapter.LoraAdapter;
import io.loragate.common.DurableFiles;
import io.loragate.common.LoragateException;
import io.loragate.runtime.ResidentModel;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The adapter cache on the tiny-llama base with a budget that holds two adapters. */
@QuarkusTest
@TestProfile(TinyLlamaRegistryProfile.class)
class AdapterCacheTest {

    static final String TENANT = "default";

    @Inject
    ResidentModel resident;

    @Inject
    AdapterRegistry registry;

    @Inject
    AdapterCache cache;

    @TempDir
    Path tmp;

    @BeforeEach
    void baseIsLoaded() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
    }

    AdapterVersion register(String prefix) {
        Path folder = adapter("tiny-llama", 0);
        return registry.register(TENANT, uniqueName(prefix), config(folder), weights(folder));
    }

    static AdapterLease lease(CompletableFuture<AdapterLease> f) throws Exception {
        return f.get(60, TimeUnit.SECONDS);
    }

    @Test
    void fiveAdaptersInRotationWithABudgetForTwoAllSucceedAndEvict() throws Exception {
        List<AdapterVersion> five = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            five.add(register("rot"));
        }
        CacheStats before = cache.stats();
        for (int round = 0; round < 3; round++) {
            for (AdapterVersion v : five) {
                try (AdapterLease l = lease(cache.acquire(v))) {
                    assertEquals(v, l.version());
                    assertEquals(TinyLlamaRegistryProfile.ADAPTER0_BYTES, l.adapter().bytes());
                    assertEquals(14, l.adapter().loraModules().size());
                }
                assertTrue(cache.stats().bytes() <= cache.stats().budgetBytes());
            }
        }
        CacheStats after = cache.stats();
        // Room for two of five: most acquires miss (TinyLFU may keep a frequent one), and each load evicts one.
        assertEquals(15, (after.misses() - before.misses()) + (after.hits() - before.hits()));
        assertTrue(after.misses() - before.misses() >= 9, before + " -> " + after);
        assertEquals(after.misses() - before.misses(), after.loads() - before.loads());
        assertTrue(after.evictions() - before.evictions() >= after.loads() - before.loads() - 2, before + " -> " + after);
        assertTrue(after.resident() <= 2 + after.pinned(), after.toString());
        assertEquals(before.leases(), after.leases());
        assertEquals(before.retiredBytes(), after.retiredBytes(), "nothing is held after the leases closed");
        assertTrue(after.lastLoadMillis() > 0);

        // A warm version is served at once, without a load.
        AdapterVersion resident = five.stream().filter(cache::isResident).findFirst().orElseThrow();
        CompletableFuture<AdapterLease> warm = cache.acquire(resident);
        assertTrue(warm.isDone(), "a resident version's lease is ready at once");
        warm.join().close();
        warm.join().close(); // idempotent
        assertEquals(after.hits() + 1, cache.stats().hits());
        assertEquals(after.loads(), cache.stats().loads());
        assertEquals(before.leases(), cache.stats().leases());
    }

    @Test
    void aLeaseHeldAcrossEvictionKeepsItsWeightsUntilItCloses() throws Exception {
        AdapterVersion held = register("held");
        List<AdapterVersion> others = List.of(register("evictor"), register("evictor"));
        long retired = cache.stats().retiredBytes();
        long evictions = cache.stats().evictions();
        AdapterLease lease = lease(cache.acquire(held));
        LoraAdapter weights = lease.adapter();
        // Pinning two others leaves Caffeine no room: whatever it holds is evicted, this one included
        // (deterministic, unlike churn, where TinyLFU may keep it and turn the newcomers away).
        for (AdapterVersion v : others) {
            pinAndWait(v);
        }
        // Caffeine evicts in its maintenance, which may run just after the pin's load completes
        for (int i = 0; i < 1000 && (cache.stats().evictions() <= evictions || cache.isResident(held)); i++) {
            Thread.sleep(10);
        }
        assertTrue(cache.stats().evictions() > evictions);
        assertFalse(cache.isResident(held), "evicted from the cache");
        assertTrue(AdapterAccess.isOpen(weights), "but its weights live on for the lease");
        assertEquals(retired + weights.bytes(), cache.stats().retiredBytes());
        // The arrays are still usable: writing the adapter back reads every one of them.
        weights.save(tmp.resolve("copy"));
        assertEquals(DurableFiles.sha256(weights(adapter("tiny-llama", 0))).length(),
                DurableFiles.sha256(weights(tmp.resolve("copy"))).length());

        others.forEach(cache::unpin);
        lease.close();
        assertFalse(AdapterAccess.isOpen(weights), "freed once the last lease closed");
        assertEquals(retired, cache.stats().retiredBytes());
        assertThrows(IllegalStateException.class, lease::adapter);
        lease.close(); // idempotent: no double release

        // Acquiring it again loads a fresh copy.
        try (AdapterLease again = lease(cache.acquire(held))) {
            assertTrue(AdapterAccess.isOpen(again.adapter()));
        }
    }

    void pinAndWait(AdapterVersion v) throws Exception {
        cache.pin(v);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!cache.isResident(v) && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(cache.isResident(v) && cache.isPinned(v), v.id() + " pinned");
    }

    @Test
    void concurrentAcquiresOfOneColdVersionShareOneLoadOnTheLoaderThread() throws Exception {
        AdapterVersion v = register("shared");
        Set<String> threads = ConcurrentHashMap.newKeySet();
        cache.addLoadListener(nanos -> threads.add(Thread.currentThread().getName()));
        long loads = cache.stats().loads();
        int open = cache.stats().leases();
        List<CompletableFuture<AdapterLease>> futures = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            futures.add(cache.acquire(v));
        }
        List<AdapterLease> leases = new ArrayList<>();
        for (CompletableFuture<AdapterLease> f : futures) {
            leases.add(lease(f));
        }
        assertEquals(loads + 1, cache.stats().loads(), "one load for eight acquires");
        for (AdapterLease l : leases) {
            assertSame(leases.get(0).adapter(), l.adapter());
        }
        assertEquals(open + 8, cache.stats().leases());
        leases.forEach(AdapterLease::close);
        assertEquals(open, cache.stats().leases());
        assertTrue(threads.stream().allMatch(t -> t.startsWith("loragate-adapter-loader-")), threads.toString());
    }

    @Test
    void pinnedVersionsAreNeverEvicted() throws Exception {
        AdapterVersion pinned = register("pinned");
        pinAndWait(pinned);
        for (int i = 0; i < 3; i++) {
            lease(cache.acquire(register("churn"))).close();
        }
        assertTrue(cache.isResident(pinned), "a pinned version survives churn");
        assertEquals(LoragateException.Kind.FAILED_PRECONDITION,
                assertThrows(LoragateException.class, () -> cache.unload(pinned)).kind());
        cache.unpin(pinned);
        cache.unload(pinned);
        assertFalse(cache.isResident(pinned));
        assertEquals(0, cache.stats().pinned());
    }

    @Test
    void aCorruptedWeightsFileFailsOnlyItsVersionWithDataLoss() throws Exception {
        AdapterVersion corrupted = register("corrupt");
        AdapterVersion healthy = register("healthy");
        Path file = weights(registry.folder(corrupted));
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            long at = f.length() - 3; // inside the last tensor's data
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0x40);
        }
        ExecutionException e = assertThrows(ExecutionException.class, () -> lease(cache.acquire(corrupted)));
        LoragateException cause = assertInstanceOf(LoragateException.class, e.getCause());
        assertEquals(LoragateException.Kind.DATA_LOSS, cause.kind());
        assertTrue(cause.getMessage().contains(corrupted.id()) && cause.getMessage().contains("sha256"), cause.getMessage());
        assertEquals(VersionStatus.ERRORED, registry.status(corrupted).state());
        // Still errored the next time, without reading the file again; and it cannot be made active.
        e = assertThrows(ExecutionException.class, () -> lease(cache.acquire(corrupted)));
        assertEquals(LoragateException.Kind.DATA_LOSS, ((LoragateException) e.getCause()).kind());

        try (AdapterLease ok = lease(cache.acquire(healthy))) {
            assertTrue(AdapterAccess.isOpen(ok.adapter()));
        }
    }

    @Test
    void deletingAVersionInUseFreesItOnlyAfterItsLastLease() throws Exception {
        AdapterVersion v1 = register("swap");
        Path folder = adapter("tiny-llama", 1);
        AdapterVersion v2 = registry.register(TENANT, v1.name(), config(folder), weights(folder));
        AdapterLease running = lease(cache.acquire(registry.resolve(TENANT, v1.name())));
        assertEquals(1, running.version().version());
        registry.setActive(TENANT, v1.name(), 2);
        assertEquals(v2, registry.resolve(TENANT, v1.name()));
        registry.deleteVersion(TENANT, v1.name(), 1);
        assertFalse(cache.isResident(v1));
        assertTrue(AdapterAccess.isOpen(running.adapter()), "the request that started on v1 keeps it");
        LoraAdapter weights = running.adapter();
        running.close();
        assertFalse(AdapterAccess.isOpen(weights));
        ExecutionException e = assertThrows(ExecutionException.class, () -> lease(cache.acquire(v1)));
        assertEquals(LoragateException.Kind.NOT_FOUND, ((LoragateException) e.getCause()).kind());
    }
}
