package io.loragate.model;

import io.loragate.common.LoragateException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The one registration point of model families: add a family's class to {@link #ALL}. */
public final class ModelFamilies {

    private ModelFamilies() {
    }

    /** Every family loragate runs, in the order the docs list them. */
    public static final List<ModelFamily> ALL = List.of(new LlamaFamily(), new MistralFamily(), new Qwen2Family(),
            new Qwen3Family(), new Phi3Family(), new Gpt2Family(), new BertFamily());

    private static final Map<String, ModelFamily> BY_ARCHITECTURE = new LinkedHashMap<>();

    static {
        for (ModelFamily f : ALL) {
            for (String a : f.architectures()) {
                if (BY_ARCHITECTURE.put(a, f) != null) {
                    throw new IllegalStateException("two families claim " + a);
                }
            }
        }
    }

    /** Every supported {@code architectures} value, for error messages and docs. */
    public static List<String> architectureNames() {
        return new ArrayList<>(BY_ARCHITECTURE.keySet());
    }

    /** The family of a config.json {@code architectures} value; UNIMPLEMENTED if none serves it. */
    public static ModelFamily of(Path configFile, String architecture) {
        ModelFamily f = BY_ARCHITECTURE.get(architecture);
        if (f == null) {
            throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED, configFile + ": unsupported architecture '"
                    + architecture + "'; supported: " + String.join(", ", architectureNames()));
        }
        return f;
    }

    /**
     * The first family registered for a forward (Llama for {@link Architecture#LLAMA}): what callers
     * that know only the forward get (kept for the callers that predate families).
     */
    public static ModelFamily reference(Architecture forward) {
        return ALL.stream().filter(f -> f.forward() == forward).findFirst().orElseThrow();
    }
}
