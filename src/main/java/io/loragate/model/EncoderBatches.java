package io.loragate.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Splits one encoder request into micro-batches of at most {@code budget} padded tokens each
 * (rows × the longest row of the micro-batch), so that the activations of a forward are bounded by
 * the budget rather than by the request. Rows are taken longest first, so that rows of similar
 * length share a micro-batch and little padding is computed; a row longer than the budget runs
 * alone. A request that fits the budget as it is stays one micro-batch in its own order (exactly
 * the unbatched forward).
 */
public final class EncoderBatches {

    private EncoderBatches() {
    }

    /** Padded tokens of {@code rows} when they are run as one forward: rows × the longest row. */
    public static long paddedTokens(List<long[]> rows) {
        long max = 0;
        for (long[] r : rows) {
            max = Math.max(max, r.length);
        }
        return max * rows.size();
    }

    /**
     * The micro-batches, as indices into {@code ids}: every index exactly once, and each group's
     * padded tokens within {@code budget} unless it is a single row.
     */
    public static List<int[]> plan(List<long[]> ids, long budget) {
        int n = ids.size();
        if (n == 0) {
            return List.of();
        }
        if (paddedTokens(ids) <= budget) {
            int[] all = new int[n];
            Arrays.setAll(all, i -> i);
            return List.of(all);
        }
        Integer[] order = new Integer[n];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, Comparator.comparingInt((Integer i) -> ids.get(i).length).reversed()); // stable
        List<int[]> groups = new ArrayList<>();
        int start = 0;
        while (start < n) {
            long longest = Math.max(1, ids.get(order[start]).length);
            int end = start + 1;
            while (end < n && (end - start + 1) * longest <= budget) {
                end++;
            }
            int[] g = new int[end - start];
            for (int i = start; i < end; i++) {
                g[i - start] = order[i];
            }
            groups.add(g);
            start = end;
        }
        return groups;
    }

    /** The rows of one micro-batch. */
    public static List<long[]> rows(List<long[]> ids, int[] group) {
        List<long[]> out = new ArrayList<>(group.length);
        for (int i : group) {
            out.add(ids.get(i));
        }
        return out;
    }
}
