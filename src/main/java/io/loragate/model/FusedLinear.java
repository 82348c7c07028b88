package io.loragate.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;

/**
 * Linear layers that read the same input (q/k/v, gate/up), stored as one {@code (Σout, in)} matrix
 * so that a forward runs one matmul instead of one per layer: at batch-1 decode every engine call
 * costs about as much as a small matmul, so fewer, larger calls are faster. The output is cut into
 * views, and adapters still see each layer by its own name ({@link AdapterHook#afterLinear} with
 * that layer's slice of the output), so their results are those of the separate layers.
 *
 * <p>When the hook changes a member's input ({@link AdapterHook#beforeLinear}, e.g. IA3 on a
 * feed-forward module), the inputs differ and each member runs on its own weight, a view of its
 * rows of the fused matrix. A checkpoint that stores the layers fused already (Phi-3's
 * {@code qkv_proj}) has one hook module for all the parts: the hook sees the whole output, then it
 * is cut.
 */
final class FusedLinear {

    private final String[] modules;  // what the hook sees, in output order: one per part, or one for all
    private final LinearWeight weight;    // (Σout, in), in the base's WeightFormat
    private final NDArray bias;           // (Σout), or null when no part has one
    private final LinearWeight[] weights; // each hook module's rows of weight, views (out_i, in)
    private final NDArray[] biases;       // each hook module's part of bias (views), or nulls
    private final long[] cuts;            // where the parts start in the output, after the first

    /**
     * @param modules module names the hook sees: one per part, or a single one for a fused checkpoint
     * @param weight  {@code (Σout, in)}; {@code weights}/{@code biases} are its (and bias's) views per module
     * @param cuts    start of every part but the first along the output axis
     */
    FusedLinear(String[] modules, LinearWeight weight, NDArray bias, LinearWeight[] weights, NDArray[] biases,
            long[] cuts) {
        this.modules = modules;
        this.weight = weight;
        this.bias = bias;
        this.weights = weights;
        this.biases = biases;
        this.cuts = cuts;
    }

    /**
     * Every part's output through the hook, {@code (batch, t, out_i)} each, for input
     * {@code x (batch, t, in)}.
     */
    NDArray[] apply(AdapterHook hook, NDArray x) {
        int n = modules.length;
        NDArray[] in = new NDArray[n];
        boolean shared = true;
        for (int i = 0; i < n; i++) {
            in[i] = hook.beforeLinear(modules[i], x);
            shared &= in[i] == x;
        }
        int axis = x.getShape().dimension() - 1;
        NDArray[] y;
        if (shared) {
            NDArray all = weight.apply(x, bias);                   // (batch, t, Σout)
            y = n == 1 ? new NDArray[] {all} : split(all, axis);
        } else {
            y = new NDArray[n];
            for (int i = 0; i < n; i++) {
                y[i] = weights[i].apply(in[i], biases[i]);         // (batch, t, out_i)
            }
        }
        for (int i = 0; i < n; i++) {
            y[i] = hook.afterLinear(modules[i], in[i], y[i]);
        }
        return n == 1 && cuts.length > 0 ? split(y[0], axis) : y;
    }

    /** The parts of {@code y} along {@code axis}, views (one engine call). */
    private NDArray[] split(NDArray y, int axis) {
        NDList parts = y.split(cuts, axis);
        return parts.toArray(new NDArray[0]);
    }
}
