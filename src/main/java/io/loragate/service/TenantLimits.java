package io.loragate.service;

import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import io.loragate.registry.Tenants;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The per-tenant rate quotas: requests per second and tokens per minute as token buckets (a bucket
 * holds one period's worth and refills continuously), and the count of open streams. The limits
 * come from {@link Tenants#quota}, read on every call, so an admin's change applies at once.
 */
@ApplicationScoped
public class TenantLimits {

    /** A bucket's state for the {@code x-ratelimit-*} headers. */
    public record RateState(long limit, long remaining, double resetSeconds) {
    }

    private final Tenants tenants;
    private final Map<String, Bucket> requests = new ConcurrentHashMap<>();
    private final Map<String, Bucket> tokens = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> streams = new ConcurrentHashMap<>();

    public TenantLimits(Tenants tenants) {
        this.tenants = tenants;
    }

    /** Takes one request from the tenant's requests-per-second bucket, or RESOURCE_EXHAUSTED. */
    public void acquireRequest(String tenant) {
        double rps = tenants.quota(tenant).requestsPerSecond();
        if (rps <= 0) {
            return;
        }
        Bucket b = bucket(requests, tenant, Math.max(1, rps), rps);
        double wait = b.take(1);
        if (wait > 0) {
            throw new LoragateException(Kind.RESOURCE_EXHAUSTED, "rate limit reached: this tenant may send " + fmt(rps)
                    + " requests per second; retry in " + fmt(wait) + "s").retryAfter((long) Math.ceil(wait));
        }
    }

    /**
     * Charges {@code n} tokens (prompt tokens + the tokens a request may generate) to the tenant's
     * tokens-per-minute bucket, or RESOURCE_EXHAUSTED; a request larger than a whole minute's
     * allowance is INVALID_ARGUMENT (no retry could pass).
     */
    public void chargeTokens(String tenant, long n, String param) {
        long tpm = tenants.quota(tenant).tokensPerMinute();
        if (tpm <= 0) {
            return;
        }
        if (n > tpm) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "the request needs " + n + " tokens (prompt + max_tokens); this"
                    + " tenant's limit is " + tpm + " tokens per minute").withParam(param);
        }
        Bucket b = bucket(tokens, tenant, tpm, tpm / 60.0);
        double wait = b.take(n);
        if (wait > 0) {
            throw new LoragateException(Kind.RESOURCE_EXHAUSTED, "rate limit reached: this tenant may use " + tpm
                    + " tokens per minute; the request needs " + n + ", retry in " + fmt(wait) + "s")
                    .retryAfter((long) Math.ceil(wait));
        }
    }

    /**
     * Gives back {@code n} tokens charged earlier but not used (a generation that ended before
     * {@code max_tokens}); the bucket never holds more than a minute's worth.
     */
    public void refundTokens(String tenant, long n) {
        long tpm = tenants.quota(tenant).tokensPerMinute();
        if (tpm <= 0 || n <= 0) {
            return;
        }
        bucket(tokens, tenant, tpm, tpm / 60.0).give(n);
    }

    /** RESOURCE_EXHAUSTED when the tenant has all the streams it may have open. */
    public void checkStreamRoom(String tenant) {
        int max = tenants.quota(tenant).maxConcurrentStreams();
        if (max > 0 && openStreams(tenant) >= max) {
            throw streamsExhausted(max);
        }
    }

    private static LoragateException streamsExhausted(int max) {
        return new LoragateException(Kind.RESOURCE_EXHAUSTED, "quota exceeded: this tenant already has " + max
                + " streams open, its limit (max_concurrent_streams); close one first").retryAfter(1);
    }

    /**
     * Opens one of the tenant's streams, or RESOURCE_EXHAUSTED; the returned handle closes it (once,
     * whatever the number of calls).
     */
    public Runnable openStream(String tenant) {
        int max = tenants.quota(tenant).maxConcurrentStreams();
        AtomicInteger open = streams.computeIfAbsent(tenant, t -> new AtomicInteger());
        if (open.incrementAndGet() > max && max > 0) {
            open.decrementAndGet();
            throw streamsExhausted(max);
        }
        AtomicInteger once = new AtomicInteger();
        return () -> {
            if (once.getAndIncrement() == 0) {
                open.decrementAndGet();
            }
        };
    }

    /** Streams the tenant has open. */
    public int openStreams(String tenant) {
        AtomicInteger n = streams.get(tenant);
        return n == null ? 0 : n.get();
    }

    /** The requests bucket's state, or null when the tenant's requests are unlimited. */
    public RateState requestState(String tenant) {
        double rps = tenants.quota(tenant).requestsPerSecond();
        return rps <= 0 ? null : bucket(requests, tenant, Math.max(1, rps), rps).state();
    }

    /** The tokens bucket's state, or null when the tenant's tokens are unlimited. */
    public RateState tokenState(String tenant) {
        long tpm = tenants.quota(tenant).tokensPerMinute();
        return tpm <= 0 ? null : bucket(tokens, tenant, tpm, tpm / 60.0).state();
    }

    private static Bucket bucket(Map<String, Bucket> buckets, String tenant, double capacity, double perSecond) {
        Bucket b = buckets.get(tenant);
        if (b == null || b.capacity != capacity || b.perSecond != perSecond) {
            Bucket fresh = new Bucket(capacity, perSecond);
            b = b == null ? buckets.computeIfAbsent(tenant, t -> fresh) : fresh;
            buckets.put(tenant, b); // a changed quota starts a full bucket
        }
        return b;
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.format(java.util.Locale.ROOT, "%.3f", d);
    }

    /** A token bucket: holds up to {@code capacity}, refills at {@code perSecond}. */
    static final class Bucket {
        final double capacity;
        final double perSecond;
        private double level;
        private long last = System.nanoTime();

        Bucket(double capacity, double perSecond) {
            this.capacity = capacity;
            this.perSecond = perSecond;
            this.level = capacity;
        }

        private void refill() {
            long now = System.nanoTime();
            level = Math.min(capacity, level + (now - last) / 1e9 * perSecond);
            last = now;
        }

        /** Takes {@code n}: 0 on success, else the seconds until {@code n} are there (nothing taken). */
        synchronized double take(double n) {
            refill();
            if (level >= n) {
                level -= n;
                return 0;
            }
            return (n - level) / perSecond;
        }

        synchronized void give(double n) {
            refill();
            level = Math.min(capacity, level + n);
        }

        synchronized RateState state() {
            refill();
            return new RateState((long) Math.ceil(capacity), (long) Math.floor(level), (capacity - level) / perSecond);
        }
    }
}
