package io.loragate.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The documented sliding-window rule written out again for tests, independently of
 * {@link InputWindows}: [CLS] + text + [SEP] in windows of {@code room} tokens, consecutive windows
 * sharing a quarter of the text tokens; each window encoded alone, vectors averaged weighted by tokens.
 */
public final class SlidingWindowReference {

    private SlidingWindowReference() {
    }

    /** The windows of a BERT input ({@code ids[0]} = [CLS], last = [SEP]). */
    public static List<long[]> windows(long[] ids, int room) {
        long[] text = Arrays.copyOfRange(ids, 1, ids.length - 1);
        int per = room - 2;
        int stride = per - per / 4;
        List<long[]> out = new ArrayList<>();
        for (int start = 0; ; start += stride) {
            int end = Math.min(text.length, start + per);
            long[] w = new long[end - start + 2];
            w[0] = ids[0];
            System.arraycopy(text, start, w, 1, end - start);
            w[w.length - 1] = ids[ids.length - 1];
            out.add(w);
            if (end == text.length) {
                return out;
            }
        }
    }

    /** The token-weighted average of {@code perWindow} (one vector per window of {@code windows}). */
    public static double[] weightedAverage(List<long[]> windows, float[][] perWindow) {
        double[] sum = new double[perWindow[0].length];
        double tokens = 0;
        for (int w = 0; w < windows.size(); w++) {
            tokens += windows.get(w).length;
            for (int k = 0; k < sum.length; k++) {
                sum[k] += perWindow[w][k] * (double) windows.get(w).length;
            }
        }
        for (int k = 0; k < sum.length; k++) {
            sum[k] /= tokens;
        }
        return sum;
    }

    /** The sliding-window embedding: each window embedded alone (mean pooling), averaged, unit length. */
    public static double[] embedding(EncoderModel model, long[] ids, int room) {
        List<long[]> windows = windows(ids, room);
        float[][] each = new float[windows.size()][];
        for (int w = 0; w < windows.size(); w++) {
            each[w] = model.embed(List.of(windows.get(w)), EncoderModel.Pooling.MEAN, AdapterHook.NONE)[0];
        }
        double[] avg = weightedAverage(windows, each);
        double norm = 0;
        for (double x : avg) {
            norm += x * x;
        }
        norm = Math.sqrt(norm);
        for (int k = 0; k < avg.length; k++) {
            avg[k] /= norm;
        }
        return avg;
    }
}
