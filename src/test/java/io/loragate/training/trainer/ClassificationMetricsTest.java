package io.loragate.training.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Metrics against values computed by hand (see the comments). */
class ClassificationMetricsTest {

    /** Logits whose softmax is exactly {@code p} (up to float rounding of the logs). */
    static float[] logitsOf(double... p) {
        float[] l = new float[p.length];
        for (int k = 0; k < p.length; k++) {
            l[k] = (float) Math.log(p[k]);
        }
        return l;
    }

    /**
     * Five examples, three labels; the last example's label is unknown to the classifier (-1).
     * <pre>
     *   p                     truth  pred  conf  correct  bin
     *   (.75, .15, .10)        0      0    .75   yes      (.7, .8]
     *   (.55, .25, .20)        1      0    .55   no       (.5, .6]
     *   (.15, .65, .20)        1      1    .65   yes      (.6, .7]
     *   (.25, .30, .45)        2      2    .45   yes      (.4, .5]
     *   (.72, .18, .10)       -1      0    .72   no       (.7, .8]
     * </pre>
     * accuracy 3/5; F1: label 0 = 2·1/(2+2+0) = .5, label 1 = 2/(2+0+1) = 2/3, label 2 = 1,
     * unknown = 0, macro = (.5 + 2/3 + 1 + 0)/4 = 0.5416667; ECE = .2·|1−.45| + .2·|0−.55| +
     * .2·|1−.65| + .4·|.5−.735| = .11 + .11 + .07 + .094 = .384; loss = −(ln .75 + ln .25 + ln .65 +
     * ln .45)/4 = 0.7258168 (the unknown label has no term).
     */
    @Test
    void handComputedExample() {
        float[][] logits = {logitsOf(.75, .15, .10), logitsOf(.55, .25, .20), logitsOf(.15, .65, .20),
            logitsOf(.25, .30, .45), logitsOf(.72, .18, .10)};
        int[] truth = {0, 1, 1, 2, -1};
        EvalMetrics m = ClassificationMetrics.of(logits, truth);
        assertEquals(5, m.examples());
        assertEquals(0.6, m.accuracy(), 1e-12);
        assertEquals((0.5 + 2.0 / 3 + 1 + 0) / 4, m.macroF1(), 1e-12);
        assertEquals(0.384, m.ece(), 1e-6);
        assertEquals(-(Math.log(.75) + Math.log(.25) + Math.log(.65) + Math.log(.45)) / 4, m.loss(), 1e-6);
        assertNull(m.perplexity());
        List<Map<String, Double>> table = m.reliability();
        assertEquals(10, table.size());
        Map<String, Double> bin7 = table.get(7);
        assertEquals(0.7, bin7.get("lo"), 1e-12);
        assertEquals(0.8, bin7.get("hi"), 1e-12);
        assertEquals(2.0, bin7.get("count"));
        assertEquals(0.735, bin7.get("confidence"), 1e-6);
        assertEquals(0.5, bin7.get("accuracy"), 1e-12);
        assertEquals(1.0, table.get(4).get("count"));
        assertEquals(1.0, table.get(4).get("accuracy"));
        assertEquals(0.0, table.get(5).get("accuracy"));
        assertEquals(0.0, table.get(0).get("count"));
        double total = table.stream().mapToDouble(b -> b.get("count")).sum();
        assertEquals(5.0, total);
    }

    /** Labels absent from both truth and predictions are left out of the macro average. */
    @Test
    void macroF1AveragesOnlyLabelsThatOccur() {
        assertEquals(1.0, ClassificationMetrics.macroF1(new int[] {0, 0, 2}, new int[] {0, 0, 2}), 1e-12);
        // label 1 is predicted once but never true: F1(0) = 2/(2+0+1) = 2/3, F1(1) = 0
        assertEquals((2.0 / 3 + 0) / 2, ClassificationMetrics.macroF1(new int[] {0, 1}, new int[] {0, 0}), 1e-12);
    }

    /** Bins are (lo, hi]: 0.1 falls in the first, 1.0 in the last, 0.1000001 in the second. */
    @Test
    void binEdges() {
        assertEquals(0, ClassificationMetrics.bin(0.0));
        assertEquals(0, ClassificationMetrics.bin(0.1));
        assertEquals(1, ClassificationMetrics.bin(0.1000001));
        assertEquals(9, ClassificationMetrics.bin(1.0));
        // one right answer at confidence 1 is calibrated; two right answers at 0.7 are off by 0.3
        assertEquals(0.0, ClassificationMetrics.expectedCalibrationError(new double[] {1.0}, new boolean[] {true}), 1e-12);
        assertEquals(0.3, ClassificationMetrics.expectedCalibrationError(new double[] {0.7, 0.7}, new boolean[] {true, true}), 1e-12);
    }

    /** Cross-entropy stays finite for logits far beyond exp's range. */
    @Test
    void crossEntropyIsStable() {
        float[][] logits = {{1000f, 0f}, {0f, 1000f}};
        assertEquals(500.0, ClassificationMetrics.crossEntropy(logits, new int[] {0, 0}), 1e-9);
    }
}
