package io.loragate.service;

/**
 * Requests for one adapter name (any version) in ten-second buckets over the last five minutes,
 * oldest first: the web console's "recent request rate".
 */
public record RecentRequestRate(int bucketSeconds, int[] counts, int total, double perMinute) {
}
