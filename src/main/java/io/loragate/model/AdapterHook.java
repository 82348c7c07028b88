package io.loragate.model;

import ai.djl.ndarray.NDArray;

/**
 * The seam between the frozen base and its adapters. A forward calls the hook at every named
 * linear layer and around every sub-layer, passing activations whose dimension 0 is the batch row.
 * The hook knows which adapter each row uses; rows without an adapter must come back unchanged.
 * Module names are the checkpoint's own parameter paths without {@code .weight} (for example
 * {@code model.layers.0.self_attn.q_proj}), which are also the module paths that PEFT uses.
 *
 * <p>A forward with {@link #NONE} is the base model.
 */
public interface AdapterHook {

    /** The base model: every method returns its input. */
    AdapterHook NONE = new AdapterHook() {
    };

    /**
     * Id of the {@code j}-th virtual token (prompt tuning), counted from 0: a negative placeholder
     * that a forward accepts only with a hook, whose {@link #embeddings} must replace its row.
     */
    static long virtualToken(int j) {
        return -1L - j;
    }

    /** The most virtual tokens a row may carry. */
    int MAX_VIRTUAL_TOKENS = 512;

    /**
     * How many virtual tokens (prompt tuning) whoever builds the ids must put in front of every row
     * that goes through this hook: {@link #virtualToken}{@code (0..k-1)}, then the real ids. 0 for the
     * base and for adapters without prompt tuning. A hook that applies different adapters to
     * different rows answers 0: its caller prepends each row's own (the engine's {@code Sequence} does).
     */
    default int virtualTokens() {
        return 0;
    }

    /**
     * Word embeddings of a block of tokens, before anything else is added (positions, token types).
     *
     * @param ids the ids {@code (batch, t)}; {@link #virtualToken virtual} ids are negative and their
     *            rows of {@code x} hold the embedding of token 0 until the hook replaces them
     * @param x   {@code (batch, t, hidden)}
     */
    default NDArray embeddings(NDArray ids, NDArray x) {
        return x;
    }

    /**
     * The residual stream after layer {@code layer} (0-based), {@code (batch, t, hidden)}: what the
     * next layer reads. Diagnostics capture it (representational similarity, probing).
     */
    default NDArray afterLayer(int layer, NDArray x) {
        return x;
    }

    /** Input of a linear layer before the base matmul (e.g. IA3 scaling of the MLP input). */
    default NDArray beforeLinear(String module, NDArray x) {
        return x;
    }

    /**
     * Output of a linear layer.
     *
     * @param x the layer's input, {@code (batch, ..., in)}
     * @param y the base output {@code x·Wᵀ + b}, {@code (batch, ..., out)}
     * @return {@code y} plus each row's adapter delta
     */
    default NDArray afterLinear(String module, NDArray x, NDArray y) {
        return y;
    }

    /** Output of a sub-layer ({@code <layer>.attn} or {@code <layer>.mlp}) before its residual add. */
    default NDArray afterSublayer(String name, NDArray h) {
        return h;
    }
}
