package io.loragate.diagnostics;

import java.util.Arrays;

/**
 * A linear probe: multinomial logistic regression on frozen features, fitted on the host in double
 * precision, deterministic (no randomness at all: zero start, full batch, fixed step count).
 *
 * <p>Features are standardised with the training set's per-column mean and standard deviation (a
 * constant column is only centred); a bias column is appended. The objective is the mean
 * cross-entropy plus {@code l2/2·‖W‖²} (the bias is not penalised), minimised with Nesterov's
 * accelerated gradient for {@code steps} full-batch steps of size {@code 1/L}, where
 * {@code L = ½·λmax(ZᵀZ/n) + l2} bounds the Hessian of the softmax loss (Böhning's bound;
 * {@code λmax} by 50 power iterations). No line search, no tolerance: the cost is exactly
 * {@code steps · 2·n·(d+1)·classes} multiply-adds.
 */
public final class LinearProbe {

    /** Default L2 strength on the standardised features. */
    public static final double DEFAULT_L2 = 1e-3;

    /** Default number of accelerated gradient steps. */
    public static final int DEFAULT_STEPS = 200;

    private final double[] mean;
    private final double[] scale;
    private final double[][] w; // (classes, d + 1), last column the bias

    private LinearProbe(double[] mean, double[] scale, double[][] w) {
        this.mean = mean;
        this.scale = scale;
        this.w = w;
    }

    /** {@link #fit(double[][], int[], int, double, int)} with the defaults. */
    public static LinearProbe fit(double[][] x, int[] y, int classes) {
        return fit(x, y, classes, DEFAULT_L2, DEFAULT_STEPS);
    }

    /**
     * Fits a probe.
     *
     * @param x       features {@code (n, d)}
     * @param y       class indices in {@code [0, classes)}
     * @param classes number of classes (at least 2)
     */
    public static LinearProbe fit(double[][] x, int[] y, int classes, double l2, int steps) {
        checkInputs(x, y, classes);
        int n = x.length;
        int d = x[0].length;
        double[] mean = columnMeans(x, d);
        double[] scale = inverseStandardDeviations(x, mean);
        LinearProbe shell = new LinearProbe(mean, scale, null);
        double[][] z = new double[n][];
        for (int i = 0; i < n; i++) {
            z[i] = shell.standardise(x[i]);
        }
        return new LinearProbe(mean, scale, minimise(z, y, classes, d, l2, steps));
    }

    private static void checkInputs(double[][] x, int[] y, int classes) {
        int n = x.length;
        if (n == 0 || n != y.length) {
            throw new IllegalArgumentException(n + " feature rows and " + y.length + " labels");
        }
        if (classes < 2) {
            throw new IllegalArgumentException("a probe needs at least 2 classes, got " + classes);
        }
        for (int label : y) {
            if (label < 0 || label >= classes) {
                throw new IllegalArgumentException("label " + label + " outside [0, " + classes + ")");
            }
        }
    }

    private static double[] columnMeans(double[][] x, int d) {
        double[] mean = new double[d];
        for (double[] row : x) {
            for (int j = 0; j < d; j++) {
                mean[j] += row[j];
            }
        }
        for (int j = 0; j < d; j++) {
            mean[j] /= x.length;
        }
        return mean;
    }

    /** 1/sd per column; a constant column gets 1 (it is only centred). */
    private static double[] inverseStandardDeviations(double[][] x, double[] mean) {
        int d = mean.length;
        double[] scale = new double[d];
        for (double[] row : x) {
            for (int j = 0; j < d; j++) {
                double c = row[j] - mean[j];
                scale[j] += c * c;
            }
        }
        for (int j = 0; j < d; j++) {
            double sd = Math.sqrt(scale[j] / x.length);
            scale[j] = sd > 1e-8 ? 1.0 / sd : 1.0;
        }
        return scale;
    }

    /**
     * Nesterov's accelerated gradient on the standardised rows {@code z} (bias column last), step
     * {@code 1/L}: the weights {@code (classes, d + 1)} after {@code steps} steps.
     */
    private static double[][] minimise(double[][] z, int[] y, int classes, int d, double l2, int steps) {
        double lipschitz = 0.5 * maxEigen(z) + l2;
        double lr = 1.0 / lipschitz;
        int dz = d + 1;
        double[][] wCur = new double[classes][dz];
        double[][] wPrev = new double[classes][dz];
        double[][] v = new double[classes][dz];
        double[][] grad = new double[classes][dz];
        double[] logits = new double[classes];
        for (int t = 1; t <= steps; t++) {
            double momentum = (t - 1.0) / (t + 2.0);
            for (int k = 0; k < classes; k++) {
                for (int j = 0; j < dz; j++) {
                    v[k][j] = wCur[k][j] + momentum * (wCur[k][j] - wPrev[k][j]);
                    grad[k][j] = 0;
                }
            }
            addCrossEntropyGradient(z, y, v, grad, logits);
            double[][] swap = wPrev;
            wPrev = wCur;
            wCur = swap;
            for (int k = 0; k < classes; k++) {
                for (int j = 0; j < dz; j++) {
                    // the bias column (j == d) is not penalised
                    double g = grad[k][j] + (j < d ? l2 * v[k][j] : 0);
                    wCur[k][j] = v[k][j] - lr * g;
                }
            }
        }
        return wCur;
    }

    /**
     * Adds the gradient of the mean cross-entropy at weights {@code v} to {@code grad};
     * {@code logits} is scratch space of one row.
     */
    private static void addCrossEntropyGradient(double[][] z, int[] y, double[][] v, double[][] grad, double[] logits) {
        int n = z.length;
        int classes = v.length;
        int dz = v[0].length;
        for (int i = 0; i < n; i++) {
            double[] zi = z[i];
            double max = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < classes; k++) {
                double s = 0;
                double[] vk = v[k];
                for (int j = 0; j < dz; j++) {
                    s += vk[j] * zi[j];
                }
                logits[k] = s;
                max = Math.max(max, s);
            }
            double sum = 0;
            for (int k = 0; k < classes; k++) {
                logits[k] = Math.exp(logits[k] - max);
                sum += logits[k];
            }
            for (int k = 0; k < classes; k++) {
                double r = (logits[k] / sum - (y[i] == k ? 1 : 0)) / n;
                if (r == 0) {
                    continue;
                }
                double[] gk = grad[k];
                for (int j = 0; j < dz; j++) {
                    gk[j] += r * zi[j];
                }
            }
        }
    }

    /** Standardised features with the bias column appended. */
    private double[] standardise(double[] x) {
        int d = mean.length;
        if (x.length != d) {
            throw new IllegalArgumentException("expected " + d + " features, got " + x.length);
        }
        double[] z = new double[d + 1];
        for (int j = 0; j < d; j++) {
            z[j] = (x[j] - mean[j]) * scale[j];
        }
        z[d] = 1;
        return z;
    }

    /** Logits {@code (n, classes)} of {@code x}. */
    public float[][] logits(double[][] x) {
        float[][] out = new float[x.length][w.length];
        for (int i = 0; i < x.length; i++) {
            double[] z = standardise(x[i]);
            for (int k = 0; k < w.length; k++) {
                double s = 0;
                for (int j = 0; j < z.length; j++) {
                    s += w[k][j] * z[j];
                }
                out[i][k] = (float) s;
            }
        }
        return out;
    }

    /** Fraction of rows whose arg-max class is {@code y} (-1 counts as wrong). */
    public double accuracy(double[][] x, int[] y) {
        float[][] l = logits(x);
        int hits = 0;
        for (int i = 0; i < l.length; i++) {
            int best = 0;
            for (int k = 1; k < l[i].length; k++) {
                if (l[i][k] > l[i][best]) {
                    best = k;
                }
            }
            hits += best == y[i] ? 1 : 0;
        }
        return l.length == 0 ? Double.NaN : (double) hits / l.length;
    }

    /** Rows per class for {@link #crossValidatedAccuracy}'s folds. */
    public static final int FOLDS = 4;

    /**
     * Accuracy over {@code min(FOLDS, n)} stratified folds (each label's rows dealt round-robin in
     * order): every row is predicted by a probe (the defaults) fitted on the other folds. NaN below
     * 2 rows. Deterministic, like {@link #fit}.
     */
    public static double crossValidatedAccuracy(double[][] x, int[] y, int classes) {
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
            double[][] tx = new double[trainN][];
            int[] ty = new int[trainN];
            double[][] vx = new double[n - trainN][];
            int[] vy = new int[n - trainN];
            for (int i = 0, t = 0, v = 0; i < n; i++) {
                if (fold[i] != f) {
                    tx[t] = x[i];
                    ty[t++] = y[i];
                } else {
                    vx[v] = x[i];
                    vy[v++] = y[i];
                }
            }
            LinearProbe probe = fit(tx, ty, classes);
            correct += (int) Math.round(probe.accuracy(vx, vy) * vx.length);
            counted += vx.length;
        }
        return counted == 0 ? Double.NaN : (double) correct / counted;
    }

    /** Largest eigenvalue of {@code ZᵀZ/n} by power iteration from the all-ones vector. */
    static double maxEigen(double[][] z) {
        int n = z.length;
        int d = z[0].length;
        double[] v = new double[d];
        Arrays.fill(v, 1.0 / Math.sqrt(d));
        double lambda = 0;
        for (int it = 0; it < 50; it++) {
            double[] u = new double[d];
            for (double[] row : z) {
                double s = 0;
                for (int j = 0; j < d; j++) {
                    s += row[j] * v[j];
                }
                for (int j = 0; j < d; j++) {
                    u[j] += s * row[j];
                }
            }
            double norm = 0;
            for (int j = 0; j < d; j++) {
                u[j] /= n;
                norm += u[j] * u[j];
            }
            norm = Math.sqrt(norm);
            if (norm == 0) {
                return 0;
            }
            lambda = norm;
            for (int j = 0; j < d; j++) {
                v[j] = u[j] / norm;
            }
        }
        return lambda * 1.01; // power iteration approaches from below
    }
}
