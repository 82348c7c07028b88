package io.loragate.model;

import ai.djl.ndarray.NDArray;

/**
 * Greedy (temperature 0) choice of every row's next token made on the device: the engine copies
 * back a token, its log-probability and a finiteness check per row instead of the whole
 * {@code (batch, vocab)} logits, and no host loop runs over the vocabulary.
 *
 * @param token   the largest logit's index, the first on ties (as torch.argmax and {@link Sampler})
 * @param logprob its log-probability under the model (log-softmax of the logits)
 * @param finite  whether every logit of the row is finite (a row with NaN or ±Inf must not emit a token)
 */
public record GreedyChoice(long token, double logprob, boolean finite) {

    /** The choice of each row of {@code logits (batch, vocab)}; the intermediates stay in the logits' manager. */
    public static GreedyChoice[] of(NDArray logits) {
        long[] tokens = logits.argMax(1).toLongArray();                    // (batch)
        float[] logprobs = logits.logSoftmax(1).max(new int[] {1}).toFloatArray(); // (batch): the argmax's log-probability
        float[] check = logits.mul(0f).sum(new int[] {1}).toFloatArray();  // (batch): 0, or NaN when any logit is not finite
        GreedyChoice[] out = new GreedyChoice[tokens.length];
        for (int r = 0; r < out.length; r++) {
            out[r] = new GreedyChoice(tokens[r], logprobs[r], check[r] == 0f);
        }
        return out;
    }
}
