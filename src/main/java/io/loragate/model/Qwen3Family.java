package io.loragate.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;

/**
 * Qwen3 ({@code Qwen3ForCausalLM}): Llama's layers with an RMSNorm over each head of q and k
 * ({@code self_attn.q_norm}, {@code self_attn.k_norm}, weights of head_dim), no biases unless
 * {@code attention_bias}, and Qwen2's sliding-window keys.
 */
final class Qwen3Family extends LlamaFamily {

    @Override
    public String name() {
        return "qwen3";
    }

    @Override
    public List<String> architectures() {
        return List.of("Qwen3ForCausalLM");
    }

    @Override
    public boolean qkNorm() {
        return true;
    }

    @Override
    public AttentionWindows windows(Path file, JsonNode config, int layers) {
        return AttentionWindows.byLayerTypes(file, config, layers);
    }
}
