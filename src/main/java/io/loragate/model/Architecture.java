package io.loragate.model;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** The model families loragate runs, keyed by the {@code architectures} value of config.json. */
public enum Architecture {
    /** Llama, Mistral, Qwen2, Qwen3 and Phi-3: RMSNorm, RoPE, grouped-query attention, SwiGLU. */
    LLAMA(true),
    /** GPT-2: learned positions, LayerNorm, GELU, Conv1D weights stored {@code (in, out)}. */
    GPT2(true),
    /** BERT encoders, with or without a sequence-classification head. */
    BERT(false);

    private static final Map<String, Architecture> BY_NAME = Map.of(
            "LlamaForCausalLM", LLAMA,
            "MistralForCausalLM", LLAMA,
            "Qwen2ForCausalLM", LLAMA,
            "Qwen3ForCausalLM", LLAMA,
            "Phi3ForCausalLM", LLAMA,
            "GPT2LMHeadModel", GPT2,
            "BertModel", BERT,
            "BertForSequenceClassification", BERT);

    /** Every supported {@code architectures} value, for error messages and docs. */
    public static final List<String> SUPPORTED = List.of("LlamaForCausalLM", "MistralForCausalLM",
            "Qwen2ForCausalLM", "Qwen3ForCausalLM", "Phi3ForCausalLM", "GPT2LMHeadModel", "BertModel", "BertForSequenceClassification");

    private final boolean causal;

    Architecture(boolean causal) {
        this.causal = causal;
    }

    /** True for decoders that generate text. */
    public boolean causal() {
        return causal;
    }

    static Architecture of(Path configFile, String name) {
        Architecture a = BY_NAME.get(name);
        if (a == null) {
            throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED, configFile + ": unsupported architecture '"
                    + name + "'; supported: " + String.join(", ", SUPPORTED));
        }
        return a;
    }
}
