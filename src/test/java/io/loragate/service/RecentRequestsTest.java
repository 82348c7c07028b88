package io.loragate.service;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The console's recent request counts: buckets move with the clock, old ones fall out, tenants stay apart. */
class RecentRequestsTest {

    private final AtomicLong now = new AtomicLong(1_000_000_000_000L);
    private final RecentRequests recent = new RecentRequests(now::get);

    private static int sum(int[] counts) {
        int s = 0;
        for (int c : counts) {
            s += c;
        }
        return s;
    }

    @Test
    void countsLandInTheCurrentBucketAndMoveLeftAsTimePasses() {
        recent.count("a", "qa");
        recent.count("a", "qa");
        int[] counts = recent.counts("a", "qa");
        assertEquals(RecentRequests.BUCKETS, counts.length);
        assertEquals(2, counts[RecentRequests.BUCKETS - 1]);

        now.addAndGet(RecentRequests.BUCKET_SECONDS * 1000L);
        recent.count("a", "qa");
        counts = recent.counts("a", "qa");
        assertEquals(2, counts[RecentRequests.BUCKETS - 2]);
        assertEquals(1, counts[RecentRequests.BUCKETS - 1]);
        assertEquals(3, sum(counts));
    }

    @Test
    void requestsOlderThanTheWindowAreForgotten() {
        recent.count("a", "qa");
        now.addAndGet((RecentRequests.BUCKETS - 1) * RecentRequests.BUCKET_SECONDS * 1000L);
        assertEquals(1, recent.counts("a", "qa")[0], "still the oldest bucket");
        now.addAndGet(RecentRequests.BUCKET_SECONDS * 1000L);
        assertArrayEquals(new int[RecentRequests.BUCKETS], recent.counts("a", "qa"));
        // a bucket slot reused a whole window later starts again from zero
        recent.count("a", "qa");
        assertEquals(1, sum(recent.counts("a", "qa")));
    }

    @Test
    void tenantsAndNamesAreCountedApart() {
        recent.count("a", "qa");
        recent.count("b", "qa");
        recent.count("b", "qa");
        recent.count("a", "other");
        assertEquals(1, sum(recent.counts("a", "qa")));
        assertEquals(2, sum(recent.counts("b", "qa")));
        assertEquals(1, sum(recent.counts("a", "other")));
        assertEquals(0, sum(recent.counts("c", "qa")));
    }
}
