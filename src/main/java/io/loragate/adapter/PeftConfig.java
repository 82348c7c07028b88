package io.loragate.adapter;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.common.DurableFiles;
import io.loragate.common.JsonLimits;
import io.loragate.common.LoragateException;
import io.loragate.common.ModelFormatException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A PEFT {@code adapter_config.json} for LoRA, mapped once at the boundary. Module selection follows
 * PEFT ({@code check_target_module_exists}, {@code get_pattern_key}, {@code _set_trainable}) so that
 * an adapter selects exactly the modules here that it selects in PEFT. Keys this record does not
 * model are kept verbatim in {@link #extras} so that writing the config back loses nothing.
 *
 * @param peftType          only {@code "LORA"} is supported
 * @param taskType          e.g. {@code "CAUSAL_LM"}, {@code "SEQ_CLS"}; may be null
 * @param baseModelNameOrPath informational; may be null
 * @param r                 default rank
 * @param loraAlpha         default alpha
 * @param useRslora         scale {@code alpha/√r} instead of {@code alpha/r}
 * @param targetModules     which linear layers get LoRA
 * @param excludeModules    modules never targeted; {@link Modules#NONE} when absent
 * @param layersToTransform layer indices to adapt (empty: all); only applies to list targets
 * @param layersPattern     names of the layer container ({@code layers}, {@code h}); empty: any
 * @param fanInFanOut       the base stores weights {@code (in, out)} (GPT-2 Conv1D); LoRA's A and B do not change
 * @param modulesToSave     modules replaced wholesale by the adapter's own copy (e.g. {@code classifier})
 * @param rankPattern       module regex → rank, first match wins
 * @param alphaPattern      module regex → alpha, first match wins
 * @param bias              only {@code "none"} is supported
 * @param useDora           must be false for now
 * @param loraDropout       training only; ignored at inference
 * @param extras            every other key of the file, in file order
 */
public record PeftConfig(
        String peftType,
        String taskType,
        String baseModelNameOrPath,
        int r,
        double loraAlpha,
        boolean useRslora,
        Modules targetModules,
        Modules excludeModules,
        List<Integer> layersToTransform,
        List<String> layersPattern,
        boolean fanInFanOut,
        List<String> modulesToSave,
        Map<String, Integer> rankPattern,
        Map<String, Double> alphaPattern,
        String bias,
        boolean useDora,
        double loraDropout,
        Map<String, JsonNode> extras) {

    /** File name inside an adapter folder. */
    public static final String FILE_NAME = "adapter_config.json";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** Reads untrusted configs: bounded size and nesting, duplicate keys refused. */
    private static final ObjectMapper READER = JsonLimits.strict(JsonLimits.mapper(JsonLimits.MAX_DEPTH, JsonLimits.MAX_CONFIG_BYTES));
    /**
     * Characters one regular-expression match of a config's pattern may inspect. A module path is
     * under 200 characters and an honest pattern inspects each a few times; a catastrophically
     * backtracking one (e.g. {@code (.*)*x}) hits the budget within milliseconds instead of hanging.
     */
    static final int MATCH_BUDGET = 1_000_000;

    /** Keys that, when set to anything but their neutral value, change the forward in ways we do not implement. */
    private static final List<String> UNSUPPORTED_WHEN_SET = List.of("lora_bias", "use_qalora", "layer_replication",
            "target_parameters", "trainable_token_indices", "alora_invocation_tokens", "arrow_config");

    private static final Set<String> MODELLED = Set.of("peft_type", "task_type", "base_model_name_or_path", "r",
            "lora_alpha", "use_rslora", "target_modules", "exclude_modules", "layers_to_transform", "layers_pattern",
            "fan_in_fan_out", "modules_to_save", "rank_pattern", "alpha_pattern", "bias", "use_dora", "lora_dropout");

    public PeftConfig {
        Objects.requireNonNull(peftType, "peftType");
        Objects.requireNonNull(targetModules, "targetModules");
        excludeModules = excludeModules == null ? Modules.NONE : excludeModules;
        layersToTransform = layersToTransform == null ? List.of() : List.copyOf(layersToTransform);
        layersPattern = layersPattern == null ? List.of() : List.copyOf(layersPattern);
        modulesToSave = modulesToSave == null ? List.of() : List.copyOf(modulesToSave);
        rankPattern = rankPattern == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(rankPattern));
        alphaPattern = alphaPattern == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(alphaPattern));
        bias = bias == null ? "none" : bias;
        extras = extras == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(extras));
    }

    /** A plain LoRA config as the trainer makes it: {@code r}, {@code alpha}, list targets, nothing else set. */
    public static PeftConfig lora(int r, double alpha, List<String> targetModules, String taskType) {
        return new PeftConfig("LORA", taskType, null, r, alpha, false, Modules.list(targetModules), Modules.NONE,
                List.of(), List.of(), false, List.of(), Map.of(), Map.of(), "none", false, 0.0, Map.of());
    }

    /**
     * The modules a config selects, as PEFT's {@code target_modules} / {@code exclude_modules}: a list
     * of names (a module matches if its path equals a name or ends with {@code "." + name}) or one
     * regular expression that must match the whole module path ({@code re.fullmatch}).
     */
    public record Modules(List<String> names, String regex) {

        /** Selects nothing. */
        public static final Modules NONE = new Modules(List.of(), null);

        public Modules {
            names = names == null ? List.of() : List.copyOf(names);
            if (regex != null && !names.isEmpty()) {
                throw new IllegalArgumentException("either names or a regex, not both");
            }
        }

        public static Modules list(List<String> names) {
            return new Modules(names, null);
        }

        public static Modules regex(String regex) {
            Pattern.compile(regex);
            return new Modules(List.of(), regex);
        }

        public boolean isRegex() {
            return regex != null;
        }

        public boolean isEmpty() {
            return regex == null && names.isEmpty();
        }

        /** Whether the module path is named directly (exact name), which in PEFT bypasses the layer filter. */
        boolean namesExactly(String module) {
            return regex == null && names.contains(module);
        }

        boolean matches(String module) {
            if (regex != null) {
                return Pattern.compile(regex).matcher(bounded(module, regex)).matches();
            }
            for (String n : names) {
                if (module.equals(n) || module.endsWith("." + n)) {
                    return true;
                }
            }
            return false;
        }

        JsonNode toJson() {
            if (regex != null) {
                return JsonNodeFactory.instance.textNode(regex);
            }
            ArrayNode a = JsonNodeFactory.instance.arrayNode();
            names.forEach(a::add);
            return a;
        }
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

    /** PEFT's {@code get_pattern_key}: {@code re.match(rf"(.*\.)?({key})$", module)}, first key wins. */
    private static String patternKey(Set<String> keys, String module) {
        for (String key : keys) {
            if (Pattern.compile("(.*\\.)?(" + key + ")").matcher(bounded(module, key)).matches()) {
                return key;
            }
        }
        return null;
    }

    /**
     * Whether PEFT would put LoRA on this module (given that it is a linear layer): not excluded, not
     * a module to save (nor inside one), selected by {@code target_modules}, and in
     * {@code layers_to_transform} when that is set.
     */
    public boolean targets(String module) {
        if (!excludeModules.isEmpty() && excludeModules.matches(module)) {
            return false;
        }
        for (String m : modulesToSave) {
            if (Pattern.compile("(^|.*\\.)" + m + "($|\\..*)").matcher(bounded(module, m)).lookingAt()) {
                return false;
            }
        }
        if (targetModules.isRegex() || targetModules.namesExactly(module)) {
            return targetModules.matches(module);
        }
        if (!targetModules.matches(module)) {
            return false;
        }
        if (layersToTransform.isEmpty()) {
            return true;
        }
        Integer layer = null;
        if (layersPattern.isEmpty()) {
            layer = layerIndex(Pattern.compile(".*\\.[^.]*\\.(\\d+)\\."), module);
        } else {
            for (String p : layersPattern) {
                layer = layerIndex(Pattern.compile(".*\\." + p + "\\.(\\d+)\\."), module);
                if (layer != null) {
                    break;
                }
            }
        }
        return layer != null && layersToTransform.contains(layer);
    }

    /** {@code module} as a regex input that refuses to be read more than {@link #MATCH_BUDGET} times. */
    static CharSequence bounded(String module, String regex) {
        return new CharSequence() {
            private int left = MATCH_BUDGET;

            @Override
            public int length() {
                return module.length();
            }

            @Override
            public char charAt(int index) {
                if (--left < 0) {
                    throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "adapter_config.json: the regular"
                            + " expression '" + quote(regex) + "' backtracks too much on module '" + module
                            + "'; simplify it");
                }
                return module.charAt(index);
            }

            @Override
            public CharSequence subSequence(int start, int end) {
                return module.subSequence(start, end);
            }

            @Override
            public String toString() {
                return module;
            }
        };
    }

    /** A config value as an error message shows it: at most 200 characters. */
    static String quote(Object value) {
        String s = String.valueOf(value);
        return s.length() <= 200 ? s : s.substring(0, 200) + "...(" + s.length() + " chars)";
    }

    /** Python's {@code re.match}: anchored at the start only. */
    private static Integer layerIndex(Pattern p, String module) {
        Matcher m = p.matcher(bounded(module, p.pattern()));
        if (!m.lookingAt()) {
            return null;
        }
        try {
            return Integer.parseInt(m.group(1));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** Whether the module is (or lies inside) a module that the adapter replaces: PEFT's {@code key.endswith(name)}. */
    public boolean savesModule(String module) {
        for (String m : modulesToSave) {
            if (module.endsWith(m)) {
                return true;
            }
        }
        return false;
    }

    // ---------------------------------------------------------------------------------------------
    // Reading

    /** Reads and validates {@code adapter_config.json}. */
    public static PeftConfig read(Path file) {
        String text;
        try {
            long size = Files.size(file);
            if (size > JsonLimits.MAX_CONFIG_BYTES) {
                throw new ModelFormatException(file, size + " bytes; an adapter config is at most " + JsonLimits.MAX_CONFIG_BYTES);
            }
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ModelFormatException(file, "file not found");
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot read: " + e.getMessage(), e);
        }
        return parse(file, text);
    }

    /** Parses config text; {@code file} only names the source in errors. */
    public static PeftConfig parse(Path file, String json) {
        JsonNode root;
        try {
            root = READER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new ModelFormatException(file, "not valid JSON: " + quote(e.getOriginalMessage()));
        }
        if (root == null || !root.isObject()) {
            throw new ModelFormatException(file, "not a JSON object");
        }
        Reader in = new Reader(file, root);

        String peftType = in.string("peft_type", null);
        if (peftType == null) {
            throw new ModelFormatException(file, "field 'peft_type' is missing");
        }
        if (peftType.equals(IA3) || peftType.equals(BOTTLENECK)) {
            return parseMethod(file, root, in, peftType);
        }
        if (peftType.equals(PROMPT_TUNING)) {
            return parsePromptTuning(file, root, in);
        }
        if (!peftType.equals("LORA")) {
            throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED, file + ": adapter type '" + quote(peftType)
                    + "' is not supported (supported: LORA, IA3, PROMPT_TUNING, " + BOTTLENECK + ")");
        }
        int r = in.positiveInt("r", 8);
        double alpha = in.number("lora_alpha", 8);
        String bias = in.string("bias", "none");
        if (!bias.equals("none")) {
            throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED, file + ": field 'bias' is '" + quote(bias)
                    + "'; only \"none\" is supported (trained base biases would change the base)");
        }
        boolean useDora = in.bool("use_dora", false);
        for (String key : UNSUPPORTED_WHEN_SET) {
            JsonNode v = root.get(key);
            boolean neutral = v == null || v.isNull() || (v.isBoolean() && !v.booleanValue())
                    || ((v.isArray() || v.isObject()) && v.isEmpty());
            if (!neutral) {
                throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED, file + ": field '" + key + "' is "
                        + quote(v) + "; this LoRA variant is not supported");
            }
        }
        Modules targets = in.modules("target_modules");
        List<String> modulesToSave = in.stringOrStringList("modules_to_save");
        // an empty list is no LoRA at all: allowed when the adapter saves whole modules instead (linear probe, partial fine-tuning)
        boolean savesOnly = targets != null && !targets.isRegex() && targets.isEmpty() && !modulesToSave.isEmpty();
        if ((targets == null || targets.isEmpty()) && !savesOnly) {
            throw new ModelFormatException(file, "field 'target_modules' is missing or empty; name the target modules explicitly"
                    + " (an empty list is allowed only with a non-empty 'modules_to_save')");
        }
        if (targets.isRegex() && targets.regex().equalsIgnoreCase("all-linear")) {
            throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED, file
                    + ": field 'target_modules' is 'all-linear'; PEFT expands it when training, save the expanded list");
        }
        Modules exclude = in.modules("exclude_modules");
        checkPatterns(file, "modules_to_save", modulesToSave, m -> "(^|.*\\.)" + m + "($|\\..*)");

        List<String> layersPattern = in.stringOrStringList("layers_pattern");
        checkPatterns(file, "layers_pattern", layersPattern, p -> ".*\\." + p + "\\.(\\d+)\\.");

        PeftConfig config = new PeftConfig(peftType,
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
                extras(root));
        return config;
    }

    // ---------------------------------------------------------------------------------------------
    // Prompt tuning (PEFT's PromptTuningConfig)

    /** {@code peft_type} of PEFT prompt tuning: k trainable virtual token embeddings prepended to the input. */
    public static final String PROMPT_TUNING = "PROMPT_TUNING";

    /** The prompt-tuning keys, kept in {@link #extras} (the record's components are LoRA's). */
    static final String NUM_VIRTUAL_TOKENS = "num_virtual_tokens";
    static final String TOKEN_DIM = "token_dim";
    static final String NUM_TRANSFORMER_SUBMODULES = "num_transformer_submodules";
    static final String PROMPT_TUNING_INIT = "prompt_tuning_init";
    static final String PROMPT_TUNING_INIT_TEXT = "prompt_tuning_init_text";
    static final String TOKENIZER_NAME_OR_PATH = "tokenizer_name_or_path";
    /** The initialisations PEFT knows; only training depends on them. */
    static final List<String> PROMPT_INITS = List.of("RANDOM", "TEXT", "SAMPLE_VOCAB");

    /** Whether this is a {@value #PROMPT_TUNING} config (no LoRA pairs; {@link #numVirtualTokens()} embeddings). */
    public boolean isPromptTuning() {
        return PROMPT_TUNING.equals(peftType);
    }

    /** Prompt tuning's {@code num_virtual_tokens} (k), or 0 for other types. */
    public int numVirtualTokens() {
        JsonNode v = isPromptTuning() ? extras.get(NUM_VIRTUAL_TOKENS) : null;
        return v == null || !v.canConvertToInt() ? 0 : v.intValue();
    }

    /** Prompt tuning's {@code token_dim} (the base's hidden size), or 0 when absent. */
    public int tokenDim() {
        JsonNode v = isPromptTuning() ? extras.get(TOKEN_DIM) : null;
        return v == null || !v.canConvertToInt() ? 0 : v.intValue();
    }

    /**
     * A prompt-tuning config as the trainer makes it, with the keys PEFT's {@code PromptTuningConfig}
     * writes ({@code inference_mode: true}, one transformer submodule).
     *
     * @param init     {@code RANDOM}, {@code TEXT} or {@code SAMPLE_VOCAB}
     * @param initText the text of a {@code TEXT} initialisation, else null
     * @param tokenizer the tokenizer's name or path ({@code TEXT} needs one in PEFT), may be null
     */
    public static PeftConfig promptTuning(int numVirtualTokens, int tokenDim, int heads, int layers, String init,
            String initText, String tokenizer, String taskType, String baseModel) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        Map<String, JsonNode> extras = new LinkedHashMap<>();
        extras.put("inference_mode", f.booleanNode(true));
        extras.put(NUM_ATTENTION_HEADS, f.numberNode(heads));
        extras.put(NUM_LAYERS, f.numberNode(layers));
        extras.put(NUM_TRANSFORMER_SUBMODULES, f.numberNode(1));
        extras.put(NUM_VIRTUAL_TOKENS, f.numberNode(numVirtualTokens));
        extras.put(PROMPT_TUNING_INIT, f.textNode(init));
        extras.put(PROMPT_TUNING_INIT_TEXT, initText == null ? f.nullNode() : f.textNode(initText));
        extras.put("revision", f.nullNode());
        extras.put(TOKEN_DIM, f.numberNode(tokenDim));
        extras.put("tokenizer_kwargs", f.nullNode());
        extras.put(TOKENIZER_NAME_OR_PATH, tokenizer == null ? f.nullNode() : f.textNode(tokenizer));
        return new PeftConfig(PROMPT_TUNING, taskType, baseModel, 0, 0, false, Modules.NONE, Modules.NONE, List.of(),
                List.of(), false, List.of(), Map.of(), Map.of(), "none", false, 0.0, extras);
    }

    private static final String NUM_ATTENTION_HEADS = "num_attention_heads";
    private static final String NUM_LAYERS = "num_layers";

    /**
     * PEFT's {@code PromptTuningConfig}: {@code num_virtual_tokens} (1..{@value io.loragate.model.AdapterHook#MAX_VIRTUAL_TOKENS}),
     * {@code token_dim}, {@code num_transformer_submodules} (1 only: encoder-decoder models are not
     * served), {@code prompt_tuning_init} ({@code RANDOM}, {@code TEXT}, {@code SAMPLE_VOCAB}),
     * {@code prompt_tuning_init_text}, {@code tokenizer_name_or_path}, {@code modules_to_save}. The
     * prompt keys stay in {@link #extras}; LoRA's components hold their neutral values
     * ({@code r = 0}, no targets).
     */
    private static PeftConfig parsePromptTuning(Path file, JsonNode root, Reader in) {
        int k = in.positiveInt(NUM_VIRTUAL_TOKENS, -1);
        if (k < 0) {
            throw new ModelFormatException(file, "field '" + NUM_VIRTUAL_TOKENS + "' is missing");
        }
        if (k > io.loragate.model.AdapterHook.MAX_VIRTUAL_TOKENS) {
            throw new ModelFormatException(file, "field '" + NUM_VIRTUAL_TOKENS + "' is " + k + "; at most "
                    + io.loragate.model.AdapterHook.MAX_VIRTUAL_TOKENS + " virtual tokens are supported");
        }
        in.positiveInt(TOKEN_DIM, 1);
        in.positiveInt(NUM_ATTENTION_HEADS, 1);
        in.positiveInt(NUM_LAYERS, 1);
        int submodules = in.positiveInt(NUM_TRANSFORMER_SUBMODULES, 1);
        if (submodules != 1) {
            throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED, file + ": field '" + NUM_TRANSFORMER_SUBMODULES
                    + "' is " + submodules + "; only 1 (decoder-only or encoder-only models) is supported");
        }
        String init = in.string(PROMPT_TUNING_INIT, "RANDOM");
        if (!PROMPT_INITS.contains(init)) {
            throw new ModelFormatException(file, "field '" + PROMPT_TUNING_INIT + "' must be one of " + PROMPT_INITS
                    + ", got " + quote(init));
        }
        in.string(PROMPT_TUNING_INIT_TEXT, null);
        in.string(TOKENIZER_NAME_OR_PATH, null);
        in.bool("inference_mode", true);
        List<String> modulesToSave = in.stringOrStringList("modules_to_save");
        checkPatterns(file, "modules_to_save", modulesToSave, m -> "(^|.*\\.)" + m + "($|\\..*)");
        Map<String, JsonNode> extras = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!PROMPT_MODELLED.contains(e.getKey())) {
                extras.put(e.getKey(), e.getValue().deepCopy());
            }
        }
        return new PeftConfig(PROMPT_TUNING, in.string("task_type", null), in.string("base_model_name_or_path", null),
                0, 0, false, Modules.NONE, Modules.NONE, List.of(), List.of(), false, modulesToSave, Map.of(), Map.of(),
                "none", false, 0.0, extras);
    }

    /** Keys of a prompt-tuning config held by the record's components rather than {@link #extras}. */
    private static final Set<String> PROMPT_MODELLED = Set.of("peft_type", "task_type", "base_model_name_or_path",
            "modules_to_save");

    /** A prompt-tuning config as PEFT writes it: its own keys and the extras, no LoRA keys. */
    private ObjectNode promptTuningJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("base_model_name_or_path", baseModelNameOrPath);
        o.set("modules_to_save", modulesToSave.isEmpty() ? JsonNodeFactory.instance.nullNode() : JSON.valueToTree(modulesToSave));
        o.put("peft_type", peftType);
        o.put("task_type", taskType);
        extras.forEach((k, v) -> o.set(k, v.deepCopy()));
        return o;
    }

    /** Refuses an entry of {@code field} whose regular expression, as {@code asRegex} builds it, does not compile. */
    private static void checkPatterns(Path file, String field, List<String> entries,
            java.util.function.UnaryOperator<String> asRegex) {
        for (String e : entries) {
            try {
                Pattern.compile(asRegex.apply(e));
            } catch (PatternSyntaxException ex) {
                throw new ModelFormatException(file, "field '" + field + "' entry '" + quote(e)
                        + "' is not a valid regular expression: " + ex.getDescription());
            }
        }
    }

    private static Map<String, JsonNode> extras(JsonNode root) {
        Map<String, JsonNode> extras = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!MODELLED.contains(e.getKey())) {
                extras.put(e.getKey(), e.getValue().deepCopy());
            }
        }
        return extras;
    }

    /** Typed access to the fields of one config file; every error names the file and the field. */
    private record Reader(Path file, JsonNode root) {

        private ModelFormatException wrong(String field, String expected) {
            return new ModelFormatException(file, "field '" + field + "' must be " + expected + ", got " + quote(root.get(field)));
        }

        private JsonNode get(String field) {
            JsonNode v = root.get(field);
            return v == null || v.isNull() ? null : v;
        }

        String string(String field, String absent) {
            JsonNode v = get(field);
            if (v == null) {
                return absent;
            }
            if (!v.isTextual()) {
                throw wrong(field, "a string");
            }
            return v.textValue();
        }

        boolean bool(String field, boolean absent) {
            JsonNode v = get(field);
            if (v == null) {
                return absent;
            }
            if (!v.isBoolean()) {
                throw wrong(field, "true or false");
            }
            return v.booleanValue();
        }

        double number(String field, double absent) {
            JsonNode v = get(field);
            if (v == null) {
                return absent;
            }
            if (!v.isNumber()) {
                throw wrong(field, "a number");
            }
            double d = v.doubleValue();
            if (!Double.isFinite(d)) {
                throw wrong(field, "a finite number");
            }
            return d;
        }

        int positiveInt(String field, int absent) {
            JsonNode v = get(field);
            if (v == null) {
                return absent;
            }
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw wrong(field, "an integer");
            }
            if (v.intValue() <= 0) {
                throw wrong(field, "a positive integer");
            }
            return v.intValue();
        }

        Modules modules(String field) {
            JsonNode v = get(field);
            if (v == null) {
                return null;
            }
            if (v.isTextual()) {
                try {
                    return Modules.regex(v.textValue());
                } catch (PatternSyntaxException e) {
                    throw new ModelFormatException(file, "field '" + field + "' is not a valid regular expression: "
                            + e.getDescription());
                }
            }
            return Modules.list(strings(field, v));
        }

        private List<String> strings(String field, JsonNode v) {
            if (!v.isArray()) {
                throw wrong(field, "a string or a list of strings");
            }
            Set<String> out = new LinkedHashSet<>(); // a list of 100k names must not take quadratic time
            for (JsonNode e : v) {
                if (!e.isTextual()) {
                    throw wrong(field, "a string or a list of strings");
                }
                out.add(e.textValue());
            }
            return new ArrayList<>(out);
        }

        List<String> stringOrStringList(String field) {
            JsonNode v = get(field);
            if (v == null) {
                return List.of();
            }
            return v.isTextual() ? List.of(v.textValue()) : strings(field, v);
        }

        List<Integer> intOrIntList(String field) {
            JsonNode v = get(field);
            if (v == null) {
                return List.of();
            }
            List<Integer> out = new ArrayList<>();
            if (v.isIntegralNumber() && v.canConvertToInt()) {
                out.add(v.intValue());
                return out;
            }
            if (!v.isArray()) {
                throw wrong(field, "an integer or a list of integers");
            }
            for (JsonNode e : v) {
                if (!e.isIntegralNumber() || !e.canConvertToInt()) {
                    throw wrong(field, "an integer or a list of integers");
                }
                out.add(e.intValue());
            }
            return out;
        }

        Map<String, Integer> rankPattern() {
            Map<String, Integer> out = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : patternEntries("rank_pattern")) {
                JsonNode v = e.getValue();
                if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() <= 0) {
                    throw new ModelFormatException(file, "field 'rank_pattern' maps '" + quote(e.getKey())
                            + "' to " + quote(v) + "; ranks must be positive integers");
                }
                out.put(e.getKey(), v.intValue());
            }
            return out;
        }

        Map<String, Double> alphaPattern() {
            Map<String, Double> out = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : patternEntries("alpha_pattern")) {
                JsonNode v = e.getValue();
                if (!v.isNumber() || !Double.isFinite(v.doubleValue())) {
                    throw new ModelFormatException(file, "field 'alpha_pattern' maps '" + quote(e.getKey()) + "' to " + quote(v)
                            + "; alphas must be numbers");
                }
                out.put(e.getKey(), v.doubleValue());
            }
            return out;
        }

        private List<Map.Entry<String, JsonNode>> patternEntries(String field) {
            JsonNode v = get(field);
            if (v == null) {
                return List.of();
            }
            if (!v.isObject()) {
                throw wrong(field, "an object");
            }
            List<Map.Entry<String, JsonNode>> out = new ArrayList<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                try {
                    Pattern.compile("(.*\\.)?(" + e.getKey() + ")");
                } catch (PatternSyntaxException ex) {
                    throw new ModelFormatException(file, "field '" + field + "' key '" + quote(e.getKey())
                            + "' is not a valid regular expression: " + ex.getDescription());
                }
                out.add(e);
            }
            return out;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Writing

    /** The config as PEFT writes it: every field PEFT knows, plus the extras this config was read with. */
    public ObjectNode toJson() {
        if (isPromptTuning()) {
            return sorted(promptTuningJson());
        }
        if (!peftType.equals("LORA")) {
            return sorted(methodJson());
        }
        return sorted(loraJson());
    }

    private ObjectNode loraJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.set("alpha_pattern", JSON.valueToTree(alphaPattern));
        o.put("base_model_name_or_path", baseModelNameOrPath);
        o.put("bias", bias);
        o.set("exclude_modules", excludeModules.isEmpty() ? JsonNodeFactory.instance.nullNode() : excludeModules.toJson());
        o.put("fan_in_fan_out", fanInFanOut);
        o.set("layers_pattern", layersPattern.isEmpty() ? JsonNodeFactory.instance.nullNode()
                : layersPattern.size() == 1 ? JsonNodeFactory.instance.textNode(layersPattern.get(0)) : JSON.valueToTree(layersPattern));
        o.set("layers_to_transform", layersToTransform.isEmpty() ? JsonNodeFactory.instance.nullNode() : JSON.valueToTree(layersToTransform));
        if (loraAlpha == Math.rint(loraAlpha) && Math.abs(loraAlpha) < Integer.MAX_VALUE) {
            o.put("lora_alpha", (int) loraAlpha);
        } else {
            o.put("lora_alpha", loraAlpha);
        }
        o.put("lora_dropout", loraDropout);
        o.set("modules_to_save", modulesToSave.isEmpty() ? JsonNodeFactory.instance.nullNode() : JSON.valueToTree(modulesToSave));
        o.put("peft_type", peftType);
        o.put("r", r);
        o.set("rank_pattern", JSON.valueToTree(rankPattern));
        o.set("target_modules", targetModules.toJson());
        o.put("task_type", taskType);
        o.put("use_dora", useDora);
        o.put("use_rslora", useRslora);
        extras.forEach((k, v) -> o.set(k, v.deepCopy()));
        return o;
    }

    private static ObjectNode sorted(ObjectNode o) {
        ObjectNode sorted = JsonNodeFactory.instance.objectNode();
        List<String> keys = new ArrayList<>();
        o.fieldNames().forEachRemaining(keys::add);
        Collections.sort(keys);
        keys.forEach(k -> sorted.set(k, o.get(k)));
        return sorted;
    }

    /** Writes {@code adapter_config.json} into {@code folder}. */
    public void write(Path folder) {
        Path file = folder.resolve(FILE_NAME);
        try {
            DurableFiles.write(file, (JSON.writeValueAsString(toJson()) + "\n").getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // IA3 and bottleneck adapters: their own fields live in extras (read and checked here), so the
    // record's components stay those of LoRA.

    /** PEFT's {@code peft_type} of IA3. */
    public static final String IA3 = "IA3";
    /** loragate's own {@code peft_type} of bottleneck adapters (PEFT has none; see the README). */
    public static final String BOTTLENECK = "LORAGATE_BOTTLENECK";
    /** Bottleneck placements: after the MLP sub-layer only, or after attention and MLP. */
    public static final String PFEIFFER = "pfeiffer";
    public static final String HOULSBY = "houlsby";
    /** Bottleneck activations. */
    public static final List<String> BOTTLENECK_ACTIVATIONS = List.of("relu", "gelu", "silu");
    /** The widest bottleneck a config may declare. */
    public static final int MAX_BOTTLENECK = 65_536;

    /** A fresh IA3 config as the trainer makes it: list targets, {@code feedforward} a subset of them. */
    public static PeftConfig ia3(List<String> targetModules, List<String> feedforward, List<Integer> layersToTransform,
            String taskType) {
        return ia3(Modules.list(targetModules), Modules.list(feedforward), layersToTransform, taskType);
    }

    /** A fresh IA3 config with targets and feed-forward modules as lists or regular expressions. */
    public static PeftConfig ia3(Modules targets, Modules feedforward, List<Integer> layersToTransform, String taskType) {
        Map<String, JsonNode> extras = new LinkedHashMap<>();
        extras.put("feedforward_modules", feedforward.isEmpty() ? JsonNodeFactory.instance.nullNode() : feedforward.toJson());
        extras.put("init_ia3_weights", JsonNodeFactory.instance.booleanNode(true));
        return new PeftConfig(IA3, taskType, null, 0, 0, false, targets, Modules.NONE, layersToTransform, List.of(), false,
                List.of(), Map.of(), Map.of(), "none", false, 0.0, extras);
    }

    /** A fresh bottleneck-adapter config. */
    public static PeftConfig bottleneck(int size, String placement, String activation, List<Integer> layersToTransform,
            String taskType) {
        Map<String, JsonNode> extras = new LinkedHashMap<>();
        extras.put("bottleneck_size", JsonNodeFactory.instance.numberNode(size));
        extras.put("placement", JsonNodeFactory.instance.textNode(placement));
        extras.put("activation", JsonNodeFactory.instance.textNode(activation));
        return new PeftConfig(BOTTLENECK, taskType, null, 0, 0, false, Modules.NONE, Modules.NONE, layersToTransform,
                List.of(), false, List.of(), Map.of(), Map.of(), "none", false, 0.0, extras);
    }

    /** IA3's {@code feedforward_modules}: a list of names or one regular expression; {@link Modules#NONE} when absent. */
    public Modules feedforwardModules() {
        JsonNode v = extras.get("feedforward_modules");
        if (v == null || v.isNull()) {
            return Modules.NONE;
        }
        if (v.isTextual()) {
            return new Modules(List.of(), v.textValue());
        }
        List<String> names = new ArrayList<>();
        v.forEach(e -> names.add(e.asText()));
        return Modules.list(names);
    }

    /**
     * Whether IA3 scales the input (not the output) of a targeted module: PEFT's
     * {@code _check_target_module_feedforward}, {@code re.fullmatch} for a regex, else
     * {@code key.endswith(name)} for any listed name.
     */
    public boolean feedforward(String module) {
        Modules ff = feedforwardModules();
        if (ff.isRegex()) {
            return ff.matches(module);
        }
        for (String n : ff.names()) {
            if (module.endsWith(n)) {
                return true;
            }
        }
        return false;
    }

    /** The bottleneck width {@code m} of a {@value #BOTTLENECK} config. */
    public int bottleneckSize() {
        JsonNode v = extras.get("bottleneck_size");
        return v == null ? 0 : v.intValue();
    }

    /** {@value #PFEIFFER} or {@value #HOULSBY}. */
    public String placement() {
        JsonNode v = extras.get("placement");
        return v == null || v.isNull() ? PFEIFFER : v.textValue();
    }

    /** The bottleneck's activation: {@code relu}, {@code gelu} or {@code silu}. */
    public String activation() {
        JsonNode v = extras.get("activation");
        return v == null || v.isNull() ? "relu" : v.textValue();
    }

    /** Whether layer {@code index} is adapted: {@code layers_to_transform} is empty or holds it. */
    public boolean transformsLayer(int index) {
        return layersToTransform.isEmpty() || layersToTransform.contains(index);
    }

    private static final Set<String> METHOD_MODELLED = Set.of("peft_type", "task_type", "base_model_name_or_path",
            "target_modules", "exclude_modules", "layers_to_transform", "layers_pattern", "fan_in_fan_out", "modules_to_save");

    /** IA3 and bottleneck configs: the fields they share with LoRA in the record, their own checked and kept in extras. */
    private static PeftConfig parseMethod(Path file, JsonNode root, Reader in, String peftType) {
        boolean ia3 = peftType.equals(IA3);
        Modules targets = Modules.NONE;
        Modules exclude = Modules.NONE;
        if (ia3) {
            targets = in.modules("target_modules");
            if (targets == null || targets.isEmpty()) {
                throw new ModelFormatException(file, "field 'target_modules' is missing or empty; name the target modules explicitly");
            }
            if (targets.isRegex() && targets.regex().equalsIgnoreCase("all-linear")) {
                throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED, file
                        + ": field 'target_modules' is 'all-linear'; PEFT expands it when training, save the expanded list");
            }
            Modules ff = in.modules("feedforward_modules");
            if (ff != null && !ff.isRegex() && !targets.isRegex() && !targets.names().containsAll(ff.names())) {
                throw new ModelFormatException(file, "field 'feedforward_modules' " + quote(ff.names())
                        + " must be a subset of target_modules " + quote(targets.names()));
            }
            in.bool("init_ia3_weights", true);
            exclude = in.modules("exclude_modules");
        } else {
            int size = in.positiveInt("bottleneck_size", 0);
            if (size == 0) {
                throw new ModelFormatException(file, "field 'bottleneck_size' is missing");
            }
            if (size > MAX_BOTTLENECK) {
                throw new ModelFormatException(file, "field 'bottleneck_size' is " + size + "; at most " + MAX_BOTTLENECK);
            }
            String placement = in.string("placement", PFEIFFER);
            if (!placement.equals(PFEIFFER) && !placement.equals(HOULSBY)) {
                throw new ModelFormatException(file, "field 'placement' must be \"pfeiffer\" or \"houlsby\", got " + quote(placement));
            }
            String activation = in.string("activation", "relu");
            if (!BOTTLENECK_ACTIVATIONS.contains(activation)) {
                throw new ModelFormatException(file, "field 'activation' must be one of " + BOTTLENECK_ACTIVATIONS + ", got "
                        + quote(activation));
            }
        }
        List<String> modulesToSave = in.stringOrStringList("modules_to_save");
        checkPatterns(file, "modules_to_save", modulesToSave, m -> "(^|.*\\.)" + m + "($|\\..*)");
        List<String> layersPattern = in.stringOrStringList("layers_pattern");
        checkPatterns(file, "layers_pattern", layersPattern, p -> ".*\\." + p + "\\.(\\d+)\\.");
        Map<String, JsonNode> extras = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!METHOD_MODELLED.contains(e.getKey())) {
                extras.put(e.getKey(), e.getValue().deepCopy());
            }
        }
        return new PeftConfig(peftType, in.string("task_type", null), in.string("base_model_name_or_path", null), 0, 0,
                false, targets, exclude == null ? Modules.NONE : exclude, in.intOrIntList("layers_to_transform"), layersPattern,
                in.bool("fan_in_fan_out", false), modulesToSave, Map.of(), Map.of(), "none", false, 0.0, extras);
    }

    /** An IA3 or bottleneck config as written: the shared fields, then its own (kept in extras). */
    private ObjectNode methodJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        JsonNodeFactory f = JsonNodeFactory.instance;
        o.put("peft_type", peftType);
        o.put("task_type", taskType);
        o.put("base_model_name_or_path", baseModelNameOrPath);
        if (peftType.equals(IA3)) {
            o.set("target_modules", targetModules.toJson());
            o.set("exclude_modules", excludeModules.isEmpty() ? f.nullNode() : excludeModules.toJson());
            o.put("fan_in_fan_out", fanInFanOut);
            o.set("layers_pattern", layersPattern.isEmpty() ? f.nullNode()
                    : layersPattern.size() == 1 ? f.textNode(layersPattern.get(0)) : JSON.valueToTree(layersPattern));
        }
        o.set("layers_to_transform", layersToTransform.isEmpty() ? f.nullNode() : JSON.valueToTree(layersToTransform));
        o.set("modules_to_save", modulesToSave.isEmpty() ? f.nullNode() : JSON.valueToTree(modulesToSave));
        extras.forEach((k, v) -> o.set(k, v.deepCopy()));
        return o;
    }
}
