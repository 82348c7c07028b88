package io.loragate.diagnostics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The linear probe on toy data: separable classes are learned, noise is not, fits are deterministic. */
class LinearProbeTest {

    /** Three Gaussian blobs in 20 dimensions; only dimensions 0 and 1 carry the class. */
    static double[][] blobs(Random rng, int[] y, double spread) {
        double[][] centres = {{4, 0}, {-4, 4}, {0, -4}};
        double[][] x = new double[y.length][20];
        for (int i = 0; i < y.length; i++) {
            y[i] = i % 3;
            for (int j = 0; j < 20; j++) {
                x[i][j] = rng.nextGaussian() * spread + (j < 2 ? centres[y[i]][j] : 3.0);
            }
        }
        return x;
    }

    @Test
    void separableClassesAreLearnedAndGeneralise() {
        Random rng = new Random(7);
        int[] y = new int[60];
        int[] yTest = new int[90];
        double[][] x = blobs(rng, y, 1.0);
        double[][] xTest = blobs(rng, yTest, 1.0);
        LinearProbe probe = LinearProbe.fit(x, y, 3);
        assertEquals(1.0, probe.accuracy(x, y), 1e-12);
        assertTrue(probe.accuracy(xTest, yTest) >= 0.95, "held-out accuracy " + probe.accuracy(xTest, yTest));
    }

    @Test
    void randomLabelsStayNearChanceOnHeldOutData() {
        Random rng = new Random(8);
        double[][] x = new double[60][20];
        double[][] xTest = new double[300][20];
        int[] y = new int[60];
        int[] yTest = new int[300];
        for (int i = 0; i < 60; i++) {
            for (int j = 0; j < 20; j++) {
                x[i][j] = rng.nextGaussian();
            }
            y[i] = rng.nextInt(3);
        }
        for (int i = 0; i < 300; i++) {
            for (int j = 0; j < 20; j++) {
                xTest[i][j] = rng.nextGaussian();
            }
            yTest[i] = rng.nextInt(3);
        }
        double acc = LinearProbe.fit(x, y, 3).accuracy(xTest, yTest);
        assertTrue(acc < 0.5, "features without information, accuracy " + acc);
    }

    @Test
    void deterministic() {
        int[] y = new int[30];
        double[][] x = blobs(new Random(9), y, 2.0);
        float[][] a = LinearProbe.fit(x, y, 3).logits(x);
        float[][] b = LinearProbe.fit(x, y, 3).logits(x);
        for (int i = 0; i < a.length; i++) {
            assertArrayEquals(a[i], b[i]);
        }
    }

    /** {@code n} rows of {@code dim} features around a per-class centre at distance {@code sep} (label i % classes). */
    static double[][] centred(int n, int dim, int classes, double sep, int[] y, long seed) {
        java.util.SplittableRandom rng = new java.util.SplittableRandom(seed);
        double[][] x = new double[n][dim];
        for (int i = 0; i < n; i++) {
            y[i] = i % classes;
            for (int j = 0; j < dim; j++) {
                x[i][j] = (j == y[i] ? sep : 0) + rng.nextGaussian();
            }
        }
        return x;
    }

    @Test
    void crossValidationSeparatesSignalFromNoiseDeterministically() {
        int[] y = new int[60];
        double acc = LinearProbe.crossValidatedAccuracy(centred(60, 8, 3, 6, y, 1), y, 3);
        assertTrue(acc >= 0.95, "separable: accuracy " + acc);
        int[] noiseY = new int[80];
        double[][] noise = centred(80, 16, 2, 0, noiseY, 2);
        double chance = LinearProbe.crossValidatedAccuracy(noise, noiseY, 2);
        assertTrue(chance < 0.75, "noise: accuracy " + chance);
        assertEquals(chance, LinearProbe.crossValidatedAccuracy(noise, noiseY, 2));
        assertTrue(Double.isNaN(LinearProbe.crossValidatedAccuracy(new double[][] {{1}}, new int[] {0}, 2)));
    }
}
