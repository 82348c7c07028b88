package io.loragate.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.loragate.Fixtures;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Token-budgeted micro-batches of encoder requests: the planner covers every row once and keeps each
 * forward within the budget, and the batched forwards give the unbatched results in input order.
 */
class EncoderBatchesTest {

    static List<long[]> rows(int... lengths) {
        List<long[]> out = new ArrayList<>();
        for (int n : lengths) {
            out.add(new long[n]);
        }
        return out;
    }

    @Test
    void everyRowOnceAndNoForwardOverTheBudget() {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int trial = 0; trial < 200; trial++) {
            int n = 1 + rnd.nextInt(80);
            int[] lengths = rnd.ints(n, 1, 513).toArray();
            long budget = 256 + rnd.nextInt(8192);
            List<long[]> ids = rows(lengths);
            List<int[]> plan = EncoderBatches.plan(ids, budget);
            int[] seen = new int[n];
            for (int[] g : plan) {
                for (int i : g) {
                    seen[i]++;
                }
                long padded = EncoderBatches.paddedTokens(EncoderBatches.rows(ids, g));
                assertTrue(padded <= budget || g.length == 1, "a forward of " + padded + " padded tokens over " + budget);
            }
            int[] once = new int[n];
            Arrays.fill(once, 1);
            assertArrayEquals(once, seen);
        }
    }

    @Test
    void fiftyRowsOf512TokensRunEightRowsAtATimeUnderTheDefaultBudget() {
        List<long[]> ids = rows(new int[50]);
        for (int i = 0; i < 50; i++) {
            ids.set(i, new long[512]);
        }
        List<int[]> plan = EncoderBatches.plan(ids, 4096);
        assertEquals(7, plan.size()); // ceil(50 / 8)
        assertEquals(8, plan.get(0).length);
        // a request within the budget stays one forward in its own order (exactly the unbatched one)
        assertEquals(1, EncoderBatches.plan(rows(3, 9, 5), 4096).size());
        assertArrayEquals(new int[] {0, 1, 2}, EncoderBatches.plan(rows(3, 9, 5), 4096).get(0));
        // longest first, so that similar lengths share a forward: 512+500 together, the short ones together
        List<int[]> mixed = EncoderBatches.plan(rows(10, 512, 12, 500, 11), 1024);
        assertArrayEquals(new int[] {1, 3}, mixed.get(0));
        assertArrayEquals(new int[] {2, 4, 0}, mixed.get(1));
        // a row longer than the budget runs alone
        assertEquals(List.of(1, 1), EncoderBatches.plan(rows(300, 300), 100).stream().map(g -> g.length).toList());
    }

    @Test
    void batchedLogitsAndHiddenStatesEqualTheUnbatchedForward() {
        try (EncoderModel model = (EncoderModel) BaseModel.load(Fixtures.hf("tiny-bert-cls"), Device.cpu())) {
            int positions = model.config().maxPositions();
            SplittableRandom rnd = new SplittableRandom(11);
            List<long[]> ids = new ArrayList<>();
            for (int i = 0; i < 23; i++) {
                int len = i % 5 == 0 ? positions : 1 + rnd.nextInt(positions);
                ids.add(rnd.longs(len, 1, model.config().vocabSize()).toArray());
            }
            long budget = 2L * positions; // several micro-batches, rows reordered by length
            assertTrue(EncoderBatches.plan(ids, budget).size() >= 8);

            float[][] whole = model.classify(ids, AdapterHook.NONE);
            long before = model.inferenceForwards();
            float[][] batched = model.classify(ids, AdapterHook.NONE, 0, budget);
            assertEquals(EncoderBatches.plan(ids, budget).size(), model.inferenceForwards() - before);
            for (int i = 0; i < ids.size(); i++) {
                assertEquals(whole[i].length, batched[i].length);
                for (int k = 0; k < whole[i].length; k++) {
                    assertEquals(whole[i][k], batched[i][k], 1e-5, "logit " + k + " of row " + i);
                }
                assertEquals(argmax(whole[i]), argmax(batched[i]), "label of row " + i);
            }
            float[][] e1 = model.embed(ids, EncoderModel.Pooling.MEAN, AdapterHook.NONE);
            float[][] e2 = model.embed(ids, EncoderModel.Pooling.MEAN, AdapterHook.NONE, budget);
            float[][][] h1 = model.lastHidden(ids, AdapterHook.NONE);
            float[][][] h2 = model.lastHidden(ids, AdapterHook.NONE, budget);
            for (int i = 0; i < ids.size(); i++) {
                assertEquals(0, Fixtures.maxAbsDiff(e1[i], e2[i]), 1e-5, "embedding of row " + i);
                assertEquals(h1[i].length, h2[i].length);
                for (int s = 0; s < h1[i].length; s++) {
                    assertEquals(0, Fixtures.maxAbsDiff(h1[i][s], h2[i][s]), 1e-5, "state " + s + " of row " + i);
                }
            }
            assertTrue(model.largestForwardTokens() >= 23L * positions); // the unbatched calls above
        }
    }

    @Test
    void aForwardLeavesNoArrayBehindInTheModelsManager() {
        try (EncoderModel model = (EncoderModel) BaseModel.load(Fixtures.hf("tiny-bert-cls"), Device.cpu())) {
            List<long[]> ids = List.of(new long[] {1, 5, 9, 3}, new long[] {2, 7});
            model.classify(ids, AdapterHook.NONE, 0, 4); // warm-up
            int live = model.manager().getManagedArrays().size();
            model.classify(ids, AdapterHook.NONE, 0, 4);
            model.embed(ids, EncoderModel.Pooling.CLS, AdapterHook.NONE, 4);
            model.lastHidden(ids, AdapterHook.NONE, 4);
            assertEquals(live, model.manager().getManagedArrays().size());
        }
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }
}
