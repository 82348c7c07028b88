package io.loragate.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * Arithmetic with a constant that autograd may keep for a backward pass.
 *
 * <p>DJL's {@code NDArray.mul(Number)} (and {@code div}, {@code pow}, ...) makes the constant with
 * {@code NDManager.create}, which in the PyTorch engine wraps a Java direct buffer without copying
 * it (from_blob), and closes it right after the op. PyTorch's {@code MulBackward} keeps that
 * tensor to compute the gradient, so a backward that runs after the garbage collector has freed the
 * buffer reads freed memory: wrong, irreproducible gradients. The same holds for any array made
 * from a Java array that a backward needs after its wrapper was closed. Constants on a path that
 * is differentiated are therefore made natively ({@code torch.full}), so that the graph owns them.
 */
public final class Scalars {

    private Scalars() {
    }

    /** {@code x · s}, with {@code s} a native 0-d tensor. */
    public static NDArray mul(NDArray x, float s) {
        try (NDArray c = x.getManager().full(new Shape(), s, x.getDataType())) {
            return x.mul(c);
        }
    }

    /** {@code x / s}, with {@code s} a native 0-d tensor. */
    public static NDArray div(NDArray x, float s) {
        try (NDArray c = x.getManager().full(new Shape(), s, x.getDataType())) {
            return x.div(c);
        }
    }

    /**
     * A copy in native memory of an array made from Java data (which may be freed once its
     * wrapper closes), for use as a constant that a backward needs.
     */
    public static NDArray owned(NDArray javaBacked) {
        NDManager m = javaBacked.getManager();
        NDArray copy = javaBacked.duplicate();
        copy.attach(m);
        return copy;
    }
}
