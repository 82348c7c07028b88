import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Replays a request sequence (which adapter, which replica served it) through one simulated adapter
 * cache per replica and counts hits and misses after a given request. Two policies:
 * <ul>
 * <li>{@code CAFFEINE}: a real Caffeine cache built as {@code AdapterCache} builds it (weighed in
 * device bytes, {@code maximumWeight} = slots x one adapter's bytes, maintenance on the calling
 * thread), looked up with {@code getIfPresent} and filled with {@code asMap().merge} on a miss, as
 * the gateway does: its W-TinyLFU admission, not recency, decides what stays;</li>
 * <li>{@code LRU}: least recently used, the textbook reference.</li>
 * </ul>
 * Concurrency is not modelled: a miss loads at once, and two requests of one cold adapter are two
 * misses (the gateway shares one load between them but also counts both as misses).
 */
final class CacheReplay {

    enum Policy {
        CAFFEINE, LRU
    }

    /** Device bytes of one adapter (the benchmark's r=4 adapters on the tiny-llama fixture); only ratios matter. */
    static final int ADAPTER_BYTES = 35_840;

    /** Hits and misses per replica over the counted part of a replay. */
    record Counts(long[] hits, long[] misses) {
        long totalHits() {
            long s = 0;
            for (long h : hits) {
                s += h;
            }
            return s;
        }

        long totalMisses() {
            long s = 0;
            for (long m : misses) {
                s += m;
            }
            return s;
        }

        double hitRate() {
            long all = totalHits() + totalMisses();
            return all == 0 ? 0 : (double) totalHits() / all;
        }

        double hitRate(int replica) {
            long all = hits[replica] + misses[replica];
            return all == 0 ? 0 : (double) hits[replica] / all;
        }
    }

    /** One replica's cache. */
    interface ReplicaCache {
        /** True for a hit; on a miss the adapter is loaded (and may be turned away again by the policy). */
        boolean acquire(int adapter);

        /** Every adapter unloaded (what the benchmark does between modes); Caffeine keeps its frequency sketch. */
        void unloadAll();
    }

    static ReplicaCache[] caches(Policy policy, int replicas, int slots) {
        ReplicaCache[] out = new ReplicaCache[replicas];
        for (int i = 0; i < replicas; i++) {
            out[i] = policy == Policy.CAFFEINE ? caffeine(slots) : lru(slots);
        }
        return out;
    }

    static ReplicaCache caffeine(int slots) {
        Cache<Integer, Boolean> c = Caffeine.newBuilder()
                .maximumWeight((long) slots * ADAPTER_BYTES)
                .weigher((Integer k, Boolean v) -> ADAPTER_BYTES)
                .executor(Runnable::run)
                .build();
        return new ReplicaCache() {
            @Override
            public boolean acquire(int adapter) {
                if (c.getIfPresent(adapter) != null) {
                    return true;
                }
                c.asMap().merge(adapter, Boolean.TRUE, (old, mine) -> mine);
                return false;
            }

            @Override
            public void unloadAll() {
                c.invalidateAll();
            }
        };
    }

    static ReplicaCache lru(int slots) {
        LinkedHashMap<Integer, Boolean> m = new LinkedHashMap<>(2 * slots, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Integer, Boolean> eldest) {
                return size() > slots;
            }
        };
        return new ReplicaCache() {
            @Override
            public boolean acquire(int adapter) {
                if (m.get(adapter) != null) {
                    return true;
                }
                m.put(adapter, Boolean.TRUE);
                return false;
            }

            @Override
            public void unloadAll() {
                m.clear();
            }
        };
    }

    /**
     * Sends request i (adapter {@code adapters[i]}) to {@code caches[replicas[i]]}; counts from request
     * {@code countFrom} on.
     */
    static Counts replay(ReplicaCache[] caches, int[] adapters, int[] replicas, int countFrom) {
        long[] hits = new long[caches.length];
        long[] misses = new long[caches.length];
        for (int i = 0; i < adapters.length; i++) {
            boolean hit = caches[replicas[i]].acquire(adapters[i]);
            if (i >= countFrom) {
                if (hit) {
                    hits[replicas[i]]++;
                } else {
                    misses[replicas[i]]++;
                }
            }
        }
        return new Counts(hits, misses);
    }

    private CacheReplay() {
    }
}
