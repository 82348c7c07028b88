package io.loragate.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;

/** Mistral ({@code MistralForCausalLM}): Llama's layers with a sliding window in every layer. */
final class MistralFamily extends LlamaFamily {

    @Override
    public String name() {
        return "mistral";
    }

    @Override
    public List<String> architectures() {
        return List.of("MistralForCausalLM");
    }

    /** {@code sliding_window} in every layer; transformers' MistralConfig defaults it to 4096 when absent. */
    @Override
    public AttentionWindows windows(Path file, JsonNode config, int layers) {
        return AttentionWindows.everyLayer(file, config, layers, 4096);
    }
}
