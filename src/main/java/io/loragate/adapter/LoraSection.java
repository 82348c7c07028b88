package io.loragate.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.common.LoragateException;
import io.loragate.common.ModelFormatException;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * PEFT's {@code LoraConfig} ({@code peft_type: LORA}): rank, alpha, rsLoRA, DoRA, rank and alpha
 * patterns, and the module selection. The section of {@code lora}, {@code rslora}, {@code dora},
 * {@code linear_probe} and {@code partial} folders.
 */
final class LoraSection implements PeftSection {

    static final LoraSection INSTANCE = new LoraSection();

    /** Keys that, when set to anything but their neutral value, change the forward in ways we do not implement. */
    private static final List<String> UNSUPPORTED_WHEN_SET = List.of("lora_bias", "use_qalora", "layer_replication",
            "target_parameters", "trainable_token_indices", "alora_invocation_tokens", "arrow_config");

    private static final Set<String> MODELLED = Set.of("peft_type", "task_type", "base_model_name_or_path", "r",
            "lora_alpha", "use_rslora", "target_modules", "exclude_modules", "layers_to_transform", "layers_pattern",
            "fan_in_fan_out", "modules_to_save", "rank_pattern", "alpha_pattern", "bias", "use_dora", "lora_dropout");

    private LoraSection() {
    }

    @Override
    public String peftType() {
        return PeftConfig.LORA;
    }

    @Override
    public PeftConfig parse(PeftConfigReader in) {
        Path file = in.file();
        JsonNode root = in.root();
        int r = in.positiveInt("r", 8);
        double alpha = in.number("lora_alpha", 8);
        String bias = in.string("bias", "none");
        if (!bias.equals("none")) {
            throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED, file + ": field 'bias' is '"
                    + PeftConfig.quote(bias) + "'; only \"none\" is supported (trained base biases would change the base)");
        }
        boolean useDora = in.bool("use_dora", false);
        for (String key : UNSUPPORTED_WHEN_SET) {
            JsonNode v = root.get(key);
            boolean neutral = v == null || v.isNull() || (v.isBoolean() && !v.booleanValue())
                    || ((v.isArray() || v.isObject()) && v.isEmpty());
            if (!neutral) {
                throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED, file + ": field '" + key + "' is "
                        + PeftConfig.quote(v) + "; this LoRA variant is not supported");
            }
        }
        PeftConfig.Modules targets = in.modules("target_modules");
        List<String> modulesToSave = in.stringOrStringList("modules_to_save");
        // an empty list is no LoRA at all: allowed when the adapter saves whole modules instead (linear probe, partial fine-tuning)
        boolean savesOnly = targets != null && !targets.isRegex() && targets.isEmpty() && !modulesToSave.isEmpty();
        if ((targets == null || targets.isEmpty()) && !savesOnly) {
            throw new ModelFormatException(file, "field 'target_modules' is missing or empty; name the target modules explicitly"
                    + " (an empty list is allowed only with a non-empty 'modules_to_save')");
        }
        PeftConfig.refuseAllLinear(file, targets);
        PeftConfig.Modules exclude = in.modules("exclude_modules");
        modulesToSave = in.modulesToSave();
        List<String> layersPattern = in.layersPattern();
        return new PeftConfig(PeftConfig.LORA,
                in.string("task_type", null),
                in.string("base_model_name_or_path", null),
                r, alpha,
                in.bool("use_rslora", false),
                targets,
                exclude,
                in.intOrIntList("layers_to_transform"),
                layersPattern,
                in.bool("fan_in_fan_out", false),
                modulesToSave,
                in.rankPattern(),
                in.alphaPattern(),
                bias, useDora,
                in.number("lora_dropout", 0.0),
                in.extrasExcept(MODELLED));
    }

    @Override
    public ObjectNode write(PeftConfig c) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode o = PeftConfig.commonJson(c);
        o.set("alpha_pattern", PeftConfig.JSON.valueToTree(c.alphaPattern()));
        o.put("bias", c.bias());
        o.set("exclude_modules", c.excludeModules().isEmpty() ? f.nullNode() : c.excludeModules().toJson());
        o.put("fan_in_fan_out", c.fanInFanOut());
        o.set("layers_pattern", PeftConfig.layersPatternJson(c.layersPattern()));
        o.set("layers_to_transform", PeftConfig.layersToTransformJson(c.layersToTransform()));
        double alpha = c.loraAlpha();
        if (alpha == Math.rint(alpha) && Math.abs(alpha) < Integer.MAX_VALUE) {
            o.put("lora_alpha", (int) alpha);
        } else {
            o.put("lora_alpha", alpha);
        }
        o.put("lora_dropout", c.loraDropout());
        o.put("r", c.r());
        o.set("rank_pattern", PeftConfig.JSON.valueToTree(c.rankPattern()));
        o.set("target_modules", c.targetModules().toJson());
        o.put("use_dora", c.useDora());
        o.put("use_rslora", c.useRslora());
        c.extras().forEach((k, v) -> o.set(k, v.deepCopy()));
        return o;
    }
}
