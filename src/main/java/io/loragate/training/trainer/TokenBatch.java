package io.loragate.training.trainer;

import io.loragate.training.data.TrainingExample;
import java.util.List;

/**
 * Examples laid out as one forward sees them: rows left-padded to the longest (as
 * {@link io.loragate.model.CausalModel#forward} pads them), and for every position but the last the
 * next token and the weight of predicting it (1 for a target, 0 for padding and context).
 *
 * @param tokens  each row's ids, unpadded (the forward pads)
 * @param width   the padded length {@code t}
 * @param targets {@code (batch, t-1)}: the id at position {@code j+1}, 0 where not a target
 * @param weights {@code (batch, t-1)}: 1 where position {@code j+1} is a target, else 0
 * @param targetCount number of 1s in {@code weights}
 * @param tokenCount  real tokens over all rows
 */
public record TokenBatch(long[][] tokens, int width, long[] targets, float[] weights, long targetCount, long tokenCount) {

    public static TokenBatch of(List<TrainingExample> examples) {
        if (examples.isEmpty()) {
            throw new IllegalArgumentException("empty batch");
        }
        int batch = examples.size();
        int t = 0;
        for (TrainingExample e : examples) {
            t = Math.max(t, e.length());
        }
        int w = Math.max(t - 1, 0);
        long[][] tokens = new long[batch][];
        long[] targets = new long[batch * w];
        float[] weights = new float[batch * w];
        long count = 0;
        long real = 0;
        for (int r = 0; r < batch; r++) {
            TrainingExample e = examples.get(r);
            tokens[r] = e.ids();
            real += e.length();
            int pad = t - e.length();
            // padded column c holds token c - pad; logits at column j predict column j + 1
            for (int j = pad; j < t - 1; j++) {
                int next = j + 1 - pad;
                if (e.target()[next]) {
                    targets[r * w + j] = e.ids()[next];
                    weights[r * w + j] = 1f;
                    count++;
                }
            }
        }
        return new TokenBatch(tokens, t, targets, weights, count, real);
    }

    public int batch() {
        return tokens.length;
    }
}
