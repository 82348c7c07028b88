package io.loragate.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.common.LoragateException;
import io.loragate.config.RateBudget;
import io.loragate.registry.Tenants;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A replica's part of a tenant's rate quotas: the whole rates, or 1/N of them with
 * {@code rate-budget=share}. Counts what a full bucket admits at once (no waiting, so no clock in
 * the assertions: a bucket refills at most a few requests' worth during these few calls).
 */
class TenantLimitsTest {

    /** 30 requests per second, 6,000 tokens per minute. */
    static final Tenants.Quota QUOTA = new Tenants.Quota(30, 6000, 0, 0, 0, 0);

    static int admittedAtOnce(TenantLimits limits, String tenant) {
        int admitted = 0;
        for (int i = 0; i < 200; i++) {
            try {
                limits.acquireRequest(tenant);
                admitted++;
            } catch (LoragateException e) {
                assertEquals(LoragateException.Kind.RESOURCE_EXHAUSTED, e.kind());
                return admitted;
            }
        }
        return admitted;
    }

    @Test
    void wholeEnforcesTheTenantsWholeRateWhateverTheReplicas() {
        TenantLimits limits = new TenantLimits(t -> QUOTA, RateBudget.WHOLE, () -> 3);
        int admitted = admittedAtOnce(limits, "a");
        assertTrue(admitted >= 30 && admitted <= 32, "a full bucket holds one second's 30 requests: " + admitted);
        assertEquals(6000, limits.tokenState("a").limit());
    }

    @Test
    void shareEnforcesOneNthOfTheRatesAndFollowsTheReplicaCount() {
        AtomicInteger replicas = new AtomicInteger(3);
        TenantLimits limits = new TenantLimits(t -> QUOTA, RateBudget.SHARE, replicas::get);
        int admitted = admittedAtOnce(limits, "a");
        assertTrue(admitted >= 10 && admitted <= 12, "a third of 30: " + admitted);
        LoragateException e = assertThrows(LoragateException.class, () -> limits.acquireRequest("a"));
        assertTrue(e.getMessage().contains("30 requests per second (10 on each of 3 replicas)"), e.getMessage());
        assertEquals(10, limits.requestState("a").limit());

        assertEquals(2000, limits.tokenState("b").limit(), "a third of 6,000 tokens per minute");
        limits.chargeTokens("b", 2000, "max_tokens");
        LoragateException tooBig = assertThrows(LoragateException.class, () -> limits.chargeTokens("c", 2001, "max_tokens"));
        assertEquals(LoragateException.Kind.INVALID_ARGUMENT, tooBig.kind(), "more than one replica's share never passes here");
        assertTrue(tooBig.getMessage().contains("6000 tokens per minute (2000 on each of 3 replicas)"), tooBig.getMessage());

        replicas.set(1); // the others stopped: this replica takes the whole budget again
        int alone = admittedAtOnce(limits, "a");
        assertTrue(alone >= 30 && alone <= 32, "the whole 30 again: " + alone);
        assertEquals(6000, limits.tokenState("b").limit());
    }
}
