package io.loragate.service;

import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import io.loragate.config.LoragateConfig;
import io.loragate.config.RateBudget;
import io.loragate.registry.ReplicaCensus;
import io.loragate.registry.Tenants;
import jakarta.inject.Inject;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.IntSupplier;

/**
 * The per-tenant rate quotas: requests per second and tokens per minute as token buckets (a bucket
 * holds one period's worth and refills continuously), and the count of open streams. The limits
 * come from {@link Tenants#quota}, read on every call, so an admin's change applies at once.
 *
 * <p>With several replicas on one database each holds its own buckets: with
 * {@link RateBudget#SHARE} it enforces 1/N of the rates, N the live replicas
 * ({@link ReplicaCensus}), otherwise the whole rates (docs/scale-out.md, "Rate limits with N
 * replicas"). Open streams are counted per replica either way.
 */
@ApplicationScoped
public class TenantLimits {

    /** A bucket's state for the {@code x-ratelimit-*} headers. */
    public record RateState(long limit, long remaining, double resetSeconds) {
    }

    private final Function<String, Tenants.Quota> quotas;
    private final RateBudget budget;
    private final IntSupplier replicas;
    private final Map<String, Bucket> requests = new ConcurrentHashMap<>();
    private final Map<String, Bucket> tokens = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> streams = new ConcurrentHashMap<>();

    @Inject
    public TenantLimits(Tenants tenants, ReplicaCensus census, LoragateConfig config) {
        this(tenants::quota, config.replicas().rateBudget(), census::live);
    }

    /**
     * @param quotas   a tenant's quotas, read on every call
     * @param replicas the live replicas, read on every call (the share can change at any time)
     */
    public TenantLimits(Function<String, Tenants.Quota> quotas, RateBudget budget, IntSupplier replicas) {
        this.quotas = quotas;
        this.budget = budget;
        this.replicas = replicas;
    }

    /** The part of a tenant's rates this replica enforces: 1, or 1/N with {@link RateBudget#SHARE}. */
    private int divisor() {
        return budget == RateBudget.SHARE ? Math.max(1, replicas.getAsInt()) : 1;
    }

    /** " (r on each of N replicas)", or "" when this replica enforces the whole rate. */
    private static String each(double share, int n) {
        return n == 1 ? "" : " (" + fmt(share) + " on each of " + n + " replicas)";
    }

    /** Takes one request from the tenant's requests-per-second bucket, or RESOURCE_EXHAUSTED. */
    public void acquireRequest(String tenant) {
        double rps = quotas.apply(tenant).requestsPerSecond();
        if (rps <= 0) {
            return;
        }
        int n = divisor();
        double share = rps / n;
        Bucket b = bucket(requests, tenant, Math.max(1, share), share);
        double wait = b.take(1);
        if (wait > 0) {
            throw new LoragateException(Kind.RESOURCE_EXHAUSTED, "rate limit reached: this tenant may send " + fmt(rps)
                    + " requests per second" + each(share, n) + "; retry in " + fmt(wait) + "s")
                    .retryAfter((long) Math.ceil(wait));
        }
    }

    /**
     * Charges {@code n} tokens (prompt tokens + the tokens a request may generate) to the tenant's
     * tokens-per-minute bucket, or RESOURCE_EXHAUSTED; a request larger than a whole minute's
     * allowance is INVALID_ARGUMENT (no retry could pass).
     */
    public void chargeTokens(String tenant, long n, String param) {
        long tpm = quotas.apply(tenant).tokensPerMinute();
        if (tpm <= 0) {
            return;
        }
        int replicas = divisor();
        long share = Math.max(1, tpm / replicas);
        if (n > share) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "the request needs " + n + " tokens (prompt + max_tokens); this"
                    + " tenant's limit is " + tpm + " tokens per minute" + each(share, replicas)).withParam(param);
        }
        Bucket b = bucket(tokens, tenant, share, share / 60.0);
        double wait = b.take(n);
        if (wait > 0) {
            throw new LoragateException(Kind.RESOURCE_EXHAUSTED, "rate limit reached: this tenant may use " + tpm
                    + " tokens per minute" + each(share, replicas) + "; the request needs " + n + ", retry in " + fmt(wait)
                    + "s").retryAfter((long) Math.ceil(wait));
        }
    }

    /**
     * Gives back {@code n} tokens charged earlier but not used (a generation that ended before
     * {@code max_tokens}); the bucket never holds more than a minute's worth.
     */
    public void refundTokens(String tenant, long n) {
        long tpm = quotas.apply(tenant).tokensPerMinute();
        if (tpm <= 0 || n <= 0) {
            return;
        }
        long share = Math.max(1, tpm / divisor());
        bucket(tokens, tenant, share, share / 60.0).give(n);
    }

    /** RESOURCE_EXHAUSTED when the tenant has all the streams it may have open. */
    public void checkStreamRoom(String tenant) {
        int max = quotas.apply(tenant).maxConcurrentStreams();
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
        int max = quotas.apply(tenant).maxConcurrentStreams();
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

    /** The requests bucket's state (this replica's share), or null when the tenant's requests are unlimited. */
    public RateState requestState(String tenant) {
        double rps = quotas.apply(tenant).requestsPerSecond();
        if (rps <= 0) {
            return null;
        }
        double share = rps / divisor();
        return bucket(requests, tenant, Math.max(1, share), share).state();
    }

    /** The tokens bucket's state, or null when the tenant's tokens are unlimited. */
    public RateState tokenState(String tenant) {
        long tpm = quotas.apply(tenant).tokensPerMinute();
        if (tpm <= 0) {
            return null;
        }
        long share = Math.max(1, tpm / divisor());
        return bucket(tokens, tenant, share, share / 60.0).state();
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
