package io.loragate.service;

import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * One generation request's charge to its tenant's tokens-per-minute bucket. Admission reserves the
 * most the request can use, each prompt's tokens plus {@code max_tokens}, so that a tenant can never
 * overrun its quota while requests run. Each prompt then settles once:
 * <ul>
 * <li>when its sequence ends (finished, stopped, cancelled, timed out or failed), the tokens it did
 * not generate go back ({@link #settle});</li>
 * <li>a prompt that never reached the engine (the adapter was not found, the queue was full, the
 * client left first) gets its whole reservation back ({@link #refundUnsubmitted}).</li>
 * </ul>
 * What is kept is what the request used: prompt tokens plus generated tokens. Thread-safe; each prompt
 * is refunded at most once, whichever of the two comes first.
 */
final class TokenCharge {

    private static final int PENDING = 0;
    private static final int SUBMITTED = 1;
    private static final int SETTLED = 2;

    private final TenantLimits limits;
    private final String tenant;
    private final int[] promptTokens;
    private final int maxTokens;
    private final AtomicIntegerArray state;

    private TokenCharge(TenantLimits limits, String tenant, int[] promptTokens, int maxTokens) {
        this.limits = limits;
        this.tenant = tenant;
        this.promptTokens = promptTokens;
        this.maxTokens = maxTokens;
        this.state = new AtomicIntegerArray(promptTokens.length);
    }

    /** Charges prompt + {@code maxTokens} per prompt, or throws what {@link TenantLimits#chargeTokens} throws. */
    static TokenCharge reserve(TenantLimits limits, String tenant, List<long[]> prompts, int maxTokens) {
        int[] lengths = prompts.stream().mapToInt(p -> p.length).toArray();
        long total = 0;
        for (int n : lengths) {
            total += n + (long) maxTokens;
        }
        limits.chargeTokens(tenant, total, "max_tokens");
        return new TokenCharge(limits, tenant, lengths, maxTokens);
    }

    /** Prompt {@code i}'s sequence is in the engine: from now on only {@link #settle} refunds it. */
    void submitted(int i) {
        state.compareAndSet(i, PENDING, SUBMITTED);
    }

    /** Prompt {@code i}'s sequence ended having generated {@code generated} tokens: the rest goes back. */
    void settle(int i, int generated) {
        if (state.getAndSet(i, SETTLED) != SETTLED) {
            limits.refundTokens(tenant, Math.max(0, maxTokens - generated));
        }
    }

    /** Every prompt that never reached the engine gets its whole reservation back. */
    void refundUnsubmitted() {
        for (int i = 0; i < promptTokens.length; i++) {
            if (state.compareAndSet(i, PENDING, SETTLED)) {
                limits.refundTokens(tenant, promptTokens[i] + (long) maxTokens);
            }
        }
    }
}
