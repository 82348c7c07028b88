package io.loragate.model;

import io.loragate.common.LoragateException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The encoder rows of a list of inputs under an {@link InputPooling}, and how to pool their vectors
 * back into one per input.
 *
 * <p>An input that fits the window ({@code room} tokens) is one row, itself. A longer one:
 * <ul>
 * <li>{@code truncate}: one row, its first {@code room - tail} tokens and its {@code tail} closing
 *     special tokens (BERT's [SEP]);</li>
 * <li>{@code sliding_window}: its text tokens (between the {@code head} opening and {@code tail}
 *     closing special tokens the tokenizer adds) in windows of {@code room - head - tail} tokens, each
 *     framed by the same special tokens; consecutive windows share a quarter of a window's text
 *     tokens (rounded down), the last window ends at the text's end and may be shorter. The input's
 *     vector is the average of its windows' vectors weighted by each window's tokens.</li>
 * </ul>
 *
 * @param rows   the encoder rows, every input's in order
 * @param owner  the input each row belongs to
 * @param cut    inputs that lost tokens (truncated, or windows past the limit dropped)
 */
public record InputWindows(List<long[]> rows, int[] owner, int inputs, int cut) {

    /**
     * The special tokens the tokenizer puts around every text ({@link TextTokenizer#frame()}).
     *
     * @param head opening special tokens ([CLS])
     * @param tail closing special tokens ([SEP])
     */
    public record Frame(int head, int tail) {
        public static final Frame NONE = new Frame(0, 0);
    }

    /**
     * How a reader windows its inputs: the pooling, the tokenizer's frame and the most windows per input.
     */
    public record Policy(InputPooling pooling, Frame frame, int maxWindows) {
        /** Cut every input to the window (what a classifier trained before sliding windows did). */
        public static final Policy TRUNCATE = new Policy(InputPooling.TRUNCATE, Frame.NONE, 1);
    }

    /**
     * Rows for {@code inputs}; an input needing more than {@code maxWindows} windows is refused
     * (400 naming {@code input} and the limit), so one request cannot occupy the engine.
     */
    public static InputWindows of(List<long[]> inputs, InputPooling pooling, Frame frame, int room, int maxWindows) {
        return build(inputs, pooling, frame, room, maxWindows, true);
    }

    /** As {@link #of}, but an input needing more windows keeps its first {@code maxWindows} (training: never fails). */
    public static InputWindows capped(List<long[]> inputs, InputPooling pooling, Frame frame, int room, int maxWindows) {
        return build(inputs, pooling, frame, room, maxWindows, false);
    }

    /** Windows of {@code length} tokens under sliding_window (1 when it fits {@code room}). */
    public static int windowCount(int length, Frame frame, int room) {
        int text = room - frame.head() - frame.tail();
        int content = length - frame.head() - frame.tail();
        if (length <= room || text < 1) {
            return 1;
        }
        int stride = stride(text);
        return 1 + (content - text + stride - 1) / stride;
    }

    private static int stride(int text) {
        return text - text / 4;
    }

    private static InputWindows build(List<long[]> inputs, InputPooling pooling, Frame frame, int room, int maxWindows,
            boolean refuse) {
        List<long[]> rows = new ArrayList<>();
        List<Integer> owner = new ArrayList<>();
        int cut = 0;
        for (int i = 0; i < inputs.size(); i++) {
            long[] ids = inputs.get(i);
            int text = room - frame.head() - frame.tail();
            if (ids.length <= room || pooling == InputPooling.TRUNCATE || text < 1) {
                rows.add(truncate(ids, frame, room));
                owner.add(i);
                cut += ids.length > room ? 1 : 0;
                continue;
            }
            int windows = windowCount(ids.length, frame, room);
            if (windows > maxWindows && refuse) {
                throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "input " + i + " has " + ids.length
                        + " tokens: " + windows + " windows of " + room + " tokens with pooling 'sliding_window', more than the"
                        + " limit of " + maxWindows + " (loragate.limits.max-windows-per-input)").withParam("input");
            }
            cut += windows > maxWindows ? 1 : 0;
            for (long[] w : slide(ids, frame, text, Math.min(windows, maxWindows))) {
                rows.add(w);
                owner.add(i);
            }
        }
        return new InputWindows(rows, owner.stream().mapToInt(Integer::intValue).toArray(), inputs.size(), cut);
    }

    /** {@code ids} in {@code room} tokens: itself when it fits, else its first tokens and its closing special tokens. */
    public static long[] truncate(long[] ids, Frame frame, int room) {
        if (ids.length <= room) {
            return ids;
        }
        int tail = Math.min(frame.tail(), room - 1);
        long[] out = Arrays.copyOf(ids, room);
        System.arraycopy(ids, ids.length - tail, out, room - tail, tail);
        return out;
    }

    private static List<long[]> slide(long[] ids, Frame frame, int text, int windows) {
        int h = frame.head();
        int t = frame.tail();
        int end = ids.length - t; // text tokens are ids[h, end)
        int stride = stride(text);
        List<long[]> out = new ArrayList<>();
        for (int k = 0; k < windows; k++) {
            int from = h + k * stride;
            int to = Math.min(end, from + text);
            long[] w = new long[h + (to - from) + t];
            System.arraycopy(ids, 0, w, 0, h);
            System.arraycopy(ids, from, w, h, to - from);
            System.arraycopy(ids, end, w, h + (to - from), t);
            out.add(w);
        }
        return out;
    }

    /** True when {@code input} is read in one row (its vector is that row's). */
    public boolean single(int input) {
        int n = 0;
        for (int o : owner) {
            n += o == input ? 1 : 0;
        }
        return n == 1;
    }

    /** True when every input is one row, itself (so the rows' vectors are the inputs' vectors). */
    public boolean oneRowEach() {
        return rows.size() == inputs;
    }

    /**
     * The pooling weights {@code (inputs, rows)}, row-major: each row's tokens over its input's
     * tokens (an input of one row: exactly 1).
     */
    public float[] mix() {
        float[] m = new float[inputs * rows.size()];
        double[] total = totals();
        for (int r = 0; r < rows.size(); r++) {
            int i = owner[r];
            m[i * rows.size() + r] = rows.get(r).length == total[i] ? 1f : (float) (rows.get(r).length / total[i]);
        }
        return m;
    }

    /**
     * One vector per input from one per row: the token-weighted average of its rows' vectors (an
     * input of one row: that row's vector itself).
     */
    public float[][] pool(float[][] rowVectors) {
        double[] total = totals();
        double[][] sum = new double[inputs][];
        int[] count = new int[inputs];
        for (int r = 0; r < rows.size(); r++) {
            int i = owner[r];
            count[i]++;
            if (sum[i] == null) {
                sum[i] = new double[rowVectors[r].length];
            }
            for (int k = 0; k < sum[i].length; k++) {
                sum[i][k] += rowVectors[r][k] * (double) rows.get(r).length;
            }
        }
        float[][] out = new float[inputs][];
        for (int r = rows.size() - 1; r >= 0; r--) {
            int i = owner[r];
            if (count[i] == 1) {
                out[i] = rowVectors[r];
            } else if (out[i] == null) {
                out[i] = new float[sum[i].length];
                for (int k = 0; k < out[i].length; k++) {
                    out[i][k] = (float) (sum[i][k] / total[i]);
                }
            }
        }
        return out;
    }

    private double[] totals() {
        double[] total = new double[inputs];
        for (int r = 0; r < rows.size(); r++) {
            total[owner[r]] += rows.get(r).length;
        }
        return total;
    }
}
