package io.loragate.model;

import java.nio.file.Path;
import java.util.List;

/** The forwards loragate runs; {@link ModelFamilies} maps each {@code architectures} value of config.json to one. */
public enum Architecture {
    /** Llama, Mistral, Qwen2, Qwen3 and Phi-3: RMSNorm, RoPE, grouped-query attention, SwiGLU. */
    LLAMA(true),
    /** GPT-2: learned positions, LayerNorm, GELU, Conv1D weights stored {@code (in, out)}. */
    GPT2(true),
    /** BERT encoders, with or without a sequence-classification head. */
    BERT(false);

    /** Every supported {@code architectures} value, for error messages and docs (see {@link ModelFamilies}). */
    public static final List<String> SUPPORTED = List.copyOf(ModelFamilies.architectureNames());

    private final boolean causal;

    Architecture(boolean causal) {
        this.causal = causal;
    }

    /** True for decoders that generate text. */
    public boolean causal() {
        return causal;
    }

    static Architecture of(Path configFile, String name) {
        return ModelFamilies.of(configFile, name).forward();
    }
}
