package io.loragate.adapter;

import ai.djl.ndarray.NDArray;
import io.loragate.model.AdapterHook;
import java.util.Map;

/**
 * One adaptation method's weights inside an adapter, besides its LoRA pairs and saved modules: IA3
 * scaling vectors, bottleneck MLPs, prompt-tuning embeddings, DoRA magnitudes. A part is an
 * {@link AdapterHook} over rows that all use its adapter; {@link MultiLoraHook} applies it to its
 * adapter's rows of a mixed batch (for linear outputs after the adapter's LoRA delta or
 * replacement), and leaves every other row alone. The same classes serve and train: a trainable
 * part holds leaves that require gradients, a served one plain arrays.
 *
 * <p>Arrays a call returns belong to the manager of its input (the forward's step). Immutable while
 * served; thread-safe for reading.
 */
public interface AdapterPart extends AdapterHook {

    /** Whether {@link #beforeLinear} or {@link #afterLinear} changes {@code module}. */
    default boolean touchesLinear(String module) {
        return false;
    }

    /** Whether {@link #afterSublayer} changes the sub-layer {@code name}. */
    default boolean touchesSublayer(String name) {
        return false;
    }

    /**
     * Virtual tokens this part prepends to every input (prompt tuning): the engine puts
     * {@link AdapterHook#virtualToken}{@code (0..n-1)} before each prompt and {@link #embeddings}
     * fills them; 0 for every other method.
     */
    default int virtualTokens() {
        return 0;
    }

    /**
     * {@link #afterLinear} in training, also given the input the adapter's LoRA delta saw:
     * {@code dropout(x)} while LoRA dropout is active, else {@code x} itself. Only DoRA needs it (PEFT
     * scales the base's output on the dropped input); every other part ignores it.
     */
    default NDArray afterLinear(String module, NDArray x, NDArray loraInput, NDArray y) {
        return afterLinear(module, x, y);
    }

    /**
     * The part's tensors by their key in {@code adapter_model.safetensors} (with the PEFT prefix
     * {@code base_model.model.} where PEFT uses it), for saving, checkpoints and byte accounting.
     */
    Map<String, NDArray> tensors();
}
