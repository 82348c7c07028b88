package io.loragate.model;

import io.loragate.common.SamplingParams;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token of one sequence from its logits: greedy, or temperature / top-k / top-p
 * sampling with a per-sequence random stream (a seeded request is reproducible whatever else runs
 * in its batch). Also gives the chosen token's log-probability under the model (before temperature).
 */
public final class Sampler {

    /** A chosen token and its log-probability. */
    public record Choice(long token, double logprob) {
    }

    private final SamplingParams params;
    private final SplittableRandom random;

    public Sampler(SamplingParams params) {
        this.params = params;
        this.random = params.seed() == null ? new SplittableRandom() : new SplittableRandom(params.seed());
    }

    public Choice next(float[] logits) {
        int token = params.isGreedy() ? argMax(logits) : sample(logits);
        return new Choice(token, logSoftmaxAt(logits, token));
    }

    /** Index of the largest logit; the first one on ties, as torch.argmax. */
    static int argMax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    static double logSoftmaxAt(float[] logits, int index) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - max);
        }
        return logits[index] - max - Math.log(sum);
    }

    private int sample(float[] logits) {
        int n = logits.length;
        Integer[] order = null;
        int keep = n;
        double t = params.temperature();
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double[] p = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            p[i] = Math.exp((logits[i] - max) / t);
            sum += p[i];
        }
        for (int i = 0; i < n; i++) {
            p[i] /= sum;
        }
        if (params.topK() > 0 || params.topP() < 1) {
            order = new Integer[n];
            for (int i = 0; i < n; i++) {
                order[i] = i;
            }
            final double[] probs = p;
            Arrays.sort(order, (a, b) -> probs[a] != probs[b] ? Double.compare(probs[b], probs[a]) : Integer.compare(a, b));
            if (params.topK() > 0) {
                keep = Math.min(keep, params.topK());
            }
            if (params.topP() < 1) {
                double cumulative = 0;
                int nucleus = 0;
                while (nucleus < keep) {
                    cumulative += p[order[nucleus]];
                    nucleus++;
                    if (cumulative >= params.topP()) {
                        break;
                    }
                }
                keep = nucleus;
            }
        }
        double total = 0;
        for (int i = 0; i < keep; i++) {
            total += p[order == null ? i : order[i]];
        }
        double u = random.nextDouble() * total;
        double acc = 0;
        for (int i = 0; i < keep; i++) {
            int idx = order == null ? i : order[i];
            acc += p[idx];
            if (u < acc) {
                return idx;
            }
        }
        return order == null ? keep - 1 : order[keep - 1];
    }
}
