package io.loragate.adapter;

import io.loragate.common.LoragateException;
import io.loragate.model.BaseModel;
import io.loragate.model.TextTokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * The registered adaptation methods: the one place a method is added. Everything that used to
 * switch on a method's name or {@code peft_type} (config sections, part loading, training, the
 * recommender's cost and defaults) asks this list.
 */
public final class AdapterMethods {

    /** Every method, cheapest first: the order of the transfer-learning ladder. */
    public static final List<AdapterMethod> ALL = List.of(
            LinearProbeMethod.INSTANCE,
            PromptTuningMethod.INSTANCE,
            Ia3Method.INSTANCE,
            BottleneckMethod.INSTANCE,
            LoraMethod.LORA,
            LoraMethod.RSLORA,
            DoraMethod.INSTANCE,
            PartialMethod.INSTANCE);

    /** The methods' names, in {@link #ALL}'s order. */
    public static final List<String> NAMES = ALL.stream().map(AdapterMethod::name).toList();

    private AdapterMethods() {
    }

    /** The method named {@code name}, or null. */
    public static AdapterMethod find(String name) {
        for (AdapterMethod m : ALL) {
            if (m.name().equals(name)) {
                return m;
            }
        }
        return null;
    }

    /** The method named {@code name}; {@code UNIMPLEMENTED} when none is registered. */
    public static AdapterMethod get(String name) {
        AdapterMethod m = find(name);
        if (m == null) {
            throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED, "training method '" + name
                    + "' is not implemented yet").withParam("method.adapter.method");
        }
        return m;
    }

    /** The section that reads {@code peftType}'s keys, or null when no method writes that type. */
    static PeftSection section(String peftType) {
        for (AdapterMethod m : ALL) {
            if (m.peftType().equals(peftType)) {
                return m.section();
            }
        }
        return null;
    }

    /** The {@code peft_type}s a folder may have, each once. */
    static List<String> peftTypes() {
        List<String> types = new ArrayList<>();
        for (AdapterMethod m : ALL) {
            if (!types.contains(m.peftType())) {
                types.add(m.peftType());
            }
        }
        return types;
    }

    /** The method whose weights a folder with this config holds besides LoRA pairs and saved modules, or null. */
    static AdapterMethod withPart(PeftConfig config) {
        for (AdapterMethod m : ALL) {
            if (m.hasPart(config)) {
                return m;
            }
        }
        return null;
    }

    /** A fresh trainable adapter of the options' method (see {@link AdapterMethod#create}). */
    public static TrainableLora create(BaseModel base, TextTokenizer tokenizer, String baseId, MethodOptions options,
            String taskType, long seed, TrainableLora.HeadSpec head) {
        return get(options.method()).create(base, tokenizer, baseId, options, taskType, seed, head);
    }

    /** As {@link #create(BaseModel, TextTokenizer, String, MethodOptions, String, long, TrainableLora.HeadSpec)}, no tokenizer. */
    public static TrainableLora create(BaseModel base, String baseId, MethodOptions options, String taskType, long seed,
            TrainableLora.HeadSpec head) {
        return create(base, null, baseId, options, taskType, seed, head);
    }
}
