package io.loragate.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.common.LoragateException;
import io.loragate.common.ModelFormatException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * PEFT's {@code LoraConfig} ({@code peft_type: LORA}): LoRA's own keys, which a LoRA config holds
 * ({@link PeftConfig#lora()}) beside the keys every type shares. The section of {@code lora},
 * {@code rslora}, {@code dora}, {@code linear_probe} and {@code partial} folders; {@link #DEFAULTS}
 * (PEFT's defaults) is the one the methods register, which reads a file into a config holding its own.
 *
 * @param r            default rank
 * @param loraAlpha    default alpha
 * @param useRslora    scale {@code alpha/√r} instead of {@code alpha/r}
 * @param rankPattern  module regex → rank, first match wins
 * @param alphaPattern module regex → alpha, first match wins
 * @param bias         only {@code "none"} is supported
 * @param useDora      DoRA: a magnitude vector per LoRA module
 * @param loraDropout  training only; ignored at inference
 */
public record LoraSection(int r, double loraAlpha, boolean useRslora, Map<String, Integer> rankPattern,
        Map<String, Double> alphaPattern, String bias, boolean useDora, double loraDropout) implements PeftSection {

    /** PEFT's defaults ({@code r} 8, {@code lora_alpha} 8, nothing else set): the section the LoRA methods register. */
    public static final LoraSection DEFAULTS = plain(8, 8);

    /** Keys that, when set to anything but their neutral value, change the forward in ways we do not implement. */
    private static final List<String> UNSUPPORTED_WHEN_SET = List.of("lora_bias", "use_qalora", "layer_replication",
            "target_parameters", "trainable_token_indices", "alora_invocation_tokens", "arrow_config");

    private static final Set<String> MODELLED = Set.of("peft_type", "task_type", "base_model_name_or_path", "r",
            "lora_alpha", "use_rslora", "target_modules", "exclude_modules", "layers_to_transform", "layers_pattern",
            "fan_in_fan_out", "modules_to_save", "rank_pattern", "alpha_pattern", "bias", "use_dora", "lora_dropout");

    public LoraSection {
        rankPattern = rankPattern == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(rankPattern));
        alphaPattern = alphaPattern == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(alphaPattern));
        bias = bias == null ? "none" : bias;
    }

    /** Rank and alpha, nothing else set (no rsLoRA, no DoRA, no patterns, no dropout). */
    public static LoraSection plain(int r, double alpha) {
        return new LoraSection(r, alpha, false, Map.of(), Map.of(), "none", false, 0.0);
    }

    /** These keys with rsLoRA, DoRA and dropout as given. */
    public LoraSection with(boolean useRslora, boolean useDora, double loraDropout) {
        return new LoraSection(r, loraAlpha, useRslora, rankPattern, alphaPattern, bias, useDora, loraDropout);
    }

    /** {@code alpha / r}, or {@code alpha / √r} with rsLoRA, for a module's own rank and alpha. */
    public double scale(String module) {
        int rank = rankFor(module);
        double alpha = alphaFor(module);
        return useRslora ? alpha / Math.sqrt(rank) : alpha / rank;
    }

    /** The module's rank: the first {@code rank_pattern} key matching it, else {@code r}. */
    public int rankFor(String module) {
        String key = patternKey(rankPattern.keySet(), module);
        return key == null ? r : rankPattern.get(key);
    }

    /** The module's alpha: the first {@code alpha_pattern} key matching it, else {@code lora_alpha}. */
    public double alphaFor(String module) {
        String key = patternKey(alphaPattern.keySet(), module);
        return key == null ? loraAlpha : alphaPattern.get(key);
    }

    /** The largest rank the keys declare: {@code r} or a {@code rank_pattern} value. */
    public int maxRank() {
        return Math.max(r, rankPattern.values().stream().mapToInt(Integer::intValue).max().orElse(0));
    }

    /** PEFT's {@code get_pattern_key}: {@code re.match(rf"(.*\.)?({key})$", module)}, first key wins. */
    private static String patternKey(Set<String> keys, String module) {
        for (String key : keys) {
            if (Pattern.compile("(.*\\.)?(" + key + ")").matcher(PeftConfig.bounded(module, key)).matches()) {
                return key;
            }
        }
        return null;
    }

    @Override
    public String peftType() {
        return PeftConfig.LORA;
    }

    /** Reads a file's keys in a fixed order (the first bad key is the one reported), then checks the LoRA variant. */
    @Override
    public PeftConfig parse(PeftConfigReader in) {
        Path file = in.file();
        int rank = in.positiveInt("r", 8);
        double alpha = in.number("lora_alpha", 8);
        String biasKey = in.string("bias", "none");
        if (!biasKey.equals("none")) {
            throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED, file + ": field 'bias' is '"
                    + PeftConfig.quote(biasKey) + "'; only \"none\" is supported (trained base biases would change the base)");
        }
        boolean dora = in.bool("use_dora", false);
        refuseUnsupported(in);
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
        String taskType = in.string("task_type", null);
        String base = in.string("base_model_name_or_path", null);
        boolean rslora = in.bool("use_rslora", false);
        List<Integer> layers = in.intOrIntList("layers_to_transform");
        boolean fanInFanOut = in.bool("fan_in_fan_out", false);
        Map<String, Integer> ranks = in.rankPattern();
        Map<String, Double> alphas = in.alphaPattern();
        LoraSection section = new LoraSection(rank, alpha, rslora, ranks, alphas, biasKey, dora, in.number("lora_dropout", 0.0));
        return new PeftConfig(section, taskType, base, targets, exclude, layers, layersPattern, fanInFanOut, modulesToSave,
                in.extrasExcept(MODELLED));
    }

    private static void refuseUnsupported(PeftConfigReader in) {
        for (String key : UNSUPPORTED_WHEN_SET) {
            JsonNode v = in.root().get(key);
            boolean neutral = v == null || v.isNull() || (v.isBoolean() && !v.booleanValue())
                    || ((v.isArray() || v.isObject()) && v.isEmpty());
            if (!neutral) {
                throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED, in.file() + ": field '" + key + "' is "
                        + PeftConfig.quote(v) + "; this LoRA variant is not supported");
            }
        }
    }

    /** The config's keys as PEFT's {@code LoraConfig} writes them; {@code c} holds this section. */
    @Override
    public ObjectNode write(PeftConfig c) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode o = PeftConfig.commonJson(c);
        o.set("alpha_pattern", PeftConfig.JSON.valueToTree(alphaPattern));
        o.put("bias", bias);
        o.set("exclude_modules", c.excludeModules().isEmpty() ? f.nullNode() : c.excludeModules().toJson());
        o.put("fan_in_fan_out", c.fanInFanOut());
        o.set("layers_pattern", PeftConfig.layersPatternJson(c.layersPattern()));
        o.set("layers_to_transform", PeftConfig.layersToTransformJson(c.layersToTransform()));
        if (loraAlpha == Math.rint(loraAlpha) && Math.abs(loraAlpha) < Integer.MAX_VALUE) {
            o.put("lora_alpha", (int) loraAlpha);
        } else {
            o.put("lora_alpha", loraAlpha);
        }
        o.put("lora_dropout", loraDropout);
        o.put("r", r);
        o.set("rank_pattern", PeftConfig.JSON.valueToTree(rankPattern));
        o.set("target_modules", c.targetModules().toJson());
        o.put("use_dora", useDora);
        o.put("use_rslora", useRslora);
        c.extras().forEach((k, v) -> o.set(k, v.deepCopy()));
        return o;
    }
}
