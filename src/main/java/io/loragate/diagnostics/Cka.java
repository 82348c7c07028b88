package io.loragate.diagnostics;

/**
 * Linear centered kernel alignment (Kornblith et al. 2019) between two representations of the same
 * {@code n} inputs, on the host in double precision:
 *
 * <pre>
 *   CKA(X, Y) = HSIC(XXᵀ, YYᵀ) / √(HSIC(XXᵀ, XXᵀ) · HSIC(YYᵀ, YYᵀ)),   HSIC(K, L) = tr(KHLH) / (n−1)²
 * </pre>
 *
 * with {@code H = I − 11ᵀ/n}. Centering the columns of X and Y once is the same as centering both
 * Gram matrices, so after it {@code CKA = ‖YᵀX‖²_F / (‖XᵀX‖_F · ‖YᵀY‖_F)} (feature space, cost
 * {@code n·(dx+dy)²}) or, equivalently, {@code ⟨K, L⟩_F / (‖K‖_F · ‖L‖_F)} with {@code K = XXᵀ}
 * (sample space, cost {@code n²·(dx+dy)}); the cheaper one is used. CKA is 1 for identical
 * representations and invariant to orthogonal transforms and isotropic scaling of either; it is
 * NaN when either representation is constant over the inputs.
 */
public final class Cka {

    private Cka() {
    }

    /** Linear CKA of {@code x} {@code (n, dx)} and {@code y} {@code (n, dy)}, rows = the same inputs. */
    public static double linear(float[][] x, float[][] y) {
        return linear(toDouble(x), toDouble(y));
    }

    /** Linear CKA of {@code x} {@code (n, dx)} and {@code y} {@code (n, dy)}; the arrays are not modified. */
    public static double linear(double[][] x, double[][] y) {
        int n = x.length;
        if (n != y.length) {
            throw new IllegalArgumentException(n + " rows vs " + y.length + " rows");
        }
        if (n < 2) {
            return Double.NaN;
        }
        double[][] xc = centered(x);
        double[][] yc = centered(y);
        int dx = xc[0].length;
        int dy = yc[0].length;
        double featureCost = (double) n * (dx + dy) * (dx + dy);
        double sampleCost = (double) n * n * (dx + dy);
        return featureCost <= sampleCost ? featureSpace(xc, yc) : sampleSpace(xc, yc);
    }

    /** {@code ‖YᵀX‖²_F / (‖XᵀX‖_F · ‖YᵀY‖_F)} on centered columns. */
    static double featureSpace(double[][] x, double[][] y) {
        double xy = frobeniusSquared(crossProduct(y, x));
        double xx = Math.sqrt(frobeniusSquared(crossProduct(x, x)));
        double yy = Math.sqrt(frobeniusSquared(crossProduct(y, y)));
        return xy / (xx * yy);
    }

    /** {@code ⟨K, L⟩_F / (‖K‖_F · ‖L‖_F)} with {@code K = XXᵀ}, {@code L = YYᵀ}, on centered columns. */
    static double sampleSpace(double[][] x, double[][] y) {
        double[][] k = gram(x);
        double[][] l = gram(y);
        double kl = 0;
        double kk = 0;
        double ll = 0;
        for (int i = 0; i < k.length; i++) {
            for (int j = 0; j < k.length; j++) {
                kl += k[i][j] * l[i][j];
                kk += k[i][j] * k[i][j];
                ll += l[i][j] * l[i][j];
            }
        }
        return kl / Math.sqrt(kk * ll);
    }

    /** A copy of {@code x} with each column's mean subtracted. */
    static double[][] centered(double[][] x) {
        int n = x.length;
        int d = x[0].length;
        double[] mean = new double[d];
        for (double[] row : x) {
            if (row.length != d) {
                throw new IllegalArgumentException("ragged rows: " + row.length + " vs " + d);
            }
            for (int j = 0; j < d; j++) {
                mean[j] += row[j];
            }
        }
        for (int j = 0; j < d; j++) {
            mean[j] /= n;
        }
        double[][] out = new double[n][d];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                out[i][j] = x[i][j] - mean[j];
            }
        }
        return out;
    }

    /** {@code aᵀ·b}: {@code (da, db)}, row by row (cache-friendly, symmetric inputs not special-cased). */
    private static double[][] crossProduct(double[][] a, double[][] b) {
        int da = a[0].length;
        int db = b[0].length;
        double[][] out = new double[da][db];
        for (int r = 0; r < a.length; r++) {
            double[] ar = a[r];
            double[] br = b[r];
            for (int i = 0; i < da; i++) {
                double v = ar[i];
                if (v == 0) {
                    continue;
                }
                double[] o = out[i];
                for (int j = 0; j < db; j++) {
                    o[j] += v * br[j];
                }
            }
        }
        return out;
    }

    private static double[][] gram(double[][] x) {
        int n = x.length;
        double[][] k = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = i; j < n; j++) {
                double s = 0;
                for (int c = 0; c < x[i].length; c++) {
                    s += x[i][c] * x[j][c];
                }
                k[i][j] = s;
                k[j][i] = s;
            }
        }
        return k;
    }

    private static double frobeniusSquared(double[][] m) {
        double s = 0;
        for (double[] row : m) {
            for (double v : row) {
                s += v * v;
            }
        }
        return s;
    }

    static double[][] toDouble(float[][] x) {
        double[][] out = new double[x.length][];
        for (int i = 0; i < x.length; i++) {
            out[i] = new double[x[i].length];
            for (int j = 0; j < x[i].length; j++) {
                out[i][j] = x[i][j];
            }
        }
        return out;
    }
}
