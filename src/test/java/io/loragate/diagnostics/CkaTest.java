package io.loragate.diagnostics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The math of linear CKA: self-similarity, invariances, both formulations agreeing. */
class CkaTest {

    static double[][] random(Random rng, int n, int d) {
        double[][] x = new double[n][d];
        for (double[] row : x) {
            for (int j = 0; j < d; j++) {
                row[j] = rng.nextGaussian() + (j % 3 == 0 ? 5 : 0); // non-zero means: centering matters
            }
        }
        return x;
    }

    /** A random orthogonal matrix (Gram-Schmidt of a Gaussian one). */
    static double[][] orthogonal(Random rng, int d) {
        double[][] q = new double[d][d];
        for (int i = 0; i < d; i++) {
            double[] v = new double[d];
            for (int j = 0; j < d; j++) {
                v[j] = rng.nextGaussian();
            }
            for (int k = 0; k < i; k++) {
                double dot = 0;
                for (int j = 0; j < d; j++) {
                    dot += v[j] * q[k][j];
                }
                for (int j = 0; j < d; j++) {
                    v[j] -= dot * q[k][j];
                }
            }
            double norm = 0;
            for (double a : v) {
                norm += a * a;
            }
            for (int j = 0; j < d; j++) {
                q[i][j] = v[j] / Math.sqrt(norm);
            }
        }
        return q;
    }

    static double[][] times(double[][] x, double[][] m, double scale, double shift) {
        double[][] out = new double[x.length][m[0].length];
        for (int i = 0; i < x.length; i++) {
            for (int j = 0; j < m[0].length; j++) {
                double s = 0;
                for (int k = 0; k < m.length; k++) {
                    s += x[i][k] * m[k][j];
                }
                out[i][j] = scale * s + shift;
            }
        }
        return out;
    }

    @Test
    void selfSimilarityIsOne() {
        Random rng = new Random(1);
        for (int[] shape : new int[][] {{50, 8}, {8, 50}, {200, 16}}) {
            double[][] x = random(rng, shape[0], shape[1]);
            assertEquals(1.0, Cka.linear(x, x), 1e-12, "n=" + shape[0] + " d=" + shape[1]);
        }
    }

    @Test
    void invariantToOrthogonalTransformIsotropicScalingAndShift() {
        Random rng = new Random(2);
        double[][] x = random(rng, 60, 12);
        double[][] y = random(rng, 60, 10);
        for (int i = 0; i < 60; i++) {
            for (int j = 0; j < 10; j++) {
                y[i][j] += 0.7 * x[i][j]; // related, but not the same
            }
        }
        double reference = Cka.linear(x, y);
        assertTrue(reference > 0.05 && reference < 0.95, "a partial similarity, was " + reference);
        double[][] xq = times(x, orthogonal(rng, 12), 3.5, -2.0);
        double[][] yq = times(y, orthogonal(rng, 10), 0.01, 7.0);
        assertEquals(reference, Cka.linear(xq, yq), 1e-9);
        assertEquals(1.0, Cka.linear(x, xq), 1e-9, "X against an orthogonal, scaled, shifted copy of itself");
    }

    @Test
    void featureAndSampleSpaceFormulationsAgree() {
        Random rng = new Random(3);
        double[][] x = Cka.centered(random(rng, 40, 25));
        double[][] y = Cka.centered(random(rng, 40, 30));
        assertEquals(Cka.featureSpace(x, y), Cka.sampleSpace(x, y), 1e-10);
    }

    @Test
    void independentRepresentationsAreDissimilarAndConstantOnesUndefined() {
        Random rng = new Random(4);
        double cka = Cka.linear(random(rng, 2000, 4), random(rng, 2000, 4));
        assertTrue(cka < 0.02, "independent noise, was " + cka);
        double[][] constant = new double[10][3];
        assertTrue(Double.isNaN(Cka.linear(constant, random(rng, 10, 3))));
    }
}
