package io.loragate.model;

import io.loragate.common.LoragateException;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;

/** The building blocks every architecture shares, each written as its equation. */
final class Layers {

    private static final double SQRT_2_OVER_PI = Math.sqrt(2.0 / Math.PI);

    private Layers() {
    }

    /** {@code y = x·Wᵀ + b}, with the adapter hook before and after. W: (out, in). */
    static NDArray linear(AdapterHook hook, String module, NDArray x, NDArray w, NDArray b) {
        NDArray in = hook.beforeLinear(module, x);
        NDArray y = b == null ? Linear.linear(in, w).singletonOrThrow() : Linear.linear(in, w, b).singletonOrThrow();
        return hook.afterLinear(module, in, y);
    }

    /** {@code y = x·Wᵀ + b} with W held in its {@link WeightFormat}; x, y and the adapter deltas float32. */
    static NDArray linear(AdapterHook hook, String module, NDArray x, LinearWeight w, NDArray b) {
        NDArray in = hook.beforeLinear(module, x);
        return hook.afterLinear(module, in, w.apply(in, b));
    }

    /** RMSNorm: {@code x / sqrt(mean(x²) + eps) · w}; {@code eps} a 0-d array (made once: a Java number costs two more engine calls). */
    static NDArray rmsNorm(NDArray x, NDArray w, NDArray eps) {
        NDArray rms = x.square().mean(new int[] {-1}, true).add(eps).sqrt();
        return x.div(rms).mul(w);
    }

    /** LayerNorm over the last axis. */
    static NDArray layerNorm(NDArray x, NDArray w, NDArray b, double eps) {
        return LayerNorm.layerNorm(x, new Shape(x.getShape().tail()), w, b, (float) eps).singletonOrThrow();
    }

    /** SiLU: {@code x · σ(x)}. */
    static NDArray silu(NDArray x) {
        return x.mul(x.getNDArrayInternal().sigmoid());
    }

    /** Exact GELU, {@code x · Φ(x)} (BERT's "gelu"). */
    static NDArray gelu(NDArray x) {
        return x.getNDArrayInternal().gelu();
    }

    /** GPT-2's "gelu_new": {@code 0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))}. */
    static NDArray geluTanh(NDArray x) {
        // constants through Scalars: a backward keeps them (see there)
        NDArray cube = x.mul(x).mul(x);
        NDArray inner = Scalars.mul(Scalars.mul(cube, 0.044715f).add(x), (float) SQRT_2_OVER_PI).tanh();
        return Scalars.mul(inner.add(1f).mul(x), 0.5f);
    }

    /** The activation a config names. */
    static NDArray activation(String name, NDArray x) {
        return switch (name) {
            case "gelu" -> gelu(x);
            case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> geluTanh(x);
            case "silu", "swish" -> silu(x);
            case "relu" -> x.getNDArrayInternal().relu();
            default -> throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED,
                    "unsupported activation '" + name + "' (supported: gelu, gelu_new, silu, relu)");
        };
    }
}
