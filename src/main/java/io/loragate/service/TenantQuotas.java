package io.loragate.service;

/**
 * A tenant's quotas as the admin API reads and writes them: its overrides of
 * {@code loragate.quotas.*} (a null field: the configured default) or its effective quotas (every
 * field set). 0 means unlimited.
 */
public record TenantQuotas(Double requestsPerSecond, Long tokensPerMinute, Integer maxConcurrentStreams, Integer maxAdapters,
        Long maxStoredBytes, Integer maxConcurrentJobs) {
}
