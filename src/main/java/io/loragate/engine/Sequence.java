package io.loragate.engine;

import io.loragate.adapter.LoraAdapter;
import io.loragate.common.SamplingParams;
import io.loragate.model.Sampler;
import io.loragate.model.TextTokenizer;
import java.util.Arrays;

/**
 * One generation request inside the engine: its prompt, its adapter (null: the base), its sampler
 * and what it has produced. Only the engine thread touches the mutable state; {@link #cancel} may
 * be called from any thread and takes effect at the next step.
 */
public final class Sequence {

    /** The tenant of sequences built without one (a single-tenant deployment). */
    public static final String DEFAULT_TENANT = "default";

    final String tenant;
    final long[] prompt;
    /** What the engine prefills: the adapter's virtual tokens (prompt tuning), then {@link #prompt}. */
    final long[] input;
    final String adapterId;
    final LoraAdapter adapter;
    final SamplingParams params;
    final SequenceListener listener;
    final long deadlineNanos;
    final long submittedNanos = System.nanoTime();
    final Sampler sampler;
    private volatile boolean cancelled;
    /** The engine's step counter, set on submission; the step at which {@link #cancel} was called (-1: not yet / before submission). */
    volatile java.util.function.LongSupplier stepClock;
    private volatile long cancelStep = -1;

    long[] generated = new long[16];
    int count;
    long firstTokenNanos;
    private String emitted = "";   // text already delivered
    private String text = "";      // decoded text of all generated tokens
    boolean finished;

    /**
     * @param adapterId     the adapter's id for metrics ({@code name@version}), or the base id
     * @param adapter       the adapter's weights, or null for the base
     * @param deadlineNanos {@link System#nanoTime()} after which the request is dropped (0: none)
     */
    public Sequence(long[] prompt, String adapterId, LoraAdapter adapter, SamplingParams params, SequenceListener listener,
            long deadlineNanos) {
        this(DEFAULT_TENANT, prompt, adapterId, adapter, params, listener, deadlineNanos);
    }

    /**
     * @param tenant whose request this is: admission takes turns between tenants, metrics carry it
     */
    public Sequence(String tenant, long[] prompt, String adapterId, LoraAdapter adapter, SamplingParams params,
            SequenceListener listener, long deadlineNanos) {
        this.tenant = tenant == null ? DEFAULT_TENANT : tenant;
        this.prompt = prompt;
        this.input = io.loragate.adapter.PromptPart.prepend(prompt, adapter == null ? 0 : adapter.virtualTokens());
        this.adapterId = adapterId;
        this.adapter = adapter;
        this.params = params;
        this.listener = listener;
        this.deadlineNanos = deadlineNanos;
        this.sampler = new Sampler(params);
    }

    /** Asks the engine to drop this sequence at its next step (a client went away). */
    public void cancel() {
        if (!cancelled) {
            java.util.function.LongSupplier clock = stepClock;
            cancelStep = clock == null ? -1 : clock.getAsLong();
            cancelled = true;
        }
    }

    long cancelStep() {
        return cancelStep;
    }

    boolean cancelled() {
        return cancelled;
    }

    boolean expired(long now) {
        return deadlineNanos != 0 && now - deadlineNanos > 0;
    }

    public String tenant() {
        return tenant;
    }

    /** The client's prompt tokens (what usage reports), without virtual tokens. */
    public int promptTokens() {
        return prompt.length;
    }

    /** Positions the prefill takes: the prompt plus the adapter's virtual tokens. */
    public int inputTokens() {
        return input.length;
    }

    public LoraAdapter adapter() {
        return adapter;
    }

    public String adapterId() {
        return adapterId;
    }

    long lastToken() {
        return count == 0 ? prompt[prompt.length - 1] : generated[count - 1];
    }

    /**
     * Records a sampled token. Returns the finish reason if the sequence ends with it (the token is
     * then not part of the output when it is a stop token), or null.
     */
    String accept(long token, double logprob, java.util.Set<Long> eos, TextTokenizer tokenizer) {
        if ((!params.ignoreEos() && eos.contains(token)) || params.stopTokenIds().contains(token)) {
            return "stop";
        }
        if (count == generated.length) {
            generated = Arrays.copyOf(generated, count * 2);
        }
        generated[count++] = token;
        if (firstTokenNanos == 0) {
            firstTokenNanos = System.nanoTime();
        }
        text = tokenizer.decode(Arrays.copyOf(generated, count));
        String reason = null;
        int stopAt = params.firstStop(text, emitted.length() - maxStopLength());
        if (stopAt >= 0) {
            text = text.substring(0, stopAt);
            reason = "stop";
        } else if (count >= params.maxTokens()) {
            reason = "length";
        }
        String delta = reason != null ? "" : releasable();
        listener.onToken(token, logprob, delta);
        return reason;
    }

    private int maxStopLength() {
        return params.stopStrings().stream().mapToInt(String::length).max().orElse(0);
    }

    /**
     * Text that can be delivered now: everything decoded except an incomplete trailing character
     * and a tail that might still grow into a stop string.
     */
    private String releasable() {
        int end = text.length();
        if (end > 0 && text.charAt(end - 1) == '\uFFFD') {
            end--;
        }
        for (String s : params.stopStrings()) {
            for (int k = Math.min(s.length() - 1, end); k > 0; k--) {
                if (text.regionMatches(end - k, s, 0, k)) {
                    end = Math.min(end, text.length() - k);
                    break;
                }
            }
        }
        if (end <= emitted.length() || !text.startsWith(emitted)) {
            return "";
        }
        String delta = text.substring(emitted.length(), end);
        emitted = text.substring(0, end);
        return delta;
    }

    /** Ends the sequence once, delivering held-back text. */
    void finish(String reason, RuntimeException error) {
        if (finished) {
            return;
        }
        finished = true;
        String rest = text.startsWith(emitted) ? text.substring(emitted.length()) : "";
        emitted = text;
        listener.onFinish(reason, rest, error);
    }

    public long[] tokens() {
        return Arrays.copyOf(generated, count);
    }

    public String text() {
        return text;
    }
}
