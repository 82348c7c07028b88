package io.loragate.diagnostics;

import ai.djl.ndarray.NDArray;
import io.loragate.model.AdapterHook;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * A capturing {@link AdapterHook}: delegates every call to the hook under test (the adapter, or
 * {@link AdapterHook#NONE} for the base) and, at {@link #afterLayer}, copies the residual stream
 * that the delegate returns to the host for the chosen layers. It never changes an activation, so a
 * forward through it computes exactly what a forward through the delegate computes.
 *
 * <p>Before each forward, {@link #begin} says which rows are real: each row's length and the side
 * its padding is on (decoders pad on the left, encoders on the right). Per layer, every row then
 * gives
 * <ul>
 * <li>its mean over real tokens ({@link #pooled}: probing features), and</li>
 * <li>up to {@code tokensPerRow} of its real tokens, evenly spaced (always the same positions for
 *     the same ids), as rows for {@link Cka} ({@link #tokens}).</li>
 * </ul>
 * Padding never enters either, nor do a prompt-tuning adapter's virtual tokens (negative ids, in
 * front of the real ones): the adapter's captures then line up position by position with the base's
 * on the same real ids. Only these host copies are kept: no device memory outlives the forward.
 */
public final class HiddenStates implements AdapterHook {

    private final AdapterHook delegate;
    private final Set<Integer> layers;
    private final int tokensPerRow;
    private final Map<Integer, List<double[]>> pooled = new LinkedHashMap<>();
    private final Map<Integer, List<float[]>> tokens = new LinkedHashMap<>();
    private int[] lengths;
    private int[] virtual; // leading virtual ids per row
    private boolean leftPadded;

    /**
     * @param delegate     the hook whose forward is observed
     * @param layers       0-based layers to capture
     * @param tokensPerRow most token rows kept per input and layer for CKA (0: none)
     */
    public HiddenStates(AdapterHook delegate, Set<Integer> layers, int tokensPerRow) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
        this.layers = new TreeSet<>(layers);
        this.tokensPerRow = tokensPerRow;
        for (int l : this.layers) {
            pooled.put(l, new ArrayList<>());
            tokens.put(l, new ArrayList<>());
        }
    }

    /** The next forward's rows (virtual ids included): their lengths and where the padding is. */
    public void begin(List<long[]> ids, boolean leftPadded) {
        this.lengths = ids.stream().mapToInt(r -> r.length).toArray();
        this.virtual = ids.stream().mapToInt(HiddenStates::leadingVirtual).toArray();
        this.leftPadded = leftPadded;
    }

    private static int leadingVirtual(long[] row) {
        int k = 0;
        while (k < row.length && row[k] < 0) {
            k++;
        }
        return k;
    }

    /** Ends the forward (a later forward must {@link #begin} again). */
    public void end() {
        this.lengths = null;
    }

    /** Per input (in forward order), the mean of layer {@code layer}'s states over its real tokens. */
    public List<double[]> pooled(int layer) {
        return pooled.getOrDefault(layer, List.of());
    }

    /** The sampled token states of layer {@code layer}, inputs in forward order. */
    public List<float[]> tokens(int layer) {
        return tokens.getOrDefault(layer, List.of());
    }

    public Set<Integer> layers() {
        return layers;
    }

    @Override
    public NDArray afterLayer(int layer, NDArray x) {
        NDArray y = delegate.afterLayer(layer, x);
        if (layers.contains(layer)) {
            record(layer, y);
        }
        return y;
    }

    private void record(int layer, NDArray y) {
        if (lengths == null) {
            throw new IllegalStateException("begin() was not called before the forward");
        }
        long[] shape = y.getShape().getShape(); // (batch, t, hidden)
        if (shape.length != 3 || shape[0] != lengths.length) {
            throw new IllegalStateException("layer " + layer + " output " + y.getShape() + " does not match " + lengths.length
                    + " rows");
        }
        int t = (int) shape[1];
        int hidden = (int) shape[2];
        float[] flat = y.toFloatArray();
        for (int r = 0; r < lengths.length; r++) {
            int all = Math.min(lengths[r], t);
            int skip = Math.min(virtual[r], all);
            int first = (leftPadded ? t - all : 0) + skip;
            int len = all - skip;
            double[] mean = new double[hidden];
            for (int s = first; s < first + len; s++) {
                int base = (r * t + s) * hidden;
                for (int j = 0; j < hidden; j++) {
                    mean[j] += flat[base + j];
                }
            }
            for (int j = 0; j < hidden; j++) {
                mean[j] /= Math.max(1, len);
            }
            pooled.get(layer).add(mean);
            int keep = Math.min(len, tokensPerRow);
            for (int k = 0; k < keep; k++) {
                int s = first + (int) ((long) k * len / keep); // evenly spaced, the first real token included
                float[] row = new float[hidden];
                System.arraycopy(flat, (r * t + s) * hidden, row, 0, hidden);
                tokens.get(layer).add(row);
            }
        }
    }

    @Override
    public int virtualTokens() {
        return delegate.virtualTokens();
    }

    @Override
    public NDArray embeddings(NDArray ids, NDArray x) {
        return delegate.embeddings(ids, x);
    }

    @Override
    public NDArray beforeLinear(String module, NDArray x) {
        return delegate.beforeLinear(module, x);
    }

    @Override
    public NDArray afterLinear(String module, NDArray x, NDArray y) {
        return delegate.afterLinear(module, x, y);
    }

    @Override
    public NDArray afterSublayer(String name, NDArray h) {
        return delegate.afterSublayer(name, h);
    }
}
