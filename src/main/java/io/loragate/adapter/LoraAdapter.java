package io.loragate.adapter;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import io.loragate.model.LinearShape;
import io.loragate.model.ModelFamily;
import io.loragate.common.LoragateException;
import io.loragate.common.ModelFormatException;
import io.loragate.model.safetensors.Dtype;
import io.loragate.model.safetensors.SafetensorsFile;
import io.loragate.model.safetensors.TensorInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A PEFT LoRA adapter resident on a device, validated against one base model. Loading checks
 * everything before it returns (every module exists in the base with the adapter's shapes, every
 * targeted module has weights, ranks agree with the config), so an adapter is either whole or not
 * loaded. The weights are held in the form {@link MultiLoraHook} multiplies with, {@code Aᵀ} and
 * {@code Bᵀ·scale}, contiguous; one manager owns them all and {@link #close()} frees them.
 *
 * <p>Immutable after loading; safe to share between threads and hooks while open.
 */
public final class LoraAdapter implements AutoCloseable {

    /** File name of the weights inside an adapter folder. */
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";

    /** Prefix of every key PEFT writes: the {@code PeftModel} wraps {@code LoraModel} wraps the base. */
    static final String PREFIX = "base_model.model.";

    private static final Pattern LORA_KEY = Pattern.compile("(.+)\\.lora_([AB])(?:\\.default)?\\.weight");
    private static final Pattern LORA_BIAS_KEY = Pattern.compile("(.+)\\.lora_B(?:\\.default)?\\.bias");

    /** LoRA of one linear layer: {@code delta = (x·Aᵀ)·(Bᵀ·scale)}. */
    static final class Lora {
        final String module;
        final int rank;
        final float scale;
        final long in;
        final long out;
        final NDArray aT;       // (in, r)
        final NDArray bTScaled; // (r, out)
        final NDArray b;        // (out, r) unscaled, kept only when Bᵀ·scale / scale does not give B back exactly; else null

        Lora(String module, int rank, float scale, long in, long out, NDArray aT, NDArray bTScaled, NDArray b) {
            this.module = module;
            this.rank = rank;
            this.scale = scale;
            this.in = in;
            this.out = out;
            this.aT = aT;
            this.bTScaled = bTScaled;
            this.b = b;
        }
    }

    /** A module the adapter replaces for its rows (PEFT's modules_to_save): {@code y = x·W'ᵀ + b'}. */
    static final class Replacement {
        final String module;
        final NDArray wT;          // (in, out)
        final NDArray bias;        // (out), or null when the base layer has none
        final boolean storedInOut; // the checkpoint stores the weight (in, out) (GPT-2 Conv1D)

        Replacement(String module, NDArray wT, NDArray bias, boolean storedInOut) {
            this.module = module;
            this.wT = wT;
            this.bias = bias;
            this.storedInOut = storedInOut;
        }
    }

    private final PeftConfig config;
    private final NDManager manager;
    private final Map<String, Lora> lora;
    private final Map<String, Replacement> replacements;
    private final List<AdapterPart> parts;
    private final long bytes;
    private final int rank;

    /**
     * @param parts the other methods' weights (IA3, bottleneck, prompt, DoRA), owned by {@code manager}
     * @param bytes bytes of every weight, parts included
     */
    LoraAdapter(PeftConfig config, NDManager manager, Map<String, Lora> lora, Map<String, Replacement> replacements,
            List<AdapterPart> parts, long bytes) {
        this.parts = List.copyOf(parts);
        this.config = config;
        this.manager = manager;
        this.lora = Collections.unmodifiableMap(lora);
        this.replacements = Collections.unmodifiableMap(replacements);
        this.bytes = bytes;
        this.rank = lora.values().stream().mapToInt(l -> l.rank).max().orElse(0);
    }

    /**
     * Loads a PEFT folder ({@code adapter_config.json} + {@code adapter_model.safetensors}) for a base.
     *
     * @param family          the base's family: its module map (where bottleneck adapters sit)
     * @param baseLinears     the base's linear layers by module path, shapes as the math sees them
     * @param baseParamShapes the base's parameters by checkpoint name, shapes as stored (for modules_to_save)
     * @param device          where the weights live (the base's device)
     * @throws ModelFormatException if the folder is not a valid adapter for this base
     * @throws LoragateException    {@code UNIMPLEMENTED} for LoRA variants we do not run
     */
    public static LoraAdapter load(Path folder, ModelFamily family, Map<String, LinearShape> baseLinears,
            Map<String, long[]> baseParamShapes, Device device) {
        return load(folder, family, baseLinears, baseParamShapes, device, null);
    }

    /** Loads a folder for a resident base, any method (DoRA reads the base's weights), onto the base's device. */
    public static LoraAdapter load(Path folder, io.loragate.model.BaseModel base) {
        return load(folder, base.config().family(), base.linears(), base.paramShapes(), base.device(), base::parameter);
    }

    /**
     * As {@link #load(Path, ModelFamily, Map, Map, Device)}, with the base's parameters by checkpoint
     * name (linear weights {@code (out, in)}, read-only, e.g. {@code BaseModel::parameter}), which
     * DoRA needs to precompute its scales; null refuses DoRA adapters.
     */
    public static LoraAdapter load(Path folder, ModelFamily family, Map<String, LinearShape> baseLinears,
            Map<String, long[]> baseParamShapes, Device device, java.util.function.Function<String, NDArray> baseParams) {
        Path weights = folder.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(weights)) {
            Path bin = folder.resolve("adapter_model.bin");
            if (Files.exists(bin)) {
                throw new ModelFormatException(bin, "pickle weights are never loaded; save the adapter with safetensors"
                        + " (PEFT's default, safe_serialization=True) as " + WEIGHTS_FILE);
            }
            throw new ModelFormatException(weights, "file not found");
        }
        PeftConfig config = PeftConfig.read(folder.resolve(PeftConfig.FILE_NAME));
        try (SafetensorsFile file = SafetensorsFile.open(weights)) {
            Layout layout = Layout.of(config, file, family, baseLinears, baseParamShapes);
            if (AdapterNumbers.enabled()) {
                checkNumbers(config, file, layout);
            }
            NDManager manager = NDManager.newBaseManager(device, "PyTorch");
            try {
                return read(config, file, layout, manager, baseParams);
            } catch (RuntimeException e) {
                manager.close();
                throw e;
            }
        }
    }

    /**
     * Every stored float finite and within {@link AdapterNumbers#MAX_ABS_KEY}, and so are the
     * config's alphas and each LoRA module's scale (see {@link AdapterNumbers}).
     */
    private static void checkNumbers(PeftConfig config, SafetensorsFile file, Layout layout) {
        double max = AdapterNumbers.maxAbs();
        Path path = file.path();
        Path cfg = path.resolveSibling(PeftConfig.FILE_NAME);
        if (!layout.loraModules().isEmpty()) {
            LoraSection lora = config.lora();
            AdapterNumbers.checkScalar(cfg, "lora_alpha", lora.loraAlpha(), max);
            for (Map.Entry<String, Double> e : lora.alphaPattern().entrySet()) {
                AdapterNumbers.checkScalar(cfg, "alpha_pattern['" + e.getKey() + "']", e.getValue(), max);
            }
            for (String module : layout.loraModules().keySet()) {
                AdapterNumbers.checkScalar(cfg, "the scale of module '" + module + "' (" + (lora.useRslora()
                        ? "lora_alpha/sqrt(r)" : "lora_alpha/r") + ")", lora.scale(module), max);
            }
        }
        for (TensorInfo t : file.tensors().values()) {
            if (t.dtype() == Dtype.F32 || t.dtype() == Dtype.F16 || t.dtype() == Dtype.BF16) {
                AdapterNumbers.checkTensor(path, t.name(), file.readFloats(t.name()), max);
            }
        }
    }

    /**
     * What the file holds, checked against the config and the base before any tensor is read.
     *
     * @param partMethod the method whose own tensors the file holds besides LoRA and saved modules, or null
     * @param parts      those tensors, checked by the method
     */
    private record Layout(Map<String, LinearShape> loraModules, Map<String, TensorInfo[]> loraTensors,
            Map<String, LinearShape> replaced, Map<String, TensorInfo[]> replacedTensors, Map<String, Boolean> storedInOut,
            AdapterMethod partMethod, Map<String, TensorInfo> parts) {

        static Layout of(PeftConfig config, SafetensorsFile file, ModelFamily family, Map<String, LinearShape> baseLinears,
                Map<String, long[]> baseParamShapes) {
            Path path = file.path();
            AdapterMethod part = AdapterMethods.withPart(config);
            boolean isLora = config.peftType().equals(PeftConfig.LORA);
            SortedTensors sorted = sortTensors(config, file, part, isLora);

            Map<String, LinearShape> loraModules = loraModules(config, path, sorted.pairs(), baseLinears, isLora);
            boolean savesOnly = config.targetModules().isEmpty() && !config.modulesToSave().isEmpty(); // no LoRA at all

            // modules_to_save: whole linear layers the adapter replaces.
            SavedModules saved = savedModules(config, path, sorted.saved(), baseLinears, baseParamShapes);
            requireEverySavedModule(config, path, sorted.saved(), baseParamShapes);
            requireReplacementWeights(path, saved.tensors());
            if (savesOnly && loraModules.isEmpty() && saved.replaced().isEmpty()) {
                throw new ModelFormatException(path, "holds neither LoRA weights nor any module of modules_to_save "
                        + config.modulesToSave() + "; the adapter would change nothing");
            }
            Map<String, TensorInfo[]> loraTensors = new LinkedHashMap<>();
            loraModules.keySet().forEach(m -> loraTensors.put(m, sorted.pairs().get(m)));
            Map<String, TensorInfo> parts = part == null ? Map.of()
                    : part.checkPart(config, file, sorted.claimed(), family, baseLinears, baseParamShapes,
                            loraModules.keySet());
            return new Layout(loraModules, loraTensors, saved.replaced(), saved.tensors(), saved.storedInOut(), part, parts);
        }

        /**
         * The file's tensors by role, before any is checked against the base.
         *
         * @param pairs   module → {A, B}
         * @param saved   base param name → tensor (modules_to_save)
         * @param claimed the part's weights (IA3, DoRA, bottleneck, prompt)
         */
        private record SortedTensors(Map<String, TensorInfo[]> pairs, Map<String, TensorInfo> saved,
                Map<String, TensorInfo> claimed) {
        }

        /** Sorts every tensor by its key; refuses keys that are no PEFT key or a LoRA variant we do not run. */
        private static SortedTensors sortTensors(PeftConfig config, SafetensorsFile file, AdapterMethod part, boolean isLora) {
            Path path = file.path();
            SortedTensors sorted = new SortedTensors(new TreeMap<>(), new TreeMap<>(), new TreeMap<>());
            boolean prompt = config.isPromptTuning();           // prompt learning: no LoRA, saved modules under base_model.
            String prefix = prompt ? PromptPart.SAVED_PREFIX : PREFIX;
            for (TensorInfo t : file.tensors().values()) {
                String key = t.name();
                if (part != null && part.claims(config, key)) {
                    sorted.claimed().put(key, t);
                    continue;
                }
                if (!key.startsWith(prefix)) {
                    throw new ModelFormatException(path, "tensor '" + key + "' is not a PEFT adapter key (expected '"
                            + (prompt ? PromptPart.KEY + "' or '" + prefix + "<module to save>.weight')"
                            : PREFIX + "<module>.lora_A.weight')"));
                }
                String rest = key.substring(prefix.length());
                Matcher m = LORA_KEY.matcher(rest);
                if (m.matches() && !isLora) {
                    throw new ModelFormatException(path, "tensor '" + key + "' is a LoRA weight but adapter_config.json's"
                            + " peft_type is " + config.peftType());
                }
                if (m.matches()) {
                    addToPair(path, sorted.pairs(), m, t);
                } else {
                    refuseUnknownLoraKey(path, key, rest);
                    sorted.saved().put(rest.replace(".modules_to_save.default.", "."), t);
                }
            }
            return sorted;
        }

        /** Puts a {@code lora_A}/{@code lora_B} weight into its module's pair; a second one of a kind is refused. */
        private static void addToPair(Path path, Map<String, TensorInfo[]> pairs, Matcher m, TensorInfo t) {
            TensorInfo[] pair = pairs.computeIfAbsent(m.group(1), k -> new TensorInfo[2]);
            int i = m.group(2).equals("A") ? 0 : 1;
            if (pair[i] != null) {
                throw new ModelFormatException(path, "module '" + m.group(1) + "' has two lora_" + m.group(2)
                        + " tensors ('" + pair[i].name() + "' and '" + t.name() + "')");
            }
            pair[i] = t;
        }

        /** Refuses a key that is LoRA-like but no LoRA weight; anything else is a module to save. */
        private static void refuseUnknownLoraKey(Path path, String key, String rest) {
            if (LORA_BIAS_KEY.matcher(rest).matches()) {
                throw unimplemented(path, "tensor '" + key + "' is a LoRA bias (lora_bias=True), which is not supported");
            } else if (rest.contains("lora_embedding_")) {
                throw unimplemented(path, "tensor '" + key + "' is LoRA on an embedding layer, which is not supported");
            } else if (rest.contains("lora_magnitude_vector")) {
                throw new ModelFormatException(path, "tensor '" + key + "' is a DoRA magnitude but adapter_config.json"
                        + " does not set use_dora");
            } else if (rest.contains(".lora_")) {
                throw new ModelFormatException(path, "tensor '" + key + "' is not a LoRA weight we know");
            }
        }

        /**
         * The linear layers that modules_to_save replaces.
         *
         * @param replaced    module → the base layer's shape
         * @param tensors     module → {weight, bias (or null)}
         * @param storedInOut module → whether the weight is stored (in, out)
         */
        private record SavedModules(Map<String, LinearShape> replaced, Map<String, TensorInfo[]> tensors,
                Map<String, Boolean> storedInOut) {
        }

        /** The saved tensors checked against modules_to_save and the base, grouped by the linear layer they replace. */
        private static SavedModules savedModules(PeftConfig config, Path path, Map<String, TensorInfo> saved,
                Map<String, LinearShape> baseLinears, Map<String, long[]> baseParamShapes) {
            SavedModules modules = new SavedModules(new LinkedHashMap<>(), new LinkedHashMap<>(), new LinkedHashMap<>());
            for (Map.Entry<String, TensorInfo> e : saved.entrySet()) {
                addSavedParam(config, path, e.getKey(), e.getValue(), saved, baseLinears, baseParamShapes, modules);
            }
            return modules;
        }

        /** Checks one saved parameter (a linear layer's weight or bias, of the base's shape) and adds it to its layer. */
        private static void addSavedParam(PeftConfig config, Path path, String param, TensorInfo t,
                Map<String, TensorInfo> saved, Map<String, LinearShape> baseLinears, Map<String, long[]> baseParamShapes,
                SavedModules modules) {
            long[] baseShape = baseParamShapes.get(param);
            if (!savedBy(config, param)) {
                throw new ModelFormatException(path, "tensor '" + t.name() + "' is neither a LoRA weight nor a"
                        + " parameter of adapter_config.json's modules_to_save " + config.modulesToSave());
            }
            LinearShape head = baseShape == null ? classifierHead(param, saved, baseLinears) : null;
            if (head != null) {
                baseShape = param.endsWith(".weight") ? new long[] {head.out(), head.in()} : new long[] {head.out()};
            }
            if (baseShape == null) {
                throw new ModelFormatException(path, "module to save '" + param + "' does not exist in the base model");
            }
            checkFloat(path, t);
            if (!Arrays.equals(baseShape, t.shape())) {
                throw new ModelFormatException(path, "module to save '" + param + "' has shape "
                        + Arrays.toString(t.shape()) + " but the base has " + Arrays.toString(baseShape)
                        + "; the adapter was made for another base model");
            }
            int dot = param.lastIndexOf('.');
            String module = dot < 0 ? "" : param.substring(0, dot);
            String leaf = param.substring(dot + 1);
            LinearShape linear = head != null ? head : baseLinears.get(module);
            if (linear == null || !(leaf.equals("weight") || leaf.equals("bias"))) {
                throw unimplemented(path, "modules_to_save '" + param + "' is not a parameter of a linear layer;"
                        + " only linear layers can be replaced");
            }
            TensorInfo[] wb = modules.tensors().computeIfAbsent(module, k -> new TensorInfo[2]);
            wb[leaf.equals("weight") ? 0 : 1] = t;
            modules.replaced().put(module, linear);
            if (leaf.equals("weight")) {
                modules.storedInOut().put(module, weightStoredInOut(config, path, param, t, linear));
            } else if (t.shape().length != 1 || t.shape()[0] != linear.out()) {
                throw new ModelFormatException(path, "module to save '" + param + "' has shape "
                        + Arrays.toString(t.shape()) + " but the layer has out=" + linear.out());
            }
        }

        /** Whether a replaced layer's weight is stored (in, out) (GPT-2 Conv1D) rather than (out, in). */
        private static boolean weightStoredInOut(PeftConfig config, Path path, String param, TensorInfo t, LinearShape linear) {
            long[] s = t.shape();
            boolean outIn = s.length == 2 && s[0] == linear.out() && s[1] == linear.in();
            boolean inOut = s.length == 2 && s[0] == linear.in() && s[1] == linear.out();
            if (!outIn && !inOut) {
                throw new ModelFormatException(path, "module to save '" + param + "' has shape "
                        + Arrays.toString(s) + " but the layer is (in=" + linear.in() + ", out=" + linear.out() + ")");
            }
            // A square Conv1D looks like a Linear; fan_in_fan_out is how PEFT itself tells them apart.
            return inOut && (!outIn || config.fanInFanOut());
        }

        /** Every base parameter that modules_to_save names must be in the file. */
        private static void requireEverySavedModule(PeftConfig config, Path path, Map<String, TensorInfo> saved,
                Map<String, long[]> baseParamShapes) {
            for (String param : baseParamShapes.keySet()) {
                if (savedBy(config, param) && !saved.containsKey(param)) {
                    throw new ModelFormatException(path, "adapter_config.json saves the module of '" + param
                            + "' (modules_to_save " + config.modulesToSave() + ") but the file lacks it");
                }
            }
        }

        /** A replaced layer needs its weight; a bias alone is refused. */
        private static void requireReplacementWeights(Path path, Map<String, TensorInfo[]> replacedTensors) {
            for (Map.Entry<String, TensorInfo[]> e : replacedTensors.entrySet()) {
                if (e.getValue()[0] == null) {
                    throw new ModelFormatException(path, "module to save '" + e.getKey() + "' has a bias but no weight");
                }
            }
        }

        /** The LoRA pairs checked against the config and the base: every targeted module has one, of its rank and shape. */
        private static Map<String, LinearShape> loraModules(PeftConfig config, Path path, Map<String, TensorInfo[]> pairs,
                Map<String, LinearShape> baseLinears, boolean isLora) {
            Map<String, LinearShape> loraModules = new LinkedHashMap<>();
            for (Map.Entry<String, TensorInfo[]> e : pairs.entrySet()) {
                String module = e.getKey();
                loraModules.put(module, checkLoraPair(config, path, module, e.getValue()[0], e.getValue()[1], baseLinears));
            }
            requireEveryTargetedModule(config, path, pairs, baseLinears, isLora);
            return loraModules;
        }

        /** One module's A and B checked against the config and the base layer; answers the base layer's shape. */
        private static LinearShape checkLoraPair(PeftConfig config, Path path, String module, TensorInfo a, TensorInfo b,
                Map<String, LinearShape> baseLinears) {
            LinearShape base = baseLinears.get(module);
            if (base == null) {
                throw new ModelFormatException(path, "target module '" + module + "' does not exist in the base model");
            }
            if (!config.targets(module)) {
                throw new ModelFormatException(path, "has LoRA weights for '" + module
                        + "', which adapter_config.json's target_modules does not select");
            }
            if (a == null || b == null) {
                throw new ModelFormatException(path, "module '" + module + "' has lora_" + (a == null ? "B" : "A")
                        + " but no lora_" + (a == null ? "A" : "B"));
            }
            checkFloat(path, a);
            checkFloat(path, b);
            long[] as = a.shape();
            long[] bs = b.shape();
            if (as.length != 2 || bs.length != 2) {
                throw new ModelFormatException(path, "module '" + module + "': lora_A " + Arrays.toString(as)
                        + " and lora_B " + Arrays.toString(bs) + " must be matrices");
            }
            if (as[1] != base.in() || bs[0] != base.out()) {
                throw new ModelFormatException(path, "module '" + module + "': the adapter has (in=" + as[1]
                        + ", out=" + bs[0] + ") but the base layer is (in=" + base.in() + ", out=" + base.out()
                        + "); the adapter was made for another base model");
            }
            if (as[0] != bs[1]) {
                throw new ModelFormatException(path, "module '" + module + "': lora_A has rank " + as[0]
                        + " but lora_B has rank " + bs[1]);
            }
            int expected = config.lora().rankFor(module);
            if (as[0] != expected) {
                throw new ModelFormatException(path, "module '" + module + "' has rank " + as[0]
                        + " but adapter_config.json gives it r=" + expected);
            }
            return base;
        }

        /** Every base linear layer that target_modules selects has a pair, and a LoRA adapter selects at least one. */
        private static void requireEveryTargetedModule(PeftConfig config, Path path, Map<String, TensorInfo[]> pairs,
                Map<String, LinearShape> baseLinears, boolean isLora) {
            int targeted = 0;
            for (String module : isLora ? baseLinears.keySet() : Set.<String>of()) {
                if (config.targets(module)) {
                    targeted++;
                    if (!pairs.containsKey(module)) {
                        throw new ModelFormatException(path, "adapter_config.json targets '" + module
                                + "' but the file has no LoRA weights for it");
                    }
                }
            }
            boolean savesOnly = config.targetModules().isEmpty() && !config.modulesToSave().isEmpty(); // no LoRA at all
            if (targeted == 0 && isLora && !savesOnly) {
                throw new ModelFormatException(path.resolveSibling(PeftConfig.FILE_NAME), "target_modules "
                        + (config.targetModules().isRegex() ? config.targetModules().regex() : config.targetModules().names())
                        + " selects no linear layer of the base model");
            }
        }

        /** Whether a base parameter lies in a module that modules_to_save names (PEFT: {@code key.endswith(name)}). */
        private static boolean savedBy(PeftConfig config, String param) {
            if (config.modulesToSave().isEmpty()) {
                return false;
            }
            for (int dot = param.lastIndexOf('.'); dot > 0; dot = param.lastIndexOf('.', dot - 1)) {
                if (config.savesModule(param.substring(0, dot))) {
                    return true;
                }
            }
            return false;
        }

        private static void checkFloat(Path path, TensorInfo t) {
            if (t.dtype() != Dtype.F32 && t.dtype() != Dtype.F16 && t.dtype() != Dtype.BF16) {
                throw new ModelFormatException(path, "tensor '" + t.name() + "' is " + t.dtype()
                        + "; adapter weights must be F32, F16 or BF16");
            }
        }
    }

    private static LoragateException unimplemented(Path path, String problem) {
        return new LoragateException(LoragateException.Kind.UNIMPLEMENTED, path + ": " + problem);
    }

    private static LoraAdapter read(PeftConfig config, SafetensorsFile file, Layout layout, NDManager manager,
            java.util.function.Function<String, NDArray> baseParams) {
        long bytes = 0;
        Map<String, Lora> lora = new LinkedHashMap<>();
        for (Map.Entry<String, LinearShape> e : layout.loraModules().entrySet()) {
            String module = e.getKey();
            int in = Math.toIntExact(e.getValue().in());
            int out = Math.toIntExact(e.getValue().out());
            TensorInfo[] pair = layout.loraTensors().get(module);
            int r = Math.toIntExact(pair[0].shape()[0]);
            float scale = (float) config.lora().scale(module);
            float[] a = file.readFloats(pair[0].name()); // (r, in)
            float[] b = file.readFloats(pair[1].name()); // (out, r)
            float[] aT = transpose(a, r, in);            // (in, r)
            float[] bT = transpose(b, out, r);           // (r, out)
            boolean invertible = true;
            for (int i = 0; i < bT.length; i++) {
                float original = bT[i];
                bT[i] = original * scale;
                invertible &= Float.floatToRawIntBits(bT[i] / scale) == Float.floatToRawIntBits(original);
            }
            if (AdapterNumbers.enabled()) {
                AdapterNumbers.checkDerived(file.path(), "module '" + module + "': lora_B times its scale " + scale, bT);
            }
            NDArray aArray = manager.create(aT, new Shape(in, r));
            NDArray bArray = manager.create(bT, new Shape(r, out));
            NDArray bOriginal = invertible ? null : manager.create(b, new Shape(out, r));
            bytes += 4L * (aT.length + bT.length + (invertible ? 0 : b.length));
            lora.put(module, new Lora(module, r, scale, in, out, aArray, bArray, bOriginal));
        }
        Map<String, Replacement> replacements = new LinkedHashMap<>();
        for (Map.Entry<String, LinearShape> e : layout.replaced().entrySet()) {
            String module = e.getKey();
            int in = Math.toIntExact(e.getValue().in());
            int out = Math.toIntExact(e.getValue().out());
            TensorInfo[] wb = layout.replacedTensors().get(module);
            boolean inOut = layout.storedInOut().get(module);
            float[] w = file.readFloats(wb[0].name());
            float[] wT = inOut ? w : transpose(w, out, in); // (in, out)
            NDArray wArray = manager.create(wT, new Shape(in, out));
            NDArray bias = null;
            if (wb[1] != null) {
                float[] bv = file.readFloats(wb[1].name());
                bias = manager.create(bv, new Shape(out));
                bytes += 4L * bv.length;
            }
            bytes += 4L * wT.length;
            replacements.put(module, new Replacement(module, wArray, bias, inOut));
        }
        Map<String, PartFormats.LoraView> views = new LinkedHashMap<>();
        lora.forEach((m, l) -> views.put(m, new PartFormats.LoraView(l.aT, l.bTScaled)));
        long[] partBytes = {0};
        List<AdapterPart> parts = layout.parts().isEmpty() ? List.of()
                : List.of(layout.partMethod().readPart(config, file, layout.parts(), views, baseParams, manager, partBytes));
        return new LoraAdapter(config, manager, lora, replacements, parts, bytes + partBytes[0]);
    }

    /** Row-major {@code (rows, cols)} to {@code (cols, rows)}. */
    static float[] transpose(float[] m, int rows, int cols) {
        float[] t = new float[m.length];
        for (int i = 0; i < rows; i++) {
            int base = i * cols;
            for (int j = 0; j < cols; j++) {
                t[j * rows + i] = m[base + j];
            }
        }
        return t;
    }

    public PeftConfig config() {
        return config;
    }

    /** Modules that get a LoRA delta. */
    public Set<String> loraModules() {
        return lora.keySet();
    }

    /** Modules that the adapter replaces wholesale (modules_to_save that are linear layers of the base). */
    public Set<String> replacedModules() {
        return replacements.keySet();
    }

    /** The largest rank over the adapter's modules (the config's {@code r} unless rank_pattern raises it). */
    public int rank() {
        return rank;
    }

    /** Device bytes this adapter holds (for a byte-weighted cache). */
    /** The weights of methods other than LoRA and saved modules (IA3, bottleneck, prompt, DoRA); empty for plain LoRA. */
    public List<AdapterPart> parts() {
        return parts;
    }

    /** Virtual tokens the engine must put before every prompt of this adapter's rows (prompt tuning); usually 0. */
    public int virtualTokens() {
        int n = 0;
        for (AdapterPart p : parts) {
            n = Math.max(n, p.virtualTokens());
        }
        return n;
    }

    public long bytes() {
        return bytes;
    }

    /** The device the weights live on. */
    public Device device() {
        return manager.getDevice();
    }

    /** The LoRA of a module, or null when the adapter does not target it. */
    Lora lora(String module) {
        return lora.get(module);
    }

    /**
     * A sequence-classification head that the base lacks, saved through modules_to_save:
     * <ul>
     * <li>on a decoder (a base with an {@code lm_head}), {@code LlamaForSequenceClassification}'s
     *     {@code score} layer ({@code (labels, hidden)}, no bias), applied to each sequence's last
     *     hidden state;</li>
     * <li>on a BERT encoder without a classifier (a sentence-embedding {@code BertModel}), a
     *     {@code classifier} layer ({@code (labels, hidden)}, with bias), applied to the mean-pooled
     *     last hidden state.</li>
     * </ul>
     * Accepted when its input is the base's hidden size (the decoder's {@code lm_head} input, the
     * encoder's attention {@code query} input).
     */
    static LinearShape classifierHead(String param, Map<String, TensorInfo> saved, Map<String, LinearShape> baseLinears) {
        String module = param.endsWith(".weight") || param.endsWith(".bias") ? param.substring(0, param.lastIndexOf('.')) : null;
        Long hidden = null;
        if (SEQUENCE_HEAD.equals(module) && baseLinears.containsKey("lm_head")) {
            hidden = baseLinears.get("lm_head").in();
        } else if (ENCODER_HEAD.equals(module) && !baseLinears.containsKey(ENCODER_HEAD)) {
            hidden = baseLinears.values().stream().filter(l -> l.module().endsWith("attention.self.query"))
                    .map(LinearShape::in).findFirst().orElse(null);
        }
        TensorInfo weight = module == null ? null : saved.get(module + ".weight");
        if (hidden == null || weight == null) {
            return null;
        }
        long[] s = weight.shape();
        if (s.length != 2 || s[1] != hidden || s[0] < 1) {
            return null;
        }
        return new LinearShape(module, hidden, s[0]);
    }

    /** The module name of a decoder's sequence-classification head (PEFT / transformers: {@code score}). */
    public static final String SEQUENCE_HEAD = "score";

    /** The module name of an encoder's classification head ({@code BertForSequenceClassification.classifier}). */
    public static final String ENCODER_HEAD = "classifier";

    /** Labels of this adapter's sequence-classification head on a decoder base, or 0 when it has none. */
    public int sequenceHeadLabels() {
        return headLabels(SEQUENCE_HEAD);
    }

    /** Outputs of the layer the adapter saves as {@code module} (a classification head), or 0 when it saves none. */
    public int headLabels(String module) {
        Replacement r = replacements.get(module);
        return r == null ? 0 : (int) r.wT.getShape().get(1);
    }

    /**
     * The label names of the adapter's classification head, from {@code adapter_config.json}'s
     * {@code loragate_labels} (written by our trainer; PEFT ignores it), or an empty list when the
     * config has none or they do not fit the head's {@code labels} outputs.
     */
    public List<String> labels(int labels) {
        JsonNode names = config.extras().get(TrainableLora.LABELS_KEY);
        if (names == null || !names.isArray() || names.size() != labels) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (JsonNode n : names) {
            if (!n.isTextual()) {
                return List.of();
            }
            out.add(n.textValue());
        }
        return out;
    }

    /**
     * How the classifier was trained to read long inputs, from {@code adapter_config.json}'s
     * {@value io.loragate.model.InputPooling#CONFIG_KEY} (written by our trainer), or null when the
     * config names none or a pooling this server does not know.
     */
    public io.loragate.model.InputPooling pooling() {
        JsonNode p = config.extras().get(io.loragate.model.InputPooling.CONFIG_KEY);
        if (p == null || !p.isTextual()) {
            return null;
        }
        for (io.loragate.model.InputPooling v : io.loragate.model.InputPooling.values()) {
            if (v.wireName().equals(p.textValue())) {
                return v;
            }
        }
        return null;
    }

    /** The replacement of a module, or null. */
    Replacement replacement(String module) {
        return replacements.get(module);
    }

    boolean isOpen() {
        return manager.isOpen();
    }

    /** The manager that owns the weights (tests check that forwards attach nothing to it). */
    NDManager manager() {
        return manager;
    }

    /**
     * Writes the adapter back as a PEFT folder: the same config, and the original (unscaled) A and B
     * and module parameters, bit for bit.
     */
    public void save(Path folder) {
        LoraWriter w = new LoraWriter(config);
        for (Lora l : lora.values()) {
            int in = Math.toIntExact(l.in);
            int out = Math.toIntExact(l.out);
            float[] a = transpose(l.aT.toFloatArray(), in, l.rank); // (r, in)
            float[] b;
            if (l.b != null) {
                b = l.b.toFloatArray();
            } else {
                float[] bT = l.bTScaled.toFloatArray(); // (r, out)
                for (int i = 0; i < bT.length; i++) {
                    bT[i] = bT[i] / l.scale;
                }
                b = transpose(bT, l.rank, out); // (out, r)
            }
            w.lora(l.module, new long[] {l.rank, in}, a, new long[] {out, l.rank}, b);
        }
        for (Replacement r : replacements.values()) {
            long in = r.wT.getShape().get(0);
            long out = r.wT.getShape().get(1);
            float[] wT = r.wT.toFloatArray();
            if (r.storedInOut) {
                w.moduleToSave(r.module + ".weight", new long[] {in, out}, wT);
            } else {
                w.moduleToSave(r.module + ".weight", new long[] {out, in}, transpose(wT, (int) in, (int) out));
            }
            if (r.bias != null) {
                w.moduleToSave(r.module + ".bias", new long[] {out}, r.bias.toFloatArray());
            }
        }
        for (AdapterPart p : parts) {
            p.tensors().forEach(w::tensor);
        }
        w.write(folder);
    }

    /** Frees the device weights. Hooks must no longer run with this adapter. */
    @Override
    public void close() {
        manager.close();
    }

    @Override
    public String toString() {
        return "LoraAdapter[r=" + rank + ", modules=" + lora.size() + ", replaced=" + replacements.keySet() + ", bytes="
                + bytes + "]";
    }
}
