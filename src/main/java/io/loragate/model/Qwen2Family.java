package io.loragate.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;

/** Qwen2 ({@code Qwen2ForCausalLM}): Llama's layers with q/k/v biases and optional per-layer sliding windows. */
final class Qwen2Family implements ModelFamily {

    private final LlamaFamily llama = new LlamaFamily();

    @Override
    public String name() {
        return "qwen2";
    }

    @Override
    public List<String> architectures() {
        return List.of("Qwen2ForCausalLM");
    }

    @Override
    public Architecture forward() {
        return Architecture.LLAMA;
    }

    @Override
    public List<String> loraTargets() {
        return llama.loraTargets();
    }

    @Override
    public ModuleSelection ia3Targets() {
        return llama.ia3Targets();
    }

    @Override
    public ModuleSelection ia3Feedforward() {
        return llama.ia3Feedforward();
    }

    @Override
    public List<String> sublayerOutputs() {
        return llama.sublayerOutputs();
    }

    /** Qwen2 always has q/k/v biases (transformers hard-codes them; the config has no key). */
    @Override
    public boolean attentionBias(JsonNode config) {
        return true;
    }

    @Override
    public AttentionWindows windows(Path file, JsonNode config, int layers) {
        return AttentionWindows.byLayerTypes(file, config, layers);
    }
}
