package io.loragate.adapter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.loragate.common.LoragateException;
import io.loragate.common.ModelFormatException;
import io.loragate.model.Architecture;
import io.loragate.model.BaseModel;
import io.loragate.model.LinearShape;
import io.loragate.model.ModelFamilies;
import io.loragate.model.ModelFamily;
import io.loragate.model.ModuleSelection;
import io.loragate.model.TextTokenizer;
import io.loragate.model.safetensors.SafetensorsFile;
import io.loragate.model.safetensors.TensorInfo;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * IA3 ({@code ia3}): a learned vector per targeted module that scales its output (or, for the
 * feed-forward modules, its input); PEFT {@code IA3} folders with an {@code ia3_l} tensor per
 * module ({@link Ia3Part}).
 */
public final class Ia3Method implements AdapterMethod {

    static final Ia3Method INSTANCE = new Ia3Method();

    private static final Pattern KEY = Pattern.compile("(.+)\\.ia3_l(?:\\.default)?(?:\\.weight)?");

    private Ia3Method() {
    }

    @Override
    public String name() {
        return "ia3";
    }

    @Override
    public PeftSection section() {
        return Ia3Section.INSTANCE;
    }

    @Override
    public List<String> settings() {
        return List.of();
    }

    /**
     * IA3's default targets: keys, values and the MLP down projection (PEFT's
     * {@code TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING}) of the forward's first family.
     */
    public static PeftConfig.Modules targets(Architecture architecture) {
        return targets(ModelFamilies.reference(architecture));
    }

    /** The feed-forward modules among {@link #targets} (IA3 scales their input). */
    public static PeftConfig.Modules feedforward(Architecture architecture) {
        return feedforward(ModelFamilies.reference(architecture));
    }

    /** IA3's default targets as the family declares them. */
    public static PeftConfig.Modules targets(ModelFamily family) {
        return modules(family.ia3Targets());
    }

    /** The feed-forward modules among the family's IA3 targets. */
    public static PeftConfig.Modules feedforward(ModelFamily family) {
        return modules(family.ia3Feedforward());
    }

    private static PeftConfig.Modules modules(ModuleSelection s) {
        return s.regex() != null ? PeftConfig.Modules.regex(s.regex()) : PeftConfig.Modules.list(s.names());
    }

    // ---------------------------------------------------------------------------------------------
    // Serving

    @Override
    public boolean hasPart(PeftConfig config) {
        return config.peftType().equals(PeftConfig.IA3);
    }

    @Override
    public boolean claims(PeftConfig config, String key) {
        return PartFormats.prefixedMatch(KEY, key);
    }

    @Override
    public Map<String, TensorInfo> checkPart(PeftConfig config, SafetensorsFile file, Map<String, TensorInfo> claimed,
            ModelFamily family, Map<String, LinearShape> linears, Map<String, long[]> baseParamShapes,
            Set<String> loraModules) {
        Path path = file.path();
        Map<String, TensorInfo> byModule = PartFormats.byModule(path, KEY, claimed, (module, t) -> {
            LinearShape l = linears.get(module);
            if (l == null) {
                throw new ModelFormatException(path, "IA3 module '" + module + "' does not exist in the base model");
            }
            if (!config.targets(module)) {
                throw new ModelFormatException(path, "has IA3 weights for '" + module
                        + "', which adapter_config.json's target_modules does not select");
            }
            long[] want = config.feedforward(module) ? new long[] {1, l.in()} : new long[] {l.out(), 1};
            PartFormats.checkShape(path, t, want, config.feedforward(module) ? "(1, in) for a feedforward module" : "(out, 1)");
        });
        int targeted = 0;
        for (String module : linears.keySet()) {
            if (config.targets(module)) {
                targeted++;
                if (!byModule.containsKey(module)) {
                    throw new ModelFormatException(path, "adapter_config.json targets '" + module
                            + "' but the file has no IA3 vector for it");
                }
            }
        }
        if (targeted == 0) {
            throw new ModelFormatException(path.resolveSibling(PeftConfig.FILE_NAME),
                    "target_modules selects no linear layer of the base model");
        }
        return byModule;
    }

    @Override
    public AdapterPart readPart(PeftConfig config, SafetensorsFile file, Map<String, TensorInfo> checked,
            Map<String, PartFormats.LoraView> lora, Function<String, NDArray> baseParams, NDManager manager, long[] bytes) {
        Map<String, NDArray> vectors = new LinkedHashMap<>();
        Set<String> ff = new LinkedHashSet<>();
        checked.forEach((module, t) -> {
            vectors.put(module, manager.create(file.readFloats(t.name()), new Shape(t.shape())));
            bytes[0] += 4L * PartFormats.shapeSize(t.shape());
            if (config.feedforward(module)) {
                ff.add(module);
            }
        });
        return new Ia3Part(vectors, ff);
    }

    // ---------------------------------------------------------------------------------------------
    // Training

    @Override
    public TrainableLora create(BaseModel base, TextTokenizer tokenizer, String baseId, MethodOptions o, String taskType,
            long seed, TrainableLora.HeadSpec head) {
        return fresh(base, config(base, baseId, o, taskType), seed, head);
    }

    /**
     * The IA3 config of a job's settings: the architecture's IA3 defaults when the job names no
     * targets (or the LoRA defaults a job fills in); else the named targets, with the default
     * feed-forward modules among them.
     */
    static PeftConfig config(BaseModel base, String baseId, MethodOptions o, String taskType) {
        ModelFamily arch = base.config().family();
        List<String> given = o.targetModules();
        PeftConfig c;
        if (given.isEmpty() || given.equals(TrainableLora.defaultTargets(arch))) {
            c = PeftConfig.ia3(targets(arch), feedforward(arch), o.layersToTransform(), taskType);
        } else {
            PeftConfig.Modules ff = feedforward(arch);
            List<String> feedforward = ff.isRegex() ? List.of() : given.stream().filter(ff.names()::contains).toList();
            c = PeftConfig.ia3(given, feedforward, o.layersToTransform(), taskType);
        }
        if (!o.layersToTransform().isEmpty() && (c.targetModules().isRegex() || c.feedforwardModules().isRegex())) {
            // PEFT applies layers_to_transform to a list of targets only, not to a regular expression
            // (the default IA3 targets of BERT are one): name the selected modules of those layers instead
            PeftConfig selected = c;
            List<String> targets = base.linears().keySet().stream().filter(selected::targets)
                    .filter(m -> o.layersToTransform().contains(PartFormats.layerIndex(m))).toList();
            if (targets.isEmpty()) {
                throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "layers " + o.layersToTransform()
                        + " hold no IA3 target of the base model").withParam("method.adapter.layers_to_transform");
            }
            c = PeftConfig.ia3(targets, targets.stream().filter(selected::feedforward).toList(), o.layersToTransform(), taskType);
        }
        return c.withBaseModel(baseId);
    }

    /** A fresh IA3 adapter: every targeted module's vector is ones (the base). */
    public static TrainableLora fresh(BaseModel base, PeftConfig config, long seed, TrainableLora.HeadSpec headSpec) {
        PartFormats.require(config, PeftConfig.IA3);
        return TrainableLora.ofPart(base, config, seed, headSpec, (manager, rng) -> {
            Map<String, NDArray> vectors = new LinkedHashMap<>();
            Set<String> ff = new LinkedHashSet<>();
            for (LinearShape l : base.linears().values()) {
                if (!config.targets(l.module())) {
                    continue;
                }
                boolean feedforward = config.feedforward(l.module());
                Shape shape = feedforward ? new Shape(1, l.in()) : new Shape(l.out(), 1);
                vectors.put(l.module(), manager.ones(shape));
                if (feedforward) {
                    ff.add(l.module());
                }
            }
            if (vectors.isEmpty()) {
                PeftConfig.Modules t = config.targetModules();
                throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "IA3 target_modules "
                        + (t.isRegex() ? t.regex() : t.names()) + " select no linear layer of the base model")
                        .withParam("target_modules");
            }
            return new Ia3Part(vectors, ff);
        });
    }

    // ---------------------------------------------------------------------------------------------
    // Recommending

    /** A vector per key, value and MLP down projection of each changed layer: {@code 2·kv + intermediate}. */
    @Override
    public MethodCost cost(MethodOptions o, MethodCost.Basis b) {
        long q = (long) b.layers().size() * (2L * b.shape().kvHidden() + b.shape().intermediate());
        return new MethodCost(q, 3L * b.layers().size(), b.throughLayers(q));
    }

    @Override
    public double suggestedLearningRate(boolean classification) {
        return classification ? 5e-3 : 3e-3;
    }
}
