package io.loragate.training.trainer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Held-out metrics of a classifier from its logits and the true label indices.
 *
 * <ul>
 * <li>accuracy: the fraction of examples whose arg-max label is the true one;</li>
 * <li>macro-F1: per label {@code F1 = 2·TP / (2·TP + FP + FN)}, averaged without weights over every
 *     label present in the truth or in the predictions (a label neither occurs in nor is predicted
 *     for is left out rather than counted as 0 or 1, as scikit-learn does with {@code labels=None});</li>
 * <li>expected calibration error (Guo et al. 2017): confidence = the largest softmax probability;
 *     10 equal-width bins {@code (m/10, (m+1)/10]} (a confidence of 0 falls in the first);
 *     {@code ECE = Σ_b (n_b / n) · |accuracy_b − mean confidence_b|};</li>
 * <li>reliability table: per bin {@code lo}, {@code hi}, {@code count}, mean {@code confidence} and
 *     {@code accuracy} (both 0 for an empty bin);</li>
 * <li>loss: the mean cross-entropy {@code −log softmax(logits)[truth]} (log-sum-exp, stable).</li>
 * </ul>
 *
 * A true label of {@code -1} (a validation example whose label the classifier does not know) is
 * always an error: it counts against accuracy and calibration, as its own label in macro-F1 (F1 0),
 * and is left out of the loss, which it has no term for.
 */
public final class ClassificationMetrics {

    /** Bins of the calibration error and the reliability table. */
    public static final int BINS = 10;

    private ClassificationMetrics() {
    }

    /** Every metric of {@code logits} {@code (n, labels)} against {@code truth} {@code (n)}. */
    public static EvalMetrics of(float[][] logits, int[] truth) {
        if (logits.length != truth.length) {
            throw new IllegalArgumentException(logits.length + " rows of logits but " + truth.length + " labels");
        }
        int n = logits.length;
        int[] predicted = new int[n];
        double[] confidence = new double[n];
        boolean[] correct = new boolean[n];
        for (int i = 0; i < n; i++) {
            double[] p = softmax(logits[i]);
            int best = 0;
            for (int k = 1; k < p.length; k++) {
                if (p[k] > p[best]) {
                    best = k;
                }
            }
            predicted[i] = best;
            confidence[i] = p[best];
            correct[i] = best == truth[i];
        }
        return new EvalMetrics(n, crossEntropy(logits, truth), null, accuracy(predicted, truth), macroF1(predicted, truth),
                expectedCalibrationError(confidence, correct), reliability(confidence, correct));
    }

    /** The arg-max label of each row. */
    public static int[] predictions(float[][] logits) {
        int[] out = new int[logits.length];
        for (int i = 0; i < logits.length; i++) {
            int best = 0;
            for (int k = 1; k < logits[i].length; k++) {
                if (logits[i][k] > logits[i][best]) {
                    best = k;
                }
            }
            out[i] = best;
        }
        return out;
    }

    /** Softmax in double precision, shifted by the maximum. */
    public static double[] softmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        double[] p = new double[logits.length];
        for (int k = 0; k < logits.length; k++) {
            p[k] = Math.exp(logits[k] - max);
            sum += p[k];
        }
        for (int k = 0; k < p.length; k++) {
            p[k] /= sum;
        }
        return p;
    }

    public static double accuracy(int[] predicted, int[] truth) {
        if (truth.length == 0) {
            return Double.NaN;
        }
        int hits = 0;
        for (int i = 0; i < truth.length; i++) {
            if (predicted[i] == truth[i]) {
                hits++;
            }
        }
        return (double) hits / truth.length;
    }

    public static double macroF1(int[] predicted, int[] truth) {
        TreeSet<Integer> present = new TreeSet<>();
        for (int i = 0; i < truth.length; i++) {
            present.add(truth[i]);
            present.add(predicted[i]);
        }
        if (present.isEmpty()) {
            return Double.NaN;
        }
        double sum = 0;
        for (int c : present) {
            int tp = 0;
            int fp = 0;
            int fn = 0;
            for (int i = 0; i < truth.length; i++) {
                boolean p = predicted[i] == c;
                boolean t = truth[i] == c;
                if (p && t) {
                    tp++;
                } else if (p) {
                    fp++;
                } else if (t) {
                    fn++;
                }
            }
            sum += 2.0 * tp / (2.0 * tp + fp + fn);
        }
        return sum / present.size();
    }

    /** The bin of a confidence: {@code (m/10, (m+1)/10]}, 0 in the first. */
    static int bin(double confidence) {
        return Math.max(0, Math.min(BINS - 1, (int) Math.ceil(confidence * BINS) - 1));
    }

    public static double expectedCalibrationError(double[] confidence, boolean[] correct) {
        if (confidence.length == 0) {
            return Double.NaN;
        }
        double ece = 0;
        for (Map<String, Double> b : reliability(confidence, correct)) {
            ece += b.get("count") / confidence.length * Math.abs(b.get("accuracy") - b.get("confidence"));
        }
        return ece;
    }

    public static List<Map<String, Double>> reliability(double[] confidence, boolean[] correct) {
        int[] count = new int[BINS];
        double[] conf = new double[BINS];
        int[] hits = new int[BINS];
        for (int i = 0; i < confidence.length; i++) {
            int b = bin(confidence[i]);
            count[b]++;
            conf[b] += confidence[i];
            hits[b] += correct[i] ? 1 : 0;
        }
        List<Map<String, Double>> table = new ArrayList<>();
        for (int b = 0; b < BINS; b++) {
            Map<String, Double> row = new LinkedHashMap<>();
            row.put("lo", (double) b / BINS);
            row.put("hi", (double) (b + 1) / BINS);
            row.put("count", (double) count[b]);
            row.put("confidence", count[b] == 0 ? 0.0 : conf[b] / count[b]);
            row.put("accuracy", count[b] == 0 ? 0.0 : (double) hits[b] / count[b]);
            table.add(row);
        }
        return table;
    }

    /** Mean {@code −log p(truth)} over rows whose truth is known ({@code ≥ 0}); NaN when none is. */
    public static double crossEntropy(float[][] logits, int[] truth) {
        double sum = 0;
        int n = 0;
        for (int i = 0; i < logits.length; i++) {
            if (truth[i] < 0) {
                continue;
            }
            double max = Double.NEGATIVE_INFINITY;
            for (float l : logits[i]) {
                max = Math.max(max, l);
            }
            double z = 0;
            for (float l : logits[i]) {
                z += Math.exp(l - max);
            }
            sum += max + Math.log(z) - logits[i][truth[i]];
            n++;
        }
        return n == 0 ? Double.NaN : sum / n;
    }
}
