package io.loragate.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.core.Linear;

/**
 * One frozen base weight W {@code (out, in)} held in its {@link WeightFormat}, computing
 * {@code y = x·Wᵀ (+ b)} in float32 (adapter deltas stay float32 around it, see {@link Layers#linear}).
 * A tied embedding table is one of these too: its rows are the token embeddings ({@link #rows}).
 *
 * <ul>
 * <li>float32: the array itself, one linear.</li>
 * <li>float16: half storage, widened to a float32 temporary on every call, then the float32 linear
 *     (PyTorch's CPU half linear is slower, and it would round the activations too).</li>
 * <li>int8: {@code W ≈ diag(s)·q}, q int8 {@code (out, in)}, s float32 {@code (out, 1)} = max|row|/127;
 *     {@code y = (x·qᵀ)·sᵀ}: q widened to a float32 temporary, one linear, then the output (not the
 *     weight) scaled, which is one pass over W fewer.</li>
 * </ul>
 * The temporaries are as large as the float32 weight and live for one call: the formats save
 * resident memory and the bytes stored, not (on an engine without a fused int8/half kernel) the
 * bytes a call touches.
 */
public final class LinearWeight {

    private final WeightFormat format;
    private final NDArray stored;   // (out, in) in the format's type
    private final NDArray scale;    // int8: (out, 1) float32; otherwise null
    private final NDArray scaleRow; // int8: (out) float32, the output's multiplier; otherwise null
    private NDArray dense;          // float32 (out, in) materialised on demand for readers of the values

    private LinearWeight(WeightFormat format, NDArray stored, NDArray scale) {
        this.format = format;
        this.stored = stored;
        this.scale = scale;
        this.scaleRow = scale == null ? null : scale.reshape(scale.getShape().get(0));
        this.dense = format == WeightFormat.FLOAT32 ? stored : null;
    }

    /**
     * Stores a float32 weight {@code (out, in)} in {@code format}, in the weight's own manager; the
     * float32 array is closed unless the format is float32 (then it is the storage itself).
     */
    public static LinearWeight store(NDArray w, WeightFormat format) {
        if (w.getDataType() != DataType.FLOAT32 || w.getShape().dimension() != 2) {
            throw new IllegalArgumentException("a linear weight is float32 (out, in), got " + w.getDataType() + " "
                    + w.getShape());
        }
        switch (format) {
            case FLOAT32:
                return new LinearWeight(format, w, null);
            case FLOAT16: {
                NDArray half = w.toType(DataType.FLOAT16, true);
                w.close();
                return new LinearWeight(format, half, null);
            }
            case INT8: {
                // symmetric per row: s = max|w|/127 (a zero row gets a tiny s, so q = 0, never 0/0)
                NDArray maxAbs = w.abs().max(new int[] {1}, true);       // (out, 1)
                NDArray s = maxAbs.div(127f).maximum(Float.MIN_NORMAL);   // (out, 1)
                NDArray ratio = w.div(s);
                NDArray rounded = ratio.round();
                NDArray clipped = rounded.clip(-127, 127);
                NDArray q = clipped.toType(DataType.INT8, false);        // (out, in)
                maxAbs.close();
                ratio.close();
                rounded.close();
                clipped.close();
                w.close();
                return new LinearWeight(format, q, s);
            }
            default:
                throw new IllegalArgumentException(format.toString());
        }
    }

    public WeightFormat format() {
        return format;
    }

    /** Bytes resident for this weight (int8 includes its scales). */
    public long bytes() {
        long n = stored.getShape().size() * format.bytesPerWeight();
        return scale == null ? n : n + scale.getShape().size() * 4;
    }

    /** {@code x·Wᵀ (+ b)}: x {@code (..., in)} float32 → {@code (..., out)} float32, in x's manager. */
    public NDArray apply(NDArray x, NDArray b) {
        if (format == WeightFormat.FLOAT32) {
            return linear(x, stored, b);
        }
        try (NDArray wide = stored.toType(DataType.FLOAT32, false)) { // (out, in), in the weights' manager
            if (format == WeightFormat.FLOAT16) {
                return linear(x, wide, b);
            }
            NDArray unscaled = linear(x, wide, null);                   // (..., out)
            NDArray y = unscaled.mul(scaleRow);
            unscaled.close();
            if (b == null) {
                return y;
            }
            NDArray withBias = y.add(b);
            y.close();
            return withBias;
        }
    }

    /**
     * The weight cut along its rows at {@code cuts} (the start of every part but the first): views
     * {@code (out_i, in)} of the same storage (and scales), in the same format; what a fused
     * {@code (Σout, in)} matrix gives each of its layers.
     */
    LinearWeight[] slices(long[] cuts) {
        NDArray[] parts = stored.split(cuts, 0).toArray(new NDArray[0]);
        NDArray[] scales = scale == null ? null : scale.split(cuts, 0).toArray(new NDArray[0]);
        LinearWeight[] out = new LinearWeight[parts.length];
        for (int i = 0; i < parts.length; i++) {
            out[i] = new LinearWeight(format, parts[i], scales == null ? null : scales[i]);
        }
        return out;
    }

    /** The weight's rows at {@code ids} (an embedding lookup), float32 {@code (ids..., in)}, attached to {@code to}. */
    public NDArray rows(NDArray ids, ai.djl.ndarray.NDManager to) {
        NDArray picked = stored.get(ids);                      // (ids..., in) in the weights' manager
        NDArray out;
        if (format == WeightFormat.FLOAT32) {
            out = picked;
        } else {
            out = picked.toType(DataType.FLOAT32, false);
            picked.close();
            if (format == WeightFormat.INT8) {
                NDArray s = scale.get(ids);                       // (ids..., 1)
                NDArray scaled = out.mul(s);
                out.close();
                s.close();
                out = scaled;
            }
        }
        out.attach(to);
        return out;
    }

    /**
     * The values as float32 {@code (out, in)}, read-only: the storage itself for float32, otherwise
     * a copy made on first use and kept (adapters that read base values: DoRA, partial fine-tuning,
     * prompt tuning from vocabulary).
     */
    public synchronized NDArray dense() {
        if (dense == null) {
            NDArray wide = stored.toType(DataType.FLOAT32, false);
            dense = scale == null ? wide : wide.mul(scale);
            if (dense != wide) {
                wide.close();
            }
        }
        return dense;
    }

    private static NDArray linear(NDArray x, NDArray w, NDArray b) {
        return (b == null ? Linear.linear(x, w) : Linear.linear(x, w, b)).singletonOrThrow();
    }
}
