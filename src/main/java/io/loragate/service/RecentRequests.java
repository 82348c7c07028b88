package io.loragate.service;

import jakarta.enterprise.context.ApplicationScoped;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Requests per adapter name over the last five minutes, in ten-second buckets, for the web console's
 * "recent request rate" (Prometheus keeps totals only, and is not scoped by tenant). Counted when a
 * request resolves to an adapter the tenant has, so unknown names never create an entry; entries
 * with no request in the window are dropped on the next count, which bounds memory by the adapters
 * in recent use.
 */
@ApplicationScoped
public class RecentRequests {

    public static final int BUCKET_SECONDS = 10;
    public static final int BUCKETS = 30;

    private final Map<String, Window> windows = new ConcurrentHashMap<>();
    private final LongSupplier clock;
    private volatile long lastPrune;

    public RecentRequests() {
        this(System::currentTimeMillis);
    }

    /** With a clock in milliseconds (tests). */
    RecentRequests(LongSupplier clock) {
        this.clock = clock;
    }

    /** One request of {@code tenant} for the adapter named {@code name} (its version left out). */
    public void count(String tenant, String name) {
        long bucket = bucketNow();
        windows.computeIfAbsent(key(tenant, name), k -> new Window()).add(bucket);
        prune(bucket);
    }

    /** Counts per bucket, oldest first, the last one being the current (partial) bucket. */
    public int[] counts(String tenant, String name) {
        Window w = windows.get(key(tenant, name));
        return w == null ? new int[BUCKETS] : w.snapshot(bucketNow());
    }

    private long bucketNow() {
        return clock.getAsLong() / 1000 / BUCKET_SECONDS;
    }

    private void prune(long bucket) {
        if (bucket - lastPrune < BUCKETS) {
            return;
        }
        lastPrune = bucket;
        windows.values().removeIf(w -> w.idleSince(bucket));
    }

    private static String key(String tenant, String name) {
        return tenant + '\u0000' + name;
    }

    /** A ring of buckets, each remembering which bucket number it holds. */
    private static final class Window {
        private final long[] ids = new long[BUCKETS];
        private final int[] counts = new int[BUCKETS];
        private long newest = -1;

        synchronized void add(long bucket) {
            int i = (int) (bucket % BUCKETS);
            if (ids[i] != bucket) {
                ids[i] = bucket;
                counts[i] = 0;
            }
            counts[i]++;
            newest = Math.max(newest, bucket);
        }

        synchronized int[] snapshot(long now) {
            int[] out = new int[BUCKETS];
            for (int k = 0; k < BUCKETS; k++) {
                long b = now - (BUCKETS - 1) + k;
                int i = (int) (b % BUCKETS);
                out[k] = b >= 0 && ids[i] == b ? counts[i] : 0;
            }
            return out;
        }

        synchronized boolean idleSince(long now) {
            return now - newest >= BUCKETS;
        }
    }
}
