package io.loragate.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;

/** Qwen2 ({@code Qwen2ForCausalLM}): Llama's layers with q/k/v biases and optional per-layer sliding windows. */
final class Qwen2Family extends LlamaFamily {

    @Override
    public String name() {
        return "qwen2";
    }

    @Override
    public List<String> architectures() {
        return List.of("Qwen2ForCausalLM");
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
