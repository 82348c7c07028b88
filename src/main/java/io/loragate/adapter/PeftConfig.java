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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A PEFT {@code adapter_config.json}, mapped once at the boundary: the keys every type shares
 * (task, base, module selection, modules to save) as components, and the section of its
 * {@code peft_type} ({@link PeftSection}, named by its {@link AdapterMethod}), which reads and writes
 * that type's own keys: LoRA's section holds them ({@link #lora()}); IA3, bottleneck and prompt
 * tuning keep theirs in {@link #extras}, read through this record's accessors. Module selection
 * follows PEFT ({@code check_target_module_exists}, {@code _set_trainable}) so that an adapter
 * selects exactly the modules here that it selects in PEFT. Keys no section models are kept
 * verbatim in {@link #extras} so that writing the config back loses nothing.
 *
 * @param section           the section of the config's {@code peft_type} (one of the registered methods' types,
 *                          {@link AdapterMethods}: {@code LORA}, {@code IA3}, {@code PROMPT_TUNING},
 *                          {@code LORAGATE_BOTTLENECK}); a {@link LoraSection} with its keys for {@code LORA}
 * @param taskType          e.g. {@code "CAUSAL_LM"}, {@code "SEQ_CLS"}; may be null
 * @param baseModelNameOrPath informational; may be null
 * @param targetModules     which linear layers get adapted
 * @param excludeModules    modules never targeted; {@link Modules#NONE} when absent
 * @param layersToTransform layer indices to adapt (empty: all); only applies to list targets
 * @param layersPattern     names of the layer container ({@code layers}, {@code h}); empty: any
 * @param fanInFanOut       the base stores weights {@code (in, out)} (GPT-2 Conv1D); LoRA's A and B do not change
 * @param modulesToSave     modules replaced wholesale by the adapter's own copy (e.g. {@code classifier})
 * @param extras            every other key of the file, in file order
 */
public record PeftConfig(
        PeftSection section,
        String taskType,
        String baseModelNameOrPath,
        Modules targetModules,
        Modules excludeModules,
        List<Integer> layersToTransform,
        List<String> layersPattern,
        boolean fanInFanOut,
        List<String> modulesToSave,
        Map<String, JsonNode> extras) {

    /** PEFT's {@code peft_type} of LoRA (and of DoRA, linear probes and partial fine-tuning). */
    public static final String LORA = "LORA";

    /** The keys IA3 and bottleneck configs keep in the shared components; their own keys stay in {@link #extras}. */
    static final Set<String> SHARED_KEYS = Set.of("peft_type", "task_type", "base_model_name_or_path", "target_modules",
            "exclude_modules", "layers_to_transform", "layers_pattern", "fan_in_fan_out", "modules_to_save");

    /** File name inside an adapter folder. */
    public static final String FILE_NAME = "adapter_config.json";

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** Reads untrusted configs: bounded size and nesting, duplicate keys refused. */
    private static final ObjectMapper READER = JsonLimits.strict(JsonLimits.mapper(JsonLimits.MAX_DEPTH, JsonLimits.MAX_CONFIG_BYTES));
    /**
     * Characters one regular-expression match of a config's pattern may inspect. A module path is
     * under 200 characters and an honest pattern inspects each a few times; a catastrophically
     * backtracking one (e.g. {@code (.*)*x}) hits the budget within milliseconds instead of hanging.
     */
    static final int MATCH_BUDGET = 1_000_000;



    public PeftConfig {
        Objects.requireNonNull(section, "section");
        Objects.requireNonNull(targetModules, "targetModules");
        excludeModules = excludeModules == null ? Modules.NONE : excludeModules;
        layersToTransform = layersToTransform == null ? List.of() : List.copyOf(layersToTransform);
        layersPattern = layersPattern == null ? List.of() : List.copyOf(layersPattern);
        modulesToSave = modulesToSave == null ? List.of() : List.copyOf(modulesToSave);
        extras = extras == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(extras));
    }

    /** The {@code peft_type}: its section's. */
    public String peftType() {
        return section.peftType();
    }

    /** Whether this is a {@value #LORA} config (of {@code lora}, {@code rslora}, {@code dora}, {@code linear_probe}, {@code partial}). */
    public boolean isLora() {
        return section instanceof LoraSection;
    }

    /** LoRA's keys (rank, alpha, rsLoRA, DoRA, patterns, dropout); only a {@value #LORA} config has them. */
    public LoraSection lora() {
        if (section instanceof LoraSection l) {
            return l;
        }
        throw new IllegalStateException("a " + peftType() + " config has no LoRA keys");
    }

    /** A plain LoRA config as the trainer makes it: {@code r}, {@code alpha}, list targets, nothing else set. */
    public static PeftConfig lora(int r, double alpha, List<String> targetModules, String taskType) {
        return lora(LoraSection.plain(r, alpha), Modules.list(targetModules), List.of(), List.of(), taskType, null);
    }

    /** A LoRA config with these keys, list or regex targets, nothing else set. */
    public static PeftConfig lora(LoraSection keys, Modules targetModules, List<Integer> layersToTransform,
            List<String> modulesToSave, String taskType, String baseModel) {
        return new PeftConfig(keys, taskType, baseModel, targetModules, Modules.NONE, layersToTransform, List.of(), false,
                modulesToSave, Map.of());
    }

    /** This config with {@code base_model_name_or_path} set to {@code baseModel}. */
    public PeftConfig withBaseModel(String baseModel) {
        return new PeftConfig(section, taskType, baseModel, targetModules, excludeModules, layersToTransform, layersPattern,
                fanInFanOut, modulesToSave, extras);
    }

    /** This config with another section of the same {@code peft_type} (e.g. LoRA's keys with another dropout). */
    public PeftConfig withSection(PeftSection other) {
        if (!other.peftType().equals(peftType())) {
            throw new IllegalArgumentException("a " + peftType() + " config cannot take a " + other.peftType() + " section");
        }
        return new PeftConfig(other, taskType, baseModelNameOrPath, targetModules, excludeModules, layersToTransform,
                layersPattern, fanInFanOut, modulesToSave, extras);
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
        PeftConfigReader in = new PeftConfigReader(file, root);
        String peftType = in.string("peft_type", null);
        if (peftType == null) {
            throw new ModelFormatException(file, "field 'peft_type' is missing");
        }
        PeftSection section = AdapterMethods.section(peftType);
        if (section == null) {
            throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED, file + ": adapter type '" + quote(peftType)
                    + "' is not supported (supported: " + String.join(", ", AdapterMethods.peftTypes()) + ")");
        }
        return section.parse(in);
    }

    /** Refuses {@code target_modules: "all-linear"}, which PEFT expands only when it creates an adapter. */
    static void refuseAllLinear(Path file, Modules targets) {
        if (targets.isRegex() && targets.regex().equalsIgnoreCase("all-linear")) {
            throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED, file
                    + ": field 'target_modules' is 'all-linear'; PEFT expands it when training, save the expanded list");
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Prompt tuning (PEFT's PromptTuningConfig)

    /** {@code peft_type} of PEFT prompt tuning: k trainable virtual token embeddings prepended to the input. */
    public static final String PROMPT_TUNING = "PROMPT_TUNING";

    /** The prompt-tuning keys, kept in {@link #extras}. */
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
        return PROMPT_TUNING.equals(peftType());
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
        return new PeftConfig(PromptTuningSection.INSTANCE, taskType, baseModel, Modules.NONE, Modules.NONE, List.of(),
                List.of(), false, List.of(), extras);
    }

    static final String NUM_ATTENTION_HEADS = "num_attention_heads";
    static final String NUM_LAYERS = "num_layers";







    // ---------------------------------------------------------------------------------------------
    // Writing

    /** The config as PEFT writes it: every field its type knows, plus the extras this config was read with; keys sorted. */
    public ObjectNode toJson() {
        return sorted(section.write(this));
    }

    /** The keys every type writes: {@code peft_type}, {@code task_type}, {@code base_model_name_or_path}, {@code modules_to_save}. */
    static ObjectNode commonJson(PeftConfig c) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("peft_type", c.peftType());
        o.put("task_type", c.taskType());
        o.put("base_model_name_or_path", c.baseModelNameOrPath());
        o.set("modules_to_save", c.modulesToSave().isEmpty() ? JsonNodeFactory.instance.nullNode()
                : JSON.valueToTree(c.modulesToSave()));
        return o;
    }

    /** {@code layers_pattern} as PEFT writes it: null, one string, or a list. */
    static JsonNode layersPatternJson(List<String> layersPattern) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        return layersPattern.isEmpty() ? f.nullNode()
                : layersPattern.size() == 1 ? f.textNode(layersPattern.get(0)) : JSON.valueToTree(layersPattern);
    }

    /** {@code layers_to_transform}: null when empty. */
    static JsonNode layersToTransformJson(List<Integer> layers) {
        return layers.isEmpty() ? JsonNodeFactory.instance.nullNode() : JSON.valueToTree(layers);
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
    // IA3 and bottleneck adapters: their own fields live in extras (checked by their sections, read here).

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
        return new PeftConfig(Ia3Section.INSTANCE, taskType, null, targets, Modules.NONE, layersToTransform, List.of(), false,
                List.of(), extras);
    }

    /** A fresh bottleneck-adapter config. */
    public static PeftConfig bottleneck(int size, String placement, String activation, List<Integer> layersToTransform,
            String taskType) {
        Map<String, JsonNode> extras = new LinkedHashMap<>();
        extras.put("bottleneck_size", JsonNodeFactory.instance.numberNode(size));
        extras.put("placement", JsonNodeFactory.instance.textNode(placement));
        extras.put("activation", JsonNodeFactory.instance.textNode(activation));
        return new PeftConfig(BottleneckSection.INSTANCE, taskType, null, Modules.NONE, Modules.NONE, layersToTransform,
                List.of(), false, List.of(), extras);
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



}
