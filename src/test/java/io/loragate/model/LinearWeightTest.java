package io.loragate.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import io.loragate.Fixtures;
import io.loragate.common.LoragateException;
import org.junit.jupiter.api.Test;

/** A weight held in float16 or int8 computes x·Wᵀ within the rounding bound of its format. */
class LinearWeightTest {

    static final int OUT = 40, IN = 24;

    /** W (OUT, IN) with a wide spread of row magnitudes and one zero row (row 7). */
    static float[] weights() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(5);
        float[] w = new float[OUT * IN];
        for (int o = 0; o < OUT; o++) {
            double rowScale = Math.pow(10, (o % 5) - 2); // 0.01 .. 100
            for (int i = 0; i < IN; i++) {
                w[o * IN + i] = o == 7 ? 0f : (float) (r.nextGaussian() * rowScale);
            }
        }
        return w;
    }

    @Test
    void int8OutputIsWithinHalfAStepOfEachRowAndAZeroRowStaysZero() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            float[] w = weights();
            NDArray x = m.randomNormal(new Shape(3, IN));                        // (3, IN)
            float[] exact = Linear.linear(x, m.create(w, new Shape(OUT, IN))).singletonOrThrow().toFloatArray();
            LinearWeight held = LinearWeight.store(m.create(w, new Shape(OUT, IN)), WeightFormat.INT8);
            float[] y = held.apply(x, null).toFloatArray();                     // (3, OUT)
            float[] xs = x.toFloatArray();
            for (int row = 0; row < 3; row++) {
                for (int o = 0; o < OUT; o++) {
                    double maxAbs = 0;
                    double sumAbsX = 0;
                    for (int i = 0; i < IN; i++) {
                        maxAbs = Math.max(maxAbs, Math.abs(w[o * IN + i]));
                        sumAbsX += Math.abs(xs[row * IN + i]);
                    }
                    // each weight is off by at most half a step s/2 = max|row|/254; float32 sums add a little
                    double bound = sumAbsX * maxAbs / 254 * 1.001 + 1e-5 * (1 + Math.abs(exact[row * OUT + o]));
                    double err = Math.abs(y[row * OUT + o] - exact[row * OUT + o]);
                    assertTrue(err <= bound, "row " + row + " out " + o + ": error " + err + " > bound " + bound);
                }
                assertEquals(0f, y[row * OUT + 7], "the zero row gives exactly 0, not NaN");
            }
            assertEquals(OUT * IN + OUT * 4L, held.bytes(), "one byte per weight plus a float32 scale per row");
        }
    }

    /** A fused matrix's per-layer views (FusedLinear's slices) compute exactly the full matrix's columns. */
    @Test
    void rowSlicesOfAHeldWeightGiveTheFullOutputsColumnsExactly() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            float[] w = weights();
            NDArray x = m.randomNormal(new Shape(2, IN));                         // (2, IN)
            long[] cuts = {16, 28};                                               // parts of 16, 12, 12 rows
            for (WeightFormat format : WeightFormat.values()) {
                LinearWeight held = LinearWeight.store(m.create(w, new Shape(OUT, IN)), format);
                float[] all = held.apply(x, null).toFloatArray();                // (2, OUT)
                LinearWeight[] parts = held.slices(cuts);
                long start = 0;
                long bytes = 0;
                for (int p = 0; p < parts.length; p++) {
                    long end = p < cuts.length ? cuts[p] : OUT;
                    int rows = (int) (end - start);
                    float[] y = parts[p].apply(x, null).toFloatArray();           // (2, rows)
                    for (int row = 0; row < 2; row++) {
                        for (int o = 0; o < rows; o++) {
                            assertEquals(all[row * OUT + (int) start + o], y[row * rows + o], 1e-6f,
                                    format + " part " + p + " row " + row + " out " + o);
                        }
                    }
                    assertEquals(new Shape(rows, IN), parts[p].dense().getShape());
                    bytes += parts[p].bytes();
                    start = end;
                }
                assertEquals(held.bytes(), bytes, format + ": the parts' bytes add up to the whole");
            }
        }
    }

    @Test
    void float16OutputIsWithinHalfPrecisionOfEachWeight() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            float[] w = weights();
            NDArray x = m.randomNormal(new Shape(2, IN));
            NDArray b = m.randomNormal(new Shape(OUT));
            float[] exact = Linear.linear(x, m.create(w, new Shape(OUT, IN)), b).singletonOrThrow().toFloatArray();
            LinearWeight held = LinearWeight.store(m.create(w, new Shape(OUT, IN)), WeightFormat.FLOAT16);
            float[] y = held.apply(x, b).toFloatArray();
            float[] xs = x.toFloatArray();
            for (int row = 0; row < 2; row++) {
                for (int o = 0; o < OUT; o++) {
                    double sumAbs = 0;
                    for (int i = 0; i < IN; i++) {
                        sumAbs += Math.abs(xs[row * IN + i] * w[o * IN + i]);
                    }
                    double bound = sumAbs * Math.pow(2, -11) * 1.001 + 1e-5 * (1 + Math.abs(exact[row * OUT + o]));
                    double err = Math.abs(y[row * OUT + o] - exact[row * OUT + o]);
                    assertTrue(err <= bound, "row " + row + " out " + o + ": error " + err + " > bound " + bound);
                }
            }
            assertEquals(OUT * IN * 2L, held.bytes());
        }
    }

    @Test
    void rowsAndDenseAreTheValuesTheLinearUses() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            float[] w = weights();
            LinearWeight held = LinearWeight.store(m.create(w, new Shape(OUT, IN)), WeightFormat.INT8);
            NDArray dense = held.dense();                                           // (OUT, IN) float32
            // dense() is what apply() multiplies by: Wᵀ's rows come back through identity inputs
            NDArray viaApply = held.apply(m.eye(IN), null).transpose();            // (OUT, IN)
            assertTrue(Fixtures.maxAbsDiff(dense.toFloatArray(), viaApply.toFloatArray()) < 1e-4);
            try (NDManager step = m.newSubManager()) {
                NDArray ids = step.create(new long[] {3, 7, 39}, new Shape(1, 3));
                NDArray rows = held.rows(ids, step);                               // (1, 3, IN)
                assertEquals(new Shape(1, 3, IN), rows.getShape());
                float[] expected = dense.get(m.create(new long[] {3, 7, 39})).toFloatArray();
                assertEquals(0.0, Fixtures.maxAbsDiff(expected, rows.toFloatArray()));
                assertEquals(step, rows.getManager());
            }
        }
    }

    @Test
    void anUnknownFormatIsRefusedByName() {
        LoragateException e = assertThrows(LoragateException.class, () -> WeightFormat.parse("int4"));
        assertEquals(LoragateException.Kind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().contains("float32, float16, int8"), e.getMessage());
        assertEquals(WeightFormat.INT8, WeightFormat.parse(" INT8 "));
    }
}
