package io.loragate.recommend;

import java.util.Arrays;

/**
 * A small deterministic multinomial logistic regression on the host (no autograd, no randomness):
 * features standardised with the training rows' mean and deviation, weights from zero, full-batch
 * gradient descent with a fixed step and L2 penalty for a fixed number of iterations. Used to ask
 * "do the frozen features already separate the labels?".
 */
public final class LogisticProbe {

    public static final int ITERATIONS = 200;
    public static final double STEP = 0.5;
    public static final double L2 = 1e-3;
    public static final int FOLDS = 4;

    private final double[][] w; // (classes, dim + 1), last column the bias
    private final double[] mean;
    private final double[] scale;

    private LogisticProbe(double[][] w, double[] mean, double[] scale) {
        this.w = w;
        this.mean = mean;
        this.scale = scale;
    }

    /** Fits on rows {@code x} with labels {@code y} in {@code [0, classes)}. */
    public static LogisticProbe fit(float[][] x, int[] y, int classes) {
        int n = x.length;
        int d = x[0].length;
        double[] mean = new double[d];
        double[] scale = new double[d];
        for (float[] row : x) {
            for (int j = 0; j < d; j++) {
                mean[j] += row[j];
            }
        }
        for (int j = 0; j < d; j++) {
            mean[j] /= n;
        }
        for (float[] row : x) {
            for (int j = 0; j < d; j++) {
                scale[j] += (row[j] - mean[j]) * (row[j] - mean[j]);
            }
        }
        for (int j = 0; j < d; j++) {
            double sd = Math.sqrt(scale[j] / n);
            scale[j] = sd > 1e-8 ? 1 / sd : 0;
        }
        double[][] z = new double[n][d + 1];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                z[i][j] = (x[i][j] - mean[j]) * scale[j];
            }
            z[i][d] = 1;
        }
        double[][] w = new double[classes][d + 1];
        double[][] grad = new double[classes][d + 1];
        double[] p = new double[classes];
        for (int it = 0; it < ITERATIONS; it++) {
            for (double[] g : grad) {
                Arrays.fill(g, 0);
            }
            for (int i = 0; i < n; i++) {
                softmax(w, z[i], p);
                for (int c = 0; c < classes; c++) {
                    double e = p[c] - (y[i] == c ? 1 : 0);
                    for (int j = 0; j <= d; j++) {
                        grad[c][j] += e * z[i][j];
                    }
                }
            }
            for (int c = 0; c < classes; c++) {
                for (int j = 0; j <= d; j++) {
                    double reg = j < d ? L2 * w[c][j] : 0;
                    w[c][j] -= STEP * (grad[c][j] / n + reg);
                }
            }
        }
        return new LogisticProbe(w, mean, scale);
    }

    /** The most probable class of {@code row} (ties: the lowest index). */
    public int predict(float[] row) {
        int d = mean.length;
        double[] z = new double[d + 1];
        for (int j = 0; j < d; j++) {
            z[j] = (row[j] - mean[j]) * scale[j];
        }
        z[d] = 1;
        double[] p = new double[w.length];
        softmax(w, z, p);
        int best = 0;
        for (int c = 1; c < p.length; c++) {
            if (p[c] > p[best]) {
                best = c;
            }
        }
        return best;
    }

    /**
     * Accuracy over {@code min(FOLDS, n)} stratified folds (each label's rows dealt round-robin in
     * order): every row is predicted by a probe fitted on the other folds. NaN below 2 rows.
     */
    public static double crossValidatedAccuracy(float[][] x, int[] y, int classes) {
        int n = x.length;
        if (n < 2) {
            return Double.NaN;
        }
        int folds = Math.min(FOLDS, n);
        int[] fold = new int[n];
        int[] dealt = new int[classes];
        for (int i = 0; i < n; i++) {
            fold[i] = dealt[y[i]]++ % folds;
        }
        int correct = 0;
        int counted = 0;
        for (int f = 0; f < folds; f++) {
            int trainN = 0;
            for (int i = 0; i < n; i++) {
                trainN += fold[i] != f ? 1 : 0;
            }
            if (trainN == 0 || trainN == n) {
                continue;
            }
            float[][] tx = new float[trainN][];
            int[] ty = new int[trainN];
            int k = 0;
            for (int i = 0; i < n; i++) {
                if (fold[i] != f) {
                    tx[k] = x[i];
                    ty[k++] = y[i];
                }
            }
            LogisticProbe probe = fit(tx, ty, classes);
            for (int i = 0; i < n; i++) {
                if (fold[i] == f) {
                    counted++;
                    correct += probe.predict(x[i]) == y[i] ? 1 : 0;
                }
            }
        }
        return counted == 0 ? Double.NaN : (double) correct / counted;
    }

    private static void softmax(double[][] w, double[] z, double[] out) {
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < w.length; c++) {
            double s = 0;
            for (int j = 0; j < z.length; j++) {
                s += w[c][j] * z[j];
            }
            out[c] = s;
            max = Math.max(max, s);
        }
        double sum = 0;
        for (int c = 0; c < w.length; c++) {
            out[c] = Math.exp(out[c] - max);
            sum += out[c];
        }
        for (int c = 0; c < w.length; c++) {
            out[c] /= sum;
        }
    }
}
