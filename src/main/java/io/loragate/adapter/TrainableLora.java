package io.loragate.adapter;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.loragate.model.AdapterHook;
import io.loragate.model.Architecture;
import io.loragate.model.BaseModel;
import io.loragate.model.LinearShape;
import io.loragate.common.LoragateException;
import io.loragate.model.ModelFamilies;
import io.loragate.model.ModelFamily;
import io.loragate.model.Scalars;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * A LoRA adapter being trained: per targeted module, {@code A (r, in)} and {@code B (out, r)} in
 * PEFT's own layout as leaf arrays that require gradients, owned by one manager of their own (never
 * the base's). As an {@link AdapterHook} it adds {@code scale · (dropout(x)·Aᵀ)·Bᵀ} to every row's
 * output of a targeted linear layer, which is PEFT's {@code lora_B(lora_A(dropout(x))) * scaling}.
 *
 * <p>Dropout is active only between {@link #train(long)} and {@link #eval()}; its masks come from a
 * Java generator seeded per forward, so a run is reproducible (and resumable) from the seed and the
 * forward's index alone, independent of any global RNG.
 *
 * <p>Not thread-safe: one trainer owns it.
 */
public final class TrainableLora implements AdapterHook, AutoCloseable {

    /** One module's trainable pair. */
    public static final class Module {
        private final String name;
        private final int rank;
        private final float scale;
        private final NDArray a; // (r, in)
        private final NDArray b; // (out, r)

        Module(String name, int rank, float scale, NDArray a, NDArray b) {
            this.name = name;
            this.rank = rank;
            this.scale = scale;
            this.a = a;
            this.b = b;
        }

        public String name() {
            return name;
        }

        public int rank() {
            return rank;
        }

        public float scale() {
            return scale;
        }

        /** {@code lora_A}, {@code (r, in)}; a leaf that requires gradients. */
        public NDArray a() {
            return a;
        }

        /** {@code lora_B}, {@code (out, r)}; a leaf that requires gradients. */
        public NDArray b() {
            return b;
        }
    }

    /**
     * A classification head trained with the LoRA and saved like PEFT's {@code modules_to_save}: a
     * whole linear layer {@code y = x·Wᵀ + b} that replaces the base's module of the same name (or
     * supplies one the base lacks).
     */
    public static final class Head {
        private final String module;
        private final List<String> labels;
        private final NDArray weight; // (labels, in)
        private final NDArray bias;   // (labels), or null

        Head(String module, List<String> labels, NDArray weight, NDArray bias) {
            this.module = module;
            this.labels = List.copyOf(labels);
            this.weight = weight;
            this.bias = bias;
        }

        public String module() {
            return module;
        }

        /** Label names, in output order. */
        public List<String> labels() {
            return labels;
        }

        /** {@code (labels, in)}; a leaf that requires gradients. */
        public NDArray weight() {
            return weight;
        }

        /** {@code (labels)}, or null for a head without bias; a leaf that requires gradients. */
        public NDArray bias() {
            return bias;
        }
    }

    /**
     * How to make a head: {@code weight} {@code (labels, in)} and {@code bias} {@code (labels)} give
     * its initial values (e.g. the base's own classifier); null draws them like PyTorch's
     * {@code nn.Linear} default ({@code U(-1/√in, 1/√in)} for both), from the adapter's seed.
     *
     * @param hasBias whether the head has a bias ({@code classifier}: yes; a decoder's {@code score}: no)
     */
    public record HeadSpec(String module, int in, List<String> labels, boolean hasBias, float[] weight, float[] bias) {

        public HeadSpec {
            Objects.requireNonNull(module, "module");
            labels = List.copyOf(labels);
            if (labels.size() < 2 || in < 1) {
                throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "a classification head needs at least"
                        + " 2 labels and an input size, got " + labels + " and in=" + in).withParam("labels");
            }
            if (weight != null && weight.length != (long) labels.size() * in) {
                throw new IllegalArgumentException("head weight of " + weight.length + " values is not (" + labels.size() + ", " + in + ")");
            }
            if (bias != null && (!hasBias || bias.length != labels.size())) {
                throw new IllegalArgumentException("head bias does not fit " + labels.size() + " labels");
            }
        }
    }

    /**
     * A whole linear layer of the base trained in full and saved like PEFT's {@code modules_to_save}
     * (partial fine-tuning): {@code y = x·Wᵀ + b} replaces the base module's output, with {@code W}
     * and {@code b} starting as copies of the base's own values (so an untrained copy is the base).
     */
    public static final class Saved {
        private final String module;
        private final NDArray weight;      // (out, in)
        private final NDArray bias;        // (out), or null when the base layer has none
        private final boolean storedInOut; // the base checkpoint stores the weight (in, out) (GPT-2 Conv1D)

        Saved(String module, NDArray weight, NDArray bias, boolean storedInOut) {
            this.module = module;
            this.weight = weight;
            this.bias = bias;
            this.storedInOut = storedInOut;
        }

        public String module() {
            return module;
        }

        /** {@code (out, in)} as the math sees it; a leaf that requires gradients. */
        public NDArray weight() {
            return weight;
        }

        /** {@code (out)}, or null when the base layer has no bias; a leaf that requires gradients. */
        public NDArray bias() {
            return bias;
        }

        /** Whether the saved file holds the weight {@code (in, out)}, as the base checkpoint does (GPT-2 Conv1D). */
        public boolean storedInOut() {
            return storedInOut;
        }
    }

    /** The {@code adapter_config.json} key (ignored by PEFT) that holds a head's label names, in output order. */
    public static final String LABELS_KEY = "loragate_labels";

    private volatile PeftConfig config;
    private final NDManager manager;
    private final Map<String, Module> modules;
    private final Head head; // null: LoRA only
    private final Map<String, Saved> saved; // modules_to_save trained in full (partial fine-tuning), by module
    private final List<AdapterPart> parts; // other methods' trainable weights (IA3, bottleneck, prompt, DoRA)
    private final double dropout;
    private SplittableRandom dropoutRng; // null: eval mode

    private TrainableLora(PeftConfig config, NDManager manager, Map<String, Module> modules, Head head) {
        this(config, manager, modules, head, List.of());
    }

    /**
     * @param parts trainable parts whose {@link AdapterPart#tensors()} are leaves owned by
     *              {@code manager}; gradients are switched on here
     */
    TrainableLora(PeftConfig config, NDManager manager, Map<String, Module> modules, Head head, List<AdapterPart> parts) {
        this(config, manager, modules, head, parts, Map.of());
    }

    /**
     * @param saved linear layers trained in full (modules_to_save), leaves owned by {@code manager};
     *              gradients are switched on here
     */
    TrainableLora(PeftConfig config, NDManager manager, Map<String, Module> modules, Head head, List<AdapterPart> parts,
            Map<String, Saved> saved) {
        this.saved = Collections.unmodifiableMap(new LinkedHashMap<>(saved));
        for (Saved s : this.saved.values()) {
            s.weight.setRequiresGradient(true);
            if (s.bias != null) {
                s.bias.setRequiresGradient(true);
            }
        }
        this.parts = List.copyOf(parts);
        for (AdapterPart p : this.parts) {
            p.tensors().values().forEach(t -> t.setRequiresGradient(true));
        }
        this.config = config;
        this.manager = manager;
        this.modules = Collections.unmodifiableMap(modules);
        this.head = head;
        if (head != null) {
            head.weight.setRequiresGradient(true);
            if (head.bias != null) {
                head.bias.setRequiresGradient(true);
            }
        }
        this.dropout = config.isLora() ? config.lora().loraDropout() : 0.0;
        if (dropout < 0 || dropout >= 1) {
            throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT,
                    "lora_dropout " + dropout + " is outside [0, 1)").withParam("lora_dropout");
        }
        for (Module m : modules.values()) {
            m.a.setRequiresGradient(true);
            m.b.setRequiresGradient(true);
        }
    }

    /** The modules LoRA adapts by default: the attention projections of the forward's first family (Llama for LLAMA). */
    public static List<String> defaultTargets(Architecture architecture) {
        return defaultTargets(ModelFamilies.reference(architecture));
    }

    /** The modules LoRA adapts by default: the family's attention projections. */
    public static List<String> defaultTargets(ModelFamily family) {
        return family.loraTargets();
    }

    /**
     * A fresh adapter initialised like PEFT's default ({@code init_lora_weights=True}): {@code A} by
     * Kaiming-uniform with {@code a=√5}, i.e. {@code U(-1/√in, 1/√in)}, and {@code B = 0}, so that the
     * adapter starts as the identity. The draws depend only on {@code seed} and the module order.
     */
    public static TrainableLora create(BaseModel base, PeftConfig config, long seed) {
        return create(base, config, seed, null);
    }

    /**
     * A fresh adapter as {@link #create(BaseModel, PeftConfig, long)} plus, when {@code headSpec} is
     * given, a trainable classification head: the config then gains {@code modules_to_save: [module]}
     * and the label names under {@value #LABELS_KEY}. A fresh head's draws follow the LoRA's from the
     * same seeded generator.
     *
     * <p>Linear layers of the base that the config's {@code modules_to_save} selects (PEFT's
     * {@code key.endswith(name)} on the module or a module above it) are trained in full
     * ({@link Saved}), starting from the base's values; a module to save that is not a linear layer
     * (e.g. a layer norm) is refused. {@code target_modules} may be empty (no LoRA pairs: a linear
     * probe or partial fine-tuning) exactly when something is saved.
     */
    public static TrainableLora create(BaseModel base, PeftConfig config, long seed, HeadSpec headSpec) {
        Objects.requireNonNull(config, "config");
        NDManager manager = NDManager.newBaseManager(base.device(), "PyTorch");
        try {
            SplittableRandom rng = new SplittableRandom(seed);
            Map<String, Module> modules = new LinkedHashMap<>();
            for (LinearShape l : base.linears().values()) {
                if (!config.targets(l.module())) {
                    continue;
                }
                int r = config.lora().rankFor(l.module());
                int in = Math.toIntExact(l.in());
                int out = Math.toIntExact(l.out());
                float bound = (float) (1.0 / Math.sqrt(in));
                float[] a = new float[r * in];
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
                }
                modules.put(l.module(), new Module(l.module(), r, (float) config.lora().scale(l.module()),
                        manager.create(a, new Shape(r, in)), manager.zeros(new Shape(out, r))));
            }
            Map<String, Saved> saved = saved(base, config, headSpec == null ? null : headSpec.module(), manager);
            if (saved.values().stream().anyMatch(x -> x.storedInOut) && !config.fanInFanOut()) {
                config = withFanInFanOut(config); // PEFT's flag for Conv1D bases: tells a square (in, out) weight from (out, in)
            }
            Head head = null;
            if (headSpec != null) {
                head = head(headSpec, rng, manager);
                config = withHead(config, headSpec.module(), headSpec.labels());
            }
            if (modules.isEmpty() && (!config.targetModules().isEmpty() || (saved.isEmpty() && head == null))) {
                Object targets = config.targetModules().isRegex() ? config.targetModules().regex() : config.targetModules().names();
                throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "target_modules " + targets
                        + " select no linear layer of the base model" + (config.targetModules().isEmpty()
                                ? " and modules_to_save saves none" : "")).withParam("target_modules");
            }
            return new TrainableLora(config, manager, modules, head, List.of(), saved);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * An adapter without LoRA pairs: only the {@link AdapterPart parts} that {@code parts} makes in
     * the adapter's manager (their tensors become the trainable leaves), plus a classification head
     * when {@code headSpec} is given (drawn after the parts from the same seeded generator; the
     * config then gains it as modules_to_save). For prompt tuning ({@link PromptPart#trainable});
     * a linear probe is {@code parts} returning nothing, with a head.
     */
    static TrainableLora ofParts(BaseModel base, PeftConfig config, long seed, HeadSpec headSpec,
            java.util.function.BiFunction<NDManager, SplittableRandom, List<AdapterPart>> parts) {
        Objects.requireNonNull(config, "config");
        NDManager manager = NDManager.newBaseManager(base.device(), "PyTorch");
        try {
            SplittableRandom rng = new SplittableRandom(seed);
            List<AdapterPart> made = parts.apply(manager, rng);
            Head head = null;
            if (headSpec != null) {
                head = head(headSpec, rng, manager);
                config = withHead(config, headSpec.module(), headSpec.labels());
            }
            if (made.isEmpty() && head == null) {
                throw new IllegalArgumentException("an adapter without LoRA pairs needs parts or a head");
            }
            return new TrainableLora(config, manager, new LinkedHashMap<>(), head, made);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * An adapter without LoRA pairs whose only trainable leaves are one {@link AdapterPart} (IA3,
     * bottleneck), drawn first from the seed, then the head as in {@link #ofParts}. Training
     * {@code modules_to_save} beside a part is not supported.
     */
    static TrainableLora ofPart(BaseModel base, PeftConfig config, long seed, HeadSpec headSpec,
            java.util.function.BiFunction<NDManager, SplittableRandom, AdapterPart> part) {
        Objects.requireNonNull(config, "config");
        if (!config.modulesToSave().isEmpty()) {
            throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED,
                    "training modules_to_save " + config.modulesToSave() + " is not supported yet");
        }
        return ofParts(base, config, seed, headSpec, (manager, rng) -> List.of(part.apply(manager, rng)));
    }

    /**
     * Trainable copies of the base's linear layers that {@code modules_to_save} selects (other than
     * the head), from the base's values; every entry must select something (the head counts).
     */
    private static Map<String, Saved> saved(BaseModel base, PeftConfig config, String headModule, NDManager manager) {
        Map<String, Saved> saved = new LinkedHashMap<>();
        if (config.modulesToSave().isEmpty()) {
            return saved;
        }
        for (String param : base.paramShapes().keySet()) {
            int dot = param.lastIndexOf('.');
            String module = dot < 0 ? "" : param.substring(0, dot);
            if (!savedBy(config, param) || module.equals(headModule)) {
                continue;
            }
            LinearShape l = base.linears().get(module);
            String leaf = param.substring(dot + 1);
            if (l == null || !(leaf.equals("weight") || leaf.equals("bias"))) {
                throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED, "modules_to_save " + config.modulesToSave()
                        + " selects '" + param + "', which is not a parameter of a linear layer; only linear layers"
                        + " can be trained in full").withParam("modules_to_save");
            }
            if (saved.containsKey(module)) {
                continue;
            }
            NDArray w = base.parameter(module + ".weight"); // (out, in) as the math sees it
            if (w == null) {
                throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED, "module to save '" + module
                        + "' has no weight of its own in the base (tied?); it cannot be trained in full")
                        .withParam("modules_to_save");
            }
            NDArray b = base.parameter(module + ".bias");
            long[] stored = base.paramShapes().get(module + ".weight");
            boolean inOut = stored != null && stored.length == 2 && stored[0] == l.in() && stored[1] == l.out()
                    && (l.in() != l.out() || base.config().architecture() == Architecture.GPT2);
            // host copies: the leaves must not share storage with (or belong to) the base's manager
            NDArray weight = manager.create(w.toFloatArray(), new Shape(l.out(), l.in()));
            NDArray bias = b == null ? null : manager.create(b.toFloatArray(), new Shape(l.out()));
            saved.put(module, new Saved(module, weight, bias, inOut));
        }
        for (String m : config.modulesToSave()) {
            boolean used = m.equals(headModule) || saved.keySet().stream().anyMatch(k -> selects(m, k));
            if (!used) {
                throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "modules_to_save entry '" + m
                        + "' selects no linear layer of the base model").withParam("modules_to_save");
            }
        }
        return saved;
    }

    /** Whether a base parameter lies in a module that modules_to_save names (as {@code LoraAdapter} reads it). */
    private static boolean savedBy(PeftConfig config, String param) {
        for (int dot = param.lastIndexOf('.'); dot > 0; dot = param.lastIndexOf('.', dot - 1)) {
            if (config.savesModule(param.substring(0, dot))) {
                return true;
            }
        }
        return false;
    }

    /** Whether the modules_to_save entry {@code m} selects {@code module} (itself or a module above it ends with it). */
    private static boolean selects(String m, String module) {
        for (String p = module; !p.isEmpty(); p = p.lastIndexOf('.') < 0 ? "" : p.substring(0, p.lastIndexOf('.'))) {
            if (p.endsWith(m)) {
                return true;
            }
        }
        return false;
    }

    /** The config with {@code fan_in_fan_out: true}. */
    private static PeftConfig withFanInFanOut(PeftConfig c) {
        return new PeftConfig(c.section(), c.taskType(), c.baseModelNameOrPath(), c.targetModules(), c.excludeModules(),
                c.layersToTransform(), c.layersPattern(), true, c.modulesToSave(), c.extras());
    }

    static Head head(HeadSpec spec, SplittableRandom rng, NDManager manager) {
        int labels = spec.labels().size();
        float bound = (float) (1.0 / Math.sqrt(spec.in()));
        float[] w = spec.weight();
        if (w == null) {
            w = new float[labels * spec.in()];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
            }
        }
        float[] b = spec.bias();
        if (b == null && spec.hasBias()) {
            b = new float[labels];
            for (int i = 0; i < b.length; i++) {
                b[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
            }
        }
        return new Head(spec.module(), spec.labels(), manager.create(w.clone(), new Shape(labels, spec.in())),
                b == null ? null : manager.create(b.clone(), new Shape(labels)));
    }

    /** The config of an adapter that also saves {@code module} with these labels. */
    static PeftConfig withHead(PeftConfig c, String module, List<String> labels) {
        Map<String, JsonNode> extras = new LinkedHashMap<>(c.extras());
        ArrayNode names = JsonNodeFactory.instance.arrayNode();
        labels.forEach(names::add);
        extras.put(LABELS_KEY, names);
        return new PeftConfig(c.section(), c.taskType() == null ? "SEQ_CLS" : c.taskType(), c.baseModelNameOrPath(),
                c.targetModules(), c.excludeModules(), c.layersToTransform(), c.layersPattern(), c.fanInFanOut(),
                withModule(c.modulesToSave(), module), extras);
    }

    private static List<String> withModule(List<String> modules, String module) {
        List<String> out = new ArrayList<>(modules);
        if (!out.contains(module)) {
            out.add(module);
        }
        return out;
    }

    /**
     * Starts from an existing PEFT folder (validated against the base exactly as for serving), e.g.
     * to continue training a published version.
     */
    public static TrainableLora load(BaseModel base, Path folder) {
        try (LoraAdapter adapter = LoraAdapter.load(folder, base.config().family(), base.linears(), base.paramShapes(),
                base.device())) {
            if (!adapter.replacedModules().isEmpty()) {
                throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED, folder
                        + ": training an adapter with modules_to_save " + adapter.replacedModules() + " is not supported yet");
            }
            NDManager manager = NDManager.newBaseManager(base.device(), "PyTorch");
            try {
                Map<String, Module> modules = new LinkedHashMap<>();
                for (String name : adapter.loraModules()) {
                    LoraAdapter.Lora l = adapter.lora(name);
                    int in = Math.toIntExact(l.in);
                    int out = Math.toIntExact(l.out);
                    float[] a = LoraAdapter.transpose(l.aT.toFloatArray(), in, l.rank); // (r, in)
                    float[] b;
                    if (l.b != null) {
                        b = l.b.toFloatArray();
                    } else {
                        float[] bT = l.bTScaled.toFloatArray(); // (r, out); dividing gives B back exactly here
                        for (int i = 0; i < bT.length; i++) {
                            bT[i] /= l.scale;
                        }
                        b = LoraAdapter.transpose(bT, l.rank, out); // (out, r)
                    }
                    modules.put(name, new Module(name, l.rank, l.scale, manager.create(a, new Shape(l.rank, in)),
                            manager.create(b, new Shape(out, l.rank))));
                }
                return new TrainableLora(adapter.config(), manager, modules, null);
            } catch (RuntimeException e) {
                manager.close();
                throw e;
            }
        }
    }

    public PeftConfig config() {
        return config;
    }

    /**
     * Records {@code key: value} in the config this adapter is saved with (a key PEFT ignores, such
     * as the pooling a classifier was trained with, which serving reads back).
     */
    public void note(String key, String value) {
        Map<String, JsonNode> extras = new LinkedHashMap<>(config.extras());
        extras.put(key, JsonNodeFactory.instance.textNode(value));
        PeftConfig c = config;
        config = new PeftConfig(c.section(), c.taskType(), c.baseModelNameOrPath(), c.targetModules(), c.excludeModules(),
                c.layersToTransform(), c.layersPattern(), c.fanInFanOut(), c.modulesToSave(), extras);
    }

    public Device device() {
        return manager.getDevice();
    }

    /** The trainable pairs by module path, in the base's module order. */
    public Map<String, Module> modules() {
        return modules;
    }

    /** The classification head, or null when the adapter has none. */
    public Head head() {
        return head;
    }

    /**
     * Every trainable array by PEFT's parameter name ({@code <module>.lora_A.default.weight}, as in
     * {@code PeftModel.named_parameters()} without the {@code base_model.model.} prefix), A before B
     * per module, in module order, then the layers trained in full and the head
     * ({@code <module>.modules_to_save.default.weight}, {@code .bias}): the optimizer's parameter order.
     */
    public Map<String, NDArray> parameters() {
        Map<String, NDArray> p = new LinkedHashMap<>();
        for (Module m : modules.values()) {
            p.put(m.name + ".lora_A.default.weight", m.a);
            p.put(m.name + ".lora_B.default.weight", m.b);
        }
        for (Saved s : saved.values()) {
            p.put(s.module + ".modules_to_save.default.weight", s.weight);
            if (s.bias != null) {
                p.put(s.module + ".modules_to_save.default.bias", s.bias);
            }
        }
        if (head != null) {
            p.put(head.module + ".modules_to_save.default.weight", head.weight);
            if (head.bias != null) {
                p.put(head.module + ".modules_to_save.default.bias", head.bias);
            }
        }
        for (AdapterPart part : parts) {
            part.tensors().forEach((k, v) -> {
                if (p.put(k, v) != null) {
                    throw new IllegalStateException("two trainable tensors named " + k);
                }
            });
        }
        return p;
    }

    /** Linear layers trained in full (modules_to_save other than the head), by module, in the base's order. */
    public Map<String, Saved> saved() {
        return saved;
    }

    /** The trainable parts of methods other than LoRA (empty for a plain LoRA). */
    public List<AdapterPart> parts() {
        return parts;
    }

    @Override
    public NDArray beforeLinear(String module, NDArray x) {
        NDArray out = x;
        for (AdapterPart p : parts) {
            if (p.touchesLinear(module)) {
                out = p.beforeLinear(module, out);
            }
        }
        return out;
    }

    @Override
    public NDArray afterSublayer(String name, NDArray h) {
        NDArray out = h;
        for (AdapterPart p : parts) {
            if (p.touchesSublayer(name)) {
                out = p.afterSublayer(name, out);
            }
        }
        return out;
    }

    @Override
    public NDArray embeddings(NDArray ids, NDArray x) {
        NDArray out = x;
        for (AdapterPart p : parts) {
            if (p.virtualTokens() > 0) {
                out = p.embeddings(ids, out);
            }
        }
        return out;
    }

    /** Virtual tokens to put before every input (prompt tuning), else 0. */
    @Override
    public int virtualTokens() {
        int n = 0;
        for (AdapterPart p : parts) {
            n = Math.max(n, p.virtualTokens());
        }
        return n;
    }

    /** Number of trainable scalars. */
    public long parameterCount() {
        return parameters().values().stream().mapToLong(NDArray::size).sum();
    }

    /** Turns LoRA dropout on for the next forward(s), with masks drawn from {@code forwardSeed}. */
    public void train(long forwardSeed) {
        this.dropoutRng = new SplittableRandom(forwardSeed);
    }

    /** Turns dropout off (evaluation and serving behaviour). */
    public void eval() {
        this.dropoutRng = null;
    }

    @Override
    public NDArray afterLinear(String module, NDArray x, NDArray y) {
        // the LoRA delta's input: dropped out while training with dropout (one mask per call, drawn
        // only for LoRA modules), and handed to the parts too (DoRA scales the base on it, as PEFT)
        NDArray in = dropoutRng != null && dropout > 0 && modules.containsKey(module) && !replaced(module) ? dropout(x) : x;
        NDArray out = loraAfterLinear(module, x, in, y);
        for (AdapterPart p : parts) {
            if (p.touchesLinear(module)) {
                out = p.afterLinear(module, x, in, out);
            }
        }
        return out;
    }

    /** Whether a trained copy (the head or a saved module) replaces the module's output. */
    private boolean replaced(String module) {
        return head != null && module.equals(head.module) || saved.containsKey(module);
    }

    private NDArray loraAfterLinear(String module, NDArray x, NDArray in, NDArray y) {
        if (head != null && module.equals(head.module)) {
            // replaces the base's output (PEFT's modules_to_save: no dropout, no LoRA on the copy)
            return (head.bias == null ? Linear.linear(x, head.weight) : Linear.linear(x, head.weight, head.bias))
                    .singletonOrThrow(); // (batch, labels), in x's manager
        }
        Saved s = saved.get(module);
        if (s != null) {
            // the layer's trained copy replaces the base's output (PEFT's modules_to_save)
            return (s.bias == null ? Linear.linear(x, s.weight) : Linear.linear(x, s.weight, s.bias)).singletonOrThrow();
        }
        Module m = modules.get(module);
        if (m == null) {
            return y;
        }
        // Linear.linear keeps the result in x's manager (the step), not in the adapter's
        NDArray down = Linear.linear(in, m.a).singletonOrThrow();   // (batch, ..., r)
        NDArray delta = Linear.linear(down, m.b).singletonOrThrow(); // (batch, ..., out)
        return y.add(Scalars.mul(delta, m.scale));
    }

    /** Inverted dropout, as {@code nn.Dropout} in training mode: zero with probability p, scale the rest by 1/(1-p). */
    private NDArray dropout(NDArray x) {
        long n = x.size();
        float keep = (float) (1.0 / (1.0 - dropout));
        float[] mask = new float[Math.toIntExact(n)];
        for (int i = 0; i < mask.length; i++) {
            mask[i] = dropoutRng.nextDouble() < dropout ? 0f : keep;
        }
        // autograd keeps the mask for backward, after the forward's manager has closed it (see Scalars)
        NDArray javaBacked = x.getManager().create(mask, x.getShape());
        NDArray maskArray = Scalars.owned(javaBacked);
        javaBacked.close();
        return x.mul(maskArray);
    }

    /** Writes the current weights as a normal PEFT folder (unscaled A and B, the config as given). */
    public void save(Path folder) {
        LoraWriter w = new LoraWriter(config);
        for (Module m : modules.values()) {
            w.lora(m.name, m.a, m.b);
        }
        for (Saved s : saved.values()) {
            if (s.storedInOut) { // as the base checkpoint stores it (GPT-2 Conv1D), which LoraAdapter checks
                long out = s.weight.getShape().get(0);
                long in = s.weight.getShape().get(1);
                w.moduleToSave(s.module + ".weight", new long[] {in, out},
                        LoraAdapter.transpose(s.weight.toFloatArray(), (int) out, (int) in));
            } else {
                w.moduleToSave(s.module + ".weight", s.weight);
            }
            if (s.bias != null) {
                w.moduleToSave(s.module + ".bias", s.bias);
            }
        }
        if (head != null) {
            w.moduleToSave(head.module + ".weight", head.weight);
            if (head.bias != null) {
                w.moduleToSave(head.module + ".bias", head.bias);
            }
        }
        for (AdapterPart part : parts) {
            part.tensors().forEach(w::tensor);
        }
        w.write(folder);
    }

    /**
     * Puts back values that {@link #snapshot()} returned, in place: each leaf keeps its identity (and
     * the optimizer its reference to it); values are copied into its storage through a detached alias.
     */
    public void restore(Map<String, float[]> snapshot) {
        try (NDManager scratch = manager.newSubManager()) {
            for (Map.Entry<String, NDArray> e : parameters().entrySet()) {
                float[] v = snapshot.get(e.getKey());
                NDArray p = e.getValue();
                if (v == null || v.length != p.size()) {
                    throw new IllegalArgumentException("state lacks or mis-sizes " + e.getKey());
                }
                NDArray alias = p.stopGradient(); // the leaf's storage, outside autograd
                alias.attach(scratch);
                NDArray fresh = scratch.create(v, p.getShape());
                alias.set(new NDIndex(":"), fresh); // in-place copy_ (set(float[]) would swap the storage)
            }
        }
    }

    /** Host copies of every parameter, by the names of {@link #parameters()} (for checkpoints and tests). */
    public Map<String, float[]> snapshot() {
        Map<String, float[]> s = new LinkedHashMap<>();
        parameters().forEach((k, v) -> s.put(k, v.toFloatArray()));
        return s;
    }

    /** The names of the targeted modules, in order. */
    public List<String> moduleNames() {
        return new ArrayList<>(modules.keySet());
    }

    /** The manager that owns every weight (for building parts next to the LoRA pairs). */
    NDManager manager() {
        return manager;
    }

    /** Arrays alive under this adapter's manager (its own weights and gradients only, after every step: a leak check). */
    public int liveArrays() {
        return manager.getManagedArrays().size();
    }

    @Override
    public void close() {
        manager.close();
    }
}
