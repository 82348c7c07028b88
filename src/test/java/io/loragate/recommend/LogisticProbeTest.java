package io.loragate.recommend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LogisticProbeTest {

    /** {@code n} rows of {@code dim} features around a per-class centre at distance {@code sep}. */
    static float[][] blobs(int n, int dim, int classes, double sep, int[] y, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[][] x = new float[n][dim];
        for (int i = 0; i < n; i++) {
            y[i] = i % classes;
            for (int j = 0; j < dim; j++) {
                double centre = j == y[i] ? sep : 0;
                x[i][j] = (float) (centre + rng.nextGaussian());
            }
        }
        return x;
    }

    @Test
    void separableFeaturesGiveAHighCrossValidatedAccuracy() {
        int[] y = new int[60];
        float[][] x = blobs(60, 8, 3, 6, y, 1);
        double acc = LogisticProbe.crossValidatedAccuracy(x, y, 3);
        assertTrue(acc >= 0.95, "accuracy " + acc);
    }

    @Test
    void noiseStaysNearChance() {
        int[] y = new int[80];
        float[][] x = blobs(80, 16, 2, 0, y, 2);
        double acc = LogisticProbe.crossValidatedAccuracy(x, y, 2);
        assertTrue(acc < 0.75, "accuracy " + acc);
    }

    @Test
    void deterministic() {
        int[] y = new int[40];
        float[][] x = blobs(40, 4, 2, 1, y, 3);
        assertEquals(LogisticProbe.crossValidatedAccuracy(x, y, 2), LogisticProbe.crossValidatedAccuracy(x, y, 2));
        List<Integer> all = java.util.stream.IntStream.range(0, 100).boxed().toList();
        assertEquals(ShiftEstimator.sample(all, 10), ShiftEstimator.sample(all, 10));
        assertEquals(10, ShiftEstimator.sample(all, 10).size());
        assertEquals(3, ShiftEstimator.sample(List.of(1, 2, 3), 10).size());
    }
}
