package io.loragate.service;

import java.time.Instant;

/**
 * A tenant as the admin API shows it, never with its stored key.
 *
 * @param quotaOverrides its own quotas (null fields: the configured default)
 * @param quotas         its effective quotas, or null when not asked for
 * @param usage          what it stores, or null when not asked for
 * @param apiKey         its new key, only in the answer that issued it (create, rotate); else null
 */
public record TenantView(String id, String keyId, Instant created, Instant keyRotated, TenantQuotas quotaOverrides,
        TenantQuotas quotas, Usage usage, String apiKey) {

    /** What a tenant stores, against its quotas. */
    public record Usage(int adapters, long storedBytes) {
    }
}
