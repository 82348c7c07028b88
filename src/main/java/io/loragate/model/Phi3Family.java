package io.loragate.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Phi-3 ({@code Phi3ForCausalLM}): Llama's math with q/k/v fused into {@code self_attn.qkv_proj}
 * (output: q, then k, then v) and gate/up into {@code mlp.gate_up_proj} (gate, then up); PEFT
 * adapters target the fused modules. A sliding window in every layer when {@code sliding_window} is set.
 */
final class Phi3Family implements ModelFamily {

    @Override
    public String name() {
        return "phi3";
    }

    @Override
    public List<String> architectures() {
        return List.of("Phi3ForCausalLM");
    }

    @Override
    public Architecture forward() {
        return Architecture.LLAMA;
    }

    /** The attention projections, as for Llama: here they are two modules. */
    @Override
    public List<String> loraTargets() {
        return List.of("qkv_proj", "o_proj");
    }

    /** Llama's k, v and down: k and v live in qkv_proj, so IA3 scales all of q, k and v. */
    @Override
    public ModuleSelection ia3Targets() {
        return ModuleSelection.of("qkv_proj", "down_proj");
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

    @Override
    public Map<String, List<String>> fusedProjections() {
        return Map.of("qkv_proj", List.of("q_proj", "k_proj", "v_proj"), "gate_up_proj", List.of("gate_proj", "up_proj"));
    }

    /** transformers' Phi3Config defaults sliding_window to null. */
    @Override
    public AttentionWindows windows(Path file, JsonNode config, int layers) {
        return AttentionWindows.everyLayer(file, config, layers, 0);
    }
}
