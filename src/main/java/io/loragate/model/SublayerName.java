package io.loragate.model;

/**
 * One sub-layer of a family's transformer layer, as paths below the layer's own path
 * ({@code model.layers.3}): the name the forward gives {@link AdapterHook#afterSublayer} and the
 * linear layer whose output ends it (bottleneck adapters sit after that output).
 *
 * @param name        e.g. {@code self_attn}: the hook sees {@code model.layers.3.self_attn}
 * @param output      e.g. {@code self_attn.o_proj}: the module {@code model.layers.3.self_attn.o_proj}
 * @param feedForward the MLP sub-layer (else attention)
 */
public record SublayerName(String name, String output, boolean feedForward) {

    /** The attention sub-layer {@code name}, ended by {@code output}. */
    public static SublayerName attention(String name, String output) {
        return new SublayerName(name, output, false);
    }

    /** The feed-forward sub-layer {@code name}, ended by {@code output}. */
    public static SublayerName feedForward(String name, String output) {
        return new SublayerName(name, output, true);
    }
}
