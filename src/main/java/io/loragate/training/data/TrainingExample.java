package io.loragate.training.data;

import java.util.Arrays;
import java.util.Objects;

/**
 * One tokenized training sequence for causal LM: its ids and, per position, whether that token is a
 * target of the loss (predicted from the tokens before it). Prompt and user tokens are context only;
 * completion and assistant tokens are targets; plain text is all targets. Position 0 is never a
 * target (nothing precedes it).
 *
 * @param ids    token ids, {@code (length)}
 * @param target {@code (length)}: the token at that position is trained on
 */
public record TrainingExample(long[] ids, boolean[] target) {

    public TrainingExample {
        Objects.requireNonNull(ids, "ids");
        Objects.requireNonNull(target, "target");
        if (ids.length != target.length) {
            throw new IllegalArgumentException(ids.length + " ids but " + target.length + " target flags");
        }
        if (ids.length == 0) {
            throw new IllegalArgumentException("an example needs at least one token");
        }
    }

    /** Every token after the first is a target (plain text, or the parity reference's labels = input ids). */
    public static TrainingExample allTokens(long[] ids) {
        boolean[] t = new boolean[ids.length];
        Arrays.fill(t, 1, t.length, true);
        return new TrainingExample(ids.clone(), t);
    }

    public int length() {
        return ids.length;
    }

    /** Positions that contribute to the loss. */
    public int targetCount() {
        int n = 0;
        for (int i = 1; i < target.length; i++) {
            if (target[i]) {
                n++;
            }
        }
        return n;
    }

    /**
     * This example after {@code k} virtual ids (prompt tuning, {@code AdapterHook.virtualToken(0..k-1)}),
     * which are never targets (PEFT labels them -100); itself when k = 0.
     */
    public TrainingExample withVirtualTokens(int k) {
        if (k == 0) {
            return this;
        }
        boolean[] t = new boolean[k + ids.length];
        System.arraycopy(target, 0, t, k, target.length);
        return new TrainingExample(io.loragate.adapter.PromptPart.prepend(ids, k), t);
    }

    /** The first {@code maxLength} tokens (the whole example when it is not longer). */
    public TrainingExample truncate(int maxLength) {
        if (maxLength <= 0) {
            throw new IllegalArgumentException("maxLength must be positive, was " + maxLength);
        }
        if (ids.length <= maxLength) {
            return this;
        }
        return new TrainingExample(Arrays.copyOf(ids, maxLength), Arrays.copyOf(target, maxLength));
    }
}
