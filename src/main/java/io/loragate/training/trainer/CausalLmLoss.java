package io.loragate.training.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.loragate.model.Scalars;

/**
 * Causal-LM cross-entropy over shifted tokens: the logits at position {@code j} predict the token at
 * {@code j+1}; only positions the batch marks as targets count. Computed with log-softmax, which is
 * stable for any logit range. Returns the sum, not the mean, so that a step made of several
 * micro-batches can divide by the token count of the whole step (a mean over every target token of
 * the step, as one big batch would give: what Hugging Face's Trainer does under accumulation).
 */
public final class CausalLmLoss {

    private CausalLmLoss() {
    }

    /**
     * @param logits (batch, t, vocab), left-padded as the batch says
     * @return scalar: the sum of {@code -log p(target)} over the batch's targets (0 when it has none)
     */
    public static NDArray sum(NDArray logits, TokenBatch batch) {
        NDManager step = logits.getManager();
        long b = logits.getShape().get(0);
        long t = logits.getShape().get(1);
        if (b != batch.batch() || t != batch.width()) {
            throw new IllegalArgumentException("logits " + logits.getShape() + " do not match a batch of " + batch.batch()
                    + " rows of width " + batch.width());
        }
        if (t < 2 || batch.targetCount() == 0) {
            return Scalars.mul(logits.sum(), 0f); // keeps the graph: a backward gives zero gradients
        }
        NDArray logp = logits.get(new NDIndex(":, :-1, :")).logSoftmax(-1);          // (batch, t-1, vocab)
        // gather and mul keep these for backward: native copies, whoever closes the Java-backed ones (see Scalars)
        NDArray targets = Scalars.owned(step.create(batch.targets(), new Shape(b, t - 1, 1))); // (batch, t-1, 1)
        NDArray picked = logp.gather(targets, 2).reshape(b, t - 1);                           // (batch, t-1)
        NDArray weights = Scalars.owned(step.create(batch.weights(), new Shape(b, t - 1)));    // (batch, t-1)
        return picked.mul(weights).sum().neg();
    }

    /** The mean over the batch's own targets (for evaluation and single-batch steps). */
    public static NDArray mean(NDArray logits, TokenBatch batch) {
        return Scalars.div(sum(logits, batch), (float) Math.max(1, batch.targetCount()));
    }
}
