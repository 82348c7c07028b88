package io.loragate.registry;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import io.loragate.adapter.LoraAdapter;
import io.loragate.config.LoragateConfig;
import io.loragate.model.BaseModel;
import io.loragate.common.DurableFiles;
import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import io.loragate.runtime.ResidentModel;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongConsumer;
import org.jboss.logging.Logger;

/**
 * The device cache of adapter weights: Caffeine weighed in device bytes ({@link LoraAdapter#bytes()})
 * within {@code loragate.cache.max-bytes}. Pinned versions live outside the Caffeine map (so they are
 * never evicted) and their bytes shrink Caffeine's budget. Weights are reference counted: the cache
 * (or the pin) holds one reference and every {@link AdapterLease} another, so an evicted or unloaded
 * version is freed ({@link LoraAdapter#close()}) only when its last lease closes; no request ever
 * sees freed weights.
 *
 * <p>Cold versions load on a dedicated loader executor, never on the caller's thread; concurrent
 * acquires of one cold version share one load. Loading verifies the weights' SHA-256 against the
 * registry; a mismatch marks that version errored and fails it (only it) with {@code DATA_LOSS}.
 *
 * <p>The cache follows the registry through {@link AdapterEvent}s: pins (the alias pin moves with the
 * active version), deletions (the version leaves the cache); and other replicas' changes through
 * {@link #refresh} (a {@link ChangeNotice}) and {@link #reconcile} (periodically).
 */
@ApplicationScoped
public class AdapterCache {

    private static final Logger LOG = Logger.getLogger(AdapterCache.class);
    private static final long BASE_WAIT_SECONDS = 300;
    private static final int LOAD_OFFERS = 4;

    private record Key(String tenant, String name, int version) {
        static Key of(AdapterVersion v) {
            return new Key(v.tenant(), v.name(), v.version());
        }

        String id() {
            return name + "@" + version;
        }
    }

    /** One version's weights on the device, with its reference count. */
    private static final class Resident {
        final AdapterVersion version;
        final LoraAdapter adapter;
        final long bytes;
        /** Holders (the Caffeine map, the pin map: at most one each) plus open leases. */
        final AtomicInteger refs = new AtomicInteger(1);
        /** How many of {@link #refs} are held by the cache itself; 0 means retired (only leases left). */
        final AtomicInteger holders = new AtomicInteger(1);

        Resident(AdapterVersion version, LoraAdapter adapter) {
            this.version = version;
            this.adapter = adapter;
            this.bytes = adapter.bytes();
        }

        /** Takes a reference unless the weights are already freed. */
        boolean retain() {
            for (int r = refs.get(); r > 0; r = refs.get()) {
                if (refs.compareAndSet(r, r + 1)) {
                    return true;
                }
            }
            return false;
        }
    }

    private final AdapterRegistry registry;
    private final ResidentModel resident;
    private final long budget;
    private final ExecutorService loader;
    private final Cache<Key, Resident> cache;
    private final ConcurrentHashMap<Key, Resident> pinned = new ConcurrentHashMap<>();
    /** Versions that should be pinned (pinned, or loading in order to be). */
    private final Set<Key> pinWanted = ConcurrentHashMap.newKeySet();
    private final ConcurrentHashMap<Key, CompletableFuture<Resident>> inflight = new ConcurrentHashMap<>();
    /** Every version whose weights are allocated (cached, pinned, or only leased), newest copy per version. */
    private final ConcurrentHashMap<Key, Resident> live = new ConcurrentHashMap<>();
    /** Deleted versions: a load that finishes after the deletion must not stay resident. */
    private final Set<Key> gone = ConcurrentHashMap.newKeySet();
    private final Object pinLock = new Object();
    /** Held while the pins are made to follow what was read from the registry. */
    private final Object followLock = new Object();
    private final List<LongConsumer> loadListeners = new java.util.concurrent.CopyOnWriteArrayList<>();

    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final LongAdder evictions = new LongAdder();
    private final LongAdder loads = new LongAdder();
    private final LongAdder loadFailures = new LongAdder();
    private final AtomicLong pinnedBytes = new AtomicLong();
    private final AtomicLong retiredBytes = new AtomicLong();
    private final AtomicLong lastLoadNanos = new AtomicLong();
    private final AtomicLong totalLoadNanos = new AtomicLong();
    private final AtomicInteger leases = new AtomicInteger();

    public AdapterCache(AdapterRegistry registry, ResidentModel resident, LoragateConfig config) {
        this.registry = registry;
        this.resident = resident;
        this.budget = config.cache().maxBytes().asLongValue();
        this.loader = Executors.newFixedThreadPool(Math.max(1, config.cache().loaderThreads()), daemonThreads());
        // Maintenance and removal run on the calling thread: evictions are counted and released at once.
        this.cache = Caffeine.newBuilder()
                .maximumWeight(budget)
                .weigher((Key k, Resident r) -> (int) Math.max(1, Math.min(Integer.MAX_VALUE, r.bytes)))
                .executor(Runnable::run)
                .removalListener((Key k, Resident r, RemovalCause cause) -> {
                    if (r != null) {
                        if (cause.wasEvicted()) {
                            evictions.increment();
                        }
                        dropHolder(r);
                    }
                })
                .build();
    }

    private static ThreadFactory daemonThreads() {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, "loragate-adapter-loader-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    // ---------------------------------------------------------------------------------------------
    // Leases

    /**
     * A lease on the version's weights: completed at once when resident, else after a load on the
     * loader executor. Fails with the load's {@link LoragateException} ({@code get()} throws an
     * {@link ExecutionException}, {@code join()} a {@link CompletionException}, whose cause it is):
     * {@code DATA_LOSS} for weights that fail verification, {@code NOT_FOUND} for a deleted version,
     * {@code FAILED_PRECONDITION} while the base model is not loaded or when the adapter does not fit it.
     * The caller must close the lease; cancelling the future before it completes releases it.
     */
    public CompletableFuture<AdapterLease> acquire(AdapterVersion v) {
        Key k = Key.of(v);
        Resident warm = pinned.get(k);
        if (warm == null) {
            warm = cache.getIfPresent(k);
        }
        if (warm != null && warm.retain()) {
            hits.increment();
            return CompletableFuture.completedFuture(new Lease(warm));
        }
        // Out of the cache but still held by running requests: share those weights, and offer them
        // to the cache again (each offer counts as a use for TinyLFU's admission).
        Resident retired = gone.contains(k) ? null : live.get(k);
        if (retired != null && retired.retain()) {
            hits.increment();
            Lease lease = new Lease(retired);
            offer(k, retired);
            return CompletableFuture.completedFuture(lease);
        }
        misses.increment();
        CompletableFuture<Resident> load = inflight.get(k);
        CompletableFuture<Resident> started = null;
        if (load == null) {
            CompletableFuture<Resident> mine = new CompletableFuture<>();
            load = inflight.putIfAbsent(k, mine);
            if (load == null) {
                load = mine;
                started = mine;
            }
        }
        CompletableFuture<Resident> shared = load;
        CompletableFuture<AdapterLease> out = new CompletableFuture<>();
        // Registered before the load starts, so that this waiter's lease is taken inside complete().
        shared.whenComplete((r, err) -> {
            if (err != null) {
                out.completeExceptionally(unwrap(err));
            } else if (r.retain()) {
                Lease lease = new Lease(r);
                if (!out.complete(lease)) {
                    lease.close(); // the caller gave up (cancelled) meanwhile
                }
            } else {
                // Loaded, then evicted (and freed) before this waiter came: load again.
                inflight.remove(k, shared);
                acquire(v).whenComplete((lease, e) -> {
                    if (e != null) {
                        out.completeExceptionally(unwrap(e));
                    } else if (!out.complete(lease)) {
                        lease.close();
                    }
                });
            }
        });
        if (started != null) {
            startLoad(v, k, started);
        }
        return out;
    }

    private void startLoad(AdapterVersion v, Key k, CompletableFuture<Resident> mine) {
        try {
            loader.execute(() -> {
                long start = System.nanoTime();
                Resident r;
                try {
                    r = new Resident(v, loadVerified(v));
                } catch (Throwable e) {
                    loadFailures.increment();
                    inflight.remove(k, mine);
                    mine.completeExceptionally(e instanceof LoragateException ? e
                            : new LoragateException(Kind.INTERNAL, "cannot load adapter " + v.id() + ": " + e, e));
                    return;
                }
                long nanos = System.nanoTime() - start;
                loads.increment();
                lastLoadNanos.set(nanos);
                totalLoadNanos.addAndGet(nanos);
                for (LongConsumer l : loadListeners) {
                    l.accept(nanos);
                }
                LOG.debugf("loaded adapter %s/%s (%d bytes) in %.1f ms", v.tenant(), v.id(), r.bytes, nanos / 1e6);
                live.put(k, r);
                // Waiters registered so far take their leases inside complete(), before the entry can be evicted.
                mine.complete(r);
                if (gone.contains(k) || pinned.containsKey(k)) {
                    dropHolder(r);
                } else {
                    cache.asMap().merge(k, r, (old, mineR) -> mineR); // a duplicate load replaces (and releases) the old one
                }
                inflight.remove(k, mine);
            });
        } catch (RuntimeException e) { // the executor is shut down
            inflight.remove(k, mine);
            mine.completeExceptionally(new LoragateException(Kind.FAILED_PRECONDITION, "the adapter cache is shut down"));
        }
    }

    /** Reads a version's files into device memory after checking that they are what was registered. */
    private LoraAdapter loadVerified(AdapterVersion v) {
        VersionStatus status = registry.status(v);
        if (VersionStatus.DELETED.equals(status.state())) {
            throw new LoragateException(Kind.NOT_FOUND, "adapter '" + v.id() + "' not found");
        }
        if (VersionStatus.ERRORED.equals(status.state())) {
            throw new LoragateException(Kind.DATA_LOSS, "adapter " + v.id() + " is errored: " + status.error());
        }
        Path folder = registry.folder(v);
        Path weights = folder.resolve(LoraAdapter.WEIGHTS_FILE);
        if (!Files.isRegularFile(weights) || !Files.isRegularFile(folder.resolve(io.loragate.adapter.PeftConfig.FILE_NAME))) {
            String msg = "adapter " + v.id() + ": its files are missing from the data directory";
            registry.markErrored(v, msg);
            throw new LoragateException(Kind.DATA_LOSS, msg);
        }
        String sha = DurableFiles.sha256(weights);
        if (!sha.equals(v.sha256())) {
            String msg = "adapter " + v.id() + ": its " + LoraAdapter.WEIGHTS_FILE + " has sha256 " + sha + " but " + v.sha256()
                    + " was registered; the file is corrupted and the version is marked errored";
            registry.markErrored(v, msg);
            throw new LoragateException(Kind.DATA_LOSS, msg);
        }
        BaseModel base = awaitBase();
        try {
            return LoraAdapter.load(folder, base);
        } catch (LoragateException e) {
            throw new LoragateException(Kind.FAILED_PRECONDITION, "adapter " + v.id()
                    + " does not fit the resident base model: " + e.getMessage(), e);
        }
    }

    private BaseModel awaitBase() {
        return resident.awaitModel(BASE_WAIT_SECONDS);
    }

    private static Throwable unwrap(Throwable e) {
        while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }

    /** Puts weights the caller holds a lease on back into Caffeine (which may turn them away again). */
    private void offer(Key k, Resident r) {
        addHolder(r);
        if (cache.asMap().putIfAbsent(k, r) != null) {
            dropHolder(r);
        }
    }

    /** The cache (Caffeine map or pin map) takes a reference; the caller holds a lease, so it is alive. */
    private void addHolder(Resident r) {
        if (!r.retain()) {
            throw new IllegalStateException("adapter " + r.version.id() + " is already freed");
        }
        if (r.holders.getAndIncrement() == 0) {
            retiredBytes.addAndGet(-r.bytes);
        }
    }

    /** The cache (Caffeine map or pin map) lets go of its reference. */
    private void dropHolder(Resident r) {
        if (r.holders.decrementAndGet() == 0) {
            retiredBytes.addAndGet(r.bytes);
        }
        release(r);
    }

    private void release(Resident r) {
        int left = r.refs.decrementAndGet();
        if (left == 0) {
            live.remove(Key.of(r.version), r);
            retiredBytes.addAndGet(-r.bytes);
            r.adapter.close();
            LOG.debugf("freed adapter %s/%s", r.version.tenant(), r.version.id());
        } else if (left < 0) {
            throw new IllegalStateException("adapter " + r.version.id() + " released more often than retained");
        }
    }

    private final class Lease implements AdapterLease {
        private final Resident r;
        private final AtomicBoolean closed = new AtomicBoolean();

        Lease(Resident r) {
            this.r = r;
            leases.incrementAndGet();
        }

        @Override
        public LoraAdapter adapter() {
            if (closed.get()) {
                throw new IllegalStateException("the lease on adapter " + r.version.id() + " is closed");
            }
            return r.adapter;
        }

        @Override
        public AdapterVersion version() {
            return r.version;
        }

        @Override
        public void close() {
            if (closed.compareAndSet(false, true)) {
                leases.decrementAndGet();
                release(r);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Residency

    /**
     * Keeps the version resident and exempt from eviction until {@link #unpin}, loading it (on the
     * loader executor) if cold; returns at once. A version that fails to load is not pinned.
     */
    public void pin(AdapterVersion v) {
        Key k = Key.of(v);
        if (pinned.containsKey(k) || !pinWanted.add(k)) {
            return;
        }
        acquire(v).whenComplete((lease, err) -> {
            if (err != null) {
                pinWanted.remove(k);
                LOG.warnf("cannot pin adapter %s/%s: %s", v.tenant(), v.id(), err.getMessage());
                return;
            }
            try (lease) {
                synchronized (pinLock) {
                    if (!pinWanted.contains(k) || pinned.containsKey(k) || gone.contains(k)) {
                        return;
                    }
                    Resident r = ((Lease) lease).r;
                    addHolder(r);
                    pinned.put(k, r);
                    pinnedBytes.addAndGet(r.bytes);
                    cache.invalidate(k); // Caffeine's reference goes; the pin's stays
                    updateBudget();
                }
            }
        });
    }

    /** Makes a pinned version evictable again (it stays resident until evicted). */
    public void unpin(AdapterVersion v) {
        unpin(Key.of(v));
    }

    private void unpin(Key k) {
        synchronized (pinLock) {
            pinWanted.remove(k);
            Resident r = pinned.remove(k);
            if (r == null) {
                return;
            }
            pinnedBytes.addAndGet(-r.bytes);
            updateBudget();
            if (gone.contains(k) || cache.asMap().putIfAbsent(k, r) != null) {
                dropHolder(r);
            } // else the pin's reference now belongs to Caffeine
        }
    }

    /** Pinned weights are outside Caffeine; they shrink what it may hold. */
    private void updateBudget() {
        cache.policy().eviction().ifPresent(e -> e.setMaximum(Math.max(0, budget - pinnedBytes.get())));
    }

    /**
     * Loads the version into the cache without holding a lease. Caffeine's TinyLFU admission may turn
     * a newcomer away at once when the cache is full of more frequently used versions; an explicit
     * load is a strong hint, so the version is offered a few times (each offer counts as a use).
     * It can still be evicted later: {@link #pin} is what guarantees residency.
     */
    public CompletableFuture<Void> load(AdapterVersion v) {
        Key k = Key.of(v);
        return acquire(v).thenAccept(lease -> {
            try {
                Resident r = ((Lease) lease).r;
                for (int i = 0; i < LOAD_OFFERS && !isResident(v) && !gone.contains(k); i++) {
                    offer(k, r);
                }
            } finally {
                lease.close();
            }
        });
    }

    /**
     * Drops the version from the cache; its weights are freed once no lease holds them.
     * {@code FAILED_PRECONDITION} if it is pinned.
     */
    public void unload(AdapterVersion v) {
        Key k = Key.of(v);
        if (pinWanted.contains(k) || pinned.containsKey(k)) {
            throw new LoragateException(Kind.FAILED_PRECONDITION, "adapter " + v.id() + " is pinned; unpin it first");
        }
        cache.invalidate(k);
    }

    /** Whether the version's weights are resident (pinned or cached). */
    public boolean isResident(AdapterVersion v) {
        Key k = Key.of(v);
        return pinned.containsKey(k) || cache.getIfPresent(k) != null;
    }

    /** Whether the version is pinned (or being loaded to be pinned). */
    public boolean isPinned(AdapterVersion v) {
        Key k = Key.of(v);
        return pinned.containsKey(k) || pinWanted.contains(k);
    }

    /** A version whose weights this process holds, for the metrics that say which adapters a replica serves warm. */
    public record ResidentVersion(String tenant, String name, int version, boolean pinned, long bytes) {
    }

    /** The versions resident now (cached or pinned), sorted by tenant, name and version. */
    public List<ResidentVersion> residents() {
        java.util.Map<Key, ResidentVersion> out = new java.util.TreeMap<>(java.util.Comparator.comparing(Key::tenant)
                .thenComparing(Key::name).thenComparingInt(Key::version));
        cache.asMap().forEach((k, r) -> out.put(k, new ResidentVersion(k.tenant(), k.name(), k.version(), false, r.bytes)));
        pinned.forEach((k, r) -> out.put(k, new ResidentVersion(k.tenant(), k.name(), k.version(), true, r.bytes)));
        return List.copyOf(out.values());
    }

    /** Called with the duration in nanoseconds of every successful cold load (for a latency histogram). */
    public void addLoadListener(LongConsumer nanos) {
        loadListeners.add(nanos);
    }

    /** The counters. */
    public CacheStats stats() {
        cache.cleanUp();
        long cached = cache.policy().eviction().map(e -> e.weightedSize().orElse(0)).orElse(0L);
        return new CacheStats(hits.sum(), misses.sum(), evictions.sum(), loads.sum(), loadFailures.sum(),
                cached + pinnedBytes.get(), budget, (int) cache.estimatedSize() + pinned.size(), pinned.size(),
                retiredBytes.get(), leases.get(), lastLoadNanos.get() / 1e6, totalLoadNanos.get() / 1e6);
    }

    // ---------------------------------------------------------------------------------------------
    // Following the registry

    void onAdapterEvent(@Observes AdapterEvent e) {
        try {
            follow(e);
        } catch (RuntimeException ex) {
            // The registry's change is committed; the cache catches up at the next pin or restart.
            LOG.warnf("adapter cache could not follow %s: %s", e, ex.getMessage());
        }
    }

    private void follow(AdapterEvent e) {
        if (e.type() == AdapterEvent.Type.DELETED) {
            Key k = new Key(e.tenant(), e.name(), e.version());
            gone.add(k);
            unpin(k);
            cache.invalidate(k);
            return;
        }
        synchronized (followLock) {
            followPins(e.tenant(), e.name());
        }
    }

    /** Pins what the registry says is pinned for the adapter, unpins the rest of its versions. */
    private void followPins(String tenant, String name) {
        Set<Key> want = new HashSet<>();
        for (AdapterVersion v : registry.pinnedVersions(tenant, name)) {
            want.add(Key.of(v));
            pin(v);
        }
        for (Key k : Set.copyOf(pinWanted)) {
            if (k.tenant().equals(tenant) && k.name().equals(name) && !want.contains(k)) {
                unpin(k);
            }
        }
    }

    /**
     * Another replica changed the adapter (a {@link ChangeNotice}): re-reads its pins and its live
     * versions; a version this replica holds that is no longer live was deleted and leaves.
     */
    public void refresh(String tenant, String name) {
        synchronized (followLock) { // read and apply together: a later read is never overwritten by an older one
            dropDeleted(tenant, name, registry.statuses(tenant, name).keySet());
            followPins(tenant, name);
        }
    }

    /**
     * Re-reads every pin and the versions of every adapter this replica holds: the safety net for
     * changes whose notice this replica missed.
     */
    public void reconcile() {
        synchronized (followLock) {
            Set<Key> want = new HashSet<>();
            for (AdapterVersion v : registry.pinnedVersions(null, null)) {
                want.add(Key.of(v));
                pin(v);
            }
            for (Key k : Set.copyOf(pinWanted)) {
                if (!want.contains(k)) {
                    unpin(k);
                }
            }
            Set<List<String>> held = new HashSet<>();
            for (Key k : heldKeys()) {
                held.add(List.of(k.tenant(), k.name()));
            }
            for (List<String> adapter : held) {
                dropDeleted(adapter.get(0), adapter.get(1), registry.statuses(adapter.get(0), adapter.get(1)).keySet());
            }
        }
    }

    /** Versions whose weights this replica holds or wants: cached, pinned, or only leased. */
    private Set<Key> heldKeys() {
        Set<Key> out = new HashSet<>(cache.asMap().keySet());
        out.addAll(pinned.keySet());
        out.addAll(pinWanted);
        out.addAll(live.keySet());
        return out;
    }

    /** The adapter's versions held here that are not in {@code liveVersions} were deleted: they leave. */
    private void dropDeleted(String tenant, String name, Set<Integer> liveVersions) {
        for (Key k : heldKeys()) {
            if (k.tenant().equals(tenant) && k.name().equals(name) && !liveVersions.contains(k.version())) {
                follow(new AdapterEvent(AdapterEvent.Type.DELETED, tenant, name, k.version()));
            }
        }
    }

    void onStart(@Observes StartupEvent event) {
        resident.whenLoaded().thenRunAsync(() -> {
            for (AdapterVersion v : registry.pinnedVersions(null, null)) {
                pin(v);
            }
        }, loader).exceptionally(e -> {
            LOG.warnf("pinned adapters not loaded at start: %s", unwrap(e).getMessage());
            return null;
        });
    }

    @PreDestroy
    void close() {
        loader.shutdownNow();
        synchronized (pinLock) {
            pinWanted.clear();
            pinned.values().forEach(this::dropHolder);
            pinned.clear();
        }
        cache.invalidateAll();
    }
}
