package io.loragate.model;

import java.util.List;

/**
 * Llama 1/2/3.x ({@code LlamaForCausalLM}); any rope_type of {@link RopeScaling}; no sliding window.
 * The Llama-shaped families (Mistral, Qwen2, Qwen3) extend it: they share its module map.
 */
class LlamaFamily implements ModelFamily {

    @Override
    public String name() {
        return "llama";
    }

    @Override
    public List<String> architectures() {
        return List.of("LlamaForCausalLM");
    }

    @Override
    public Architecture forward() {
        return Architecture.LLAMA;
    }

    @Override
    public List<String> loraTargets() {
        return List.of("q_proj", "k_proj", "v_proj", "o_proj");
    }

    /** PEFT's TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING for llama. */
    @Override
    public ModuleSelection ia3Targets() {
        return ModuleSelection.of("k_proj", "v_proj", "down_proj");
    }

    @Override
    public ModuleSelection ia3Feedforward() {
        return ModuleSelection.of("down_proj");
    }

    @Override
    public List<SublayerName> sublayers() {
        return List.of(SublayerName.attention("self_attn", "self_attn.o_proj"),
                SublayerName.feedForward("mlp", "mlp.down_proj"));
    }
}
