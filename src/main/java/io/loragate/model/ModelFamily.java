package io.loragate.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What one model family (Llama, Mistral, Qwen2, Qwen3, Phi-3, GPT-2, BERT) declares: which
 * {@code architectures} values of config.json it serves, which forward runs it, its module map (the
 * modules adapters target by default, fused projections, sub-layer names and outputs) and the family-specific
 * config keys. Adapter and training code ask the model's family ({@link ModelConfig#family()})
 * instead of matching module names. Every family is registered in {@link ModelFamilies}.
 */
public interface ModelFamily {

    /** A short name for messages and docs, e.g. {@code phi3}. */
    String name();

    /** The {@code architectures} values (config.json) this family serves. */
    List<String> architectures();

    /** The forward that runs it. */
    Architecture forward();

    /** The modules LoRA adapts when a job names none (module-name suffixes). */
    List<String> loraTargets();

    /** IA3's default targets. */
    ModuleSelection ia3Targets();

    /** The feed-forward modules among {@link #ia3Targets()}: IA3 scales their input, not their output. */
    ModuleSelection ia3Feedforward();

    /**
     * The sub-layers of each layer, attention first, then the MLP: the names the forward gives
     * {@link AdapterHook#afterSublayer} and the linear layers whose outputs end them (bottleneck
     * adapters sit there), below the layer's path.
     */
    List<SublayerName> sublayers();

    /**
     * Fused projections: a module the checkpoint stores as one linear, mapped to the modules it
     * stands for in other families (Phi-3: {@code qkv_proj} for q/k/v). Adapters target the fused
     * module; its delta applies to the fused output.
     */
    default Map<String, List<String>> fusedProjections() {
        return Map.of();
    }

    /** Qwen3: an RMSNorm over each head of q and k, before the rotary embedding. */
    default boolean qkNorm() {
        return false;
    }

    /** Whether q/k/v carry biases. */
    default boolean attentionBias(JsonNode config) {
        return config.path("attention_bias").asBoolean(false);
    }

    /** The layers that use a sliding window, from the family's own config keys. */
    default AttentionWindows windows(Path file, JsonNode config, int layers) {
        return AttentionWindows.NONE;
    }
}
