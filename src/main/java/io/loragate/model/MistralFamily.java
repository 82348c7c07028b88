package io.loragate.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;

/** Mistral ({@code MistralForCausalLM}): Llama's layers with a sliding window in every layer. */
final class MistralFamily implements ModelFamily {

    private final LlamaFamily llama = new LlamaFamily();

    @Override
    public String name() {
        return "mistral";
    }

    @Override
    public List<String> architectures() {
        return List.of("MistralForCausalLM");
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

    /** {@code sliding_window} in every layer; transformers' MistralConfig defaults it to 4096 when absent. */
    @Override
    public AttentionWindows windows(Path file, JsonNode config, int layers) {
        return AttentionWindows.everyLayer(file, config, layers, 4096);
    }
}
