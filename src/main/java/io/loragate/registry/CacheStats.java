package io.loragate.registry;

/**
 * A snapshot of the adapter cache's counters (monotonic since start unless noted).
 *
 * @param hits            acquires served at once by weights in memory (cached, pinned, or still leased)
 * @param misses          acquires that waited for a load (one they started or one already running)
 * @param evictions       versions evicted to stay within the byte budget
 * @param loads           successful loads
 * @param loadFailures    failed loads (bad or corrupted files, base not ready)
 * @param bytes           device bytes of resident versions, pinned included (gauge)
 * @param budgetBytes     the configured budget ({@code loragate.cache.max-bytes})
 * @param resident        resident versions, pinned included (gauge)
 * @param pinned          pinned versions (gauge)
 * @param retiredBytes    bytes of evicted/unloaded versions that leases still hold (gauge; freed when they close)
 * @param leases          open leases (gauge)
 * @param lastLoadMillis  duration of the latest successful load
 * @param totalLoadMillis sum of the durations of all successful loads (with {@link #loads}: the mean)
 */
public record CacheStats(long hits, long misses, long evictions, long loads, long loadFailures, long bytes,
        long budgetBytes, int resident, int pinned, long retiredBytes, int leases, double lastLoadMillis,
        double totalLoadMillis) {
}
