package io.loragate.adapter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.loragate.model.Architecture;
import io.loragate.model.BaseModel;
import io.loragate.model.LinearShape;
import io.loragate.common.LoragateException;
import io.loragate.model.ModelFamilies;
import io.loragate.model.ModelFamily;
import io.loragate.model.ModuleSelection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Fresh trainable adapters of the methods that are {@link AdapterPart parts}: IA3, DoRA and
 * bottleneck adapters, each a {@link TrainableLora} (LoRA pairs only for DoRA) with its part and,
 * for classification, a head. Initialised so that the adapter starts as the base: IA3 vectors of
 * ones, bottleneck {@code up = 0}, DoRA magnitudes equal to the base weight's row norms (B = 0).
 */
public final class MethodAdapters {

    private MethodAdapters() {
    }

    /**
     * IA3's default targets: keys, values and the MLP down projection (PEFT's
     * {@code TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING}) of the forward's first family.
     */
    public static PeftConfig.Modules ia3Targets(Architecture architecture) {
        return ia3Targets(ModelFamilies.reference(architecture));
    }

    /** The feed-forward modules among {@link #ia3Targets} (IA3 scales their input). */
    public static PeftConfig.Modules ia3Feedforward(Architecture architecture) {
        return ia3Feedforward(ModelFamilies.reference(architecture));
    }

    /** IA3's default targets as the family declares them. */
    public static PeftConfig.Modules ia3Targets(ModelFamily family) {
        return modules(family.ia3Targets());
    }

    /** The feed-forward modules among the family's IA3 targets. */
    public static PeftConfig.Modules ia3Feedforward(ModelFamily family) {
        return modules(family.ia3Feedforward());
    }

    private static PeftConfig.Modules modules(ModuleSelection s) {
        return s.regex() != null ? PeftConfig.Modules.regex(s.regex()) : PeftConfig.Modules.list(s.names());
    }

    /** A fresh IA3 adapter: every targeted module's vector is ones (the base). */
    public static TrainableLora ia3(BaseModel base, PeftConfig config, long seed, TrainableLora.HeadSpec headSpec) {
        require(config, PeftConfig.IA3);
        return build(base, config, seed, headSpec, (manager, rng) -> {
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
                throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "IA3 target_modules "
                        + describe(config.targetModules()) + " select no linear layer of the base model").withParam("target_modules");
            }
            return new Ia3Part(vectors, ff);
        });
    }

    /**
     * A fresh bottleneck adapter: {@code down} drawn like LoRA's A ({@code U(-1/√hidden, 1/√hidden)}),
     * {@code up} and both biases zero, so that it starts as the base.
     */
    public static TrainableLora bottleneck(BaseModel base, PeftConfig config, long seed, TrainableLora.HeadSpec headSpec) {
        require(config, PeftConfig.BOTTLENECK);
        return build(base, config, seed, headSpec, (manager, rng) -> {
            int m = config.bottleneckSize();
            Map<String, BottleneckPart.Block> blocks = new LinkedHashMap<>();
            for (PartFormats.Sublayer s : PartFormats.adapted(config, base.linears())) {
                int h = Math.toIntExact(s.hidden());
                float bound = (float) (1.0 / Math.sqrt(h));
                float[] down = new float[m * h];
                for (int i = 0; i < down.length; i++) {
                    down[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
                }
                blocks.put(s.name(), new BottleneckPart.Block(manager.create(down, new Shape(m, h)), manager.zeros(new Shape(m)),
                        manager.zeros(new Shape(h, m)), manager.zeros(new Shape(h))));
            }
            if (blocks.isEmpty()) {
                throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "placement " + config.placement()
                        + " and layers_to_transform " + config.layersToTransform() + " select no sub-layer of the base model")
                        .withParam("layers_to_transform");
            }
            return new BottleneckPart(blocks, config.activation());
        });
    }

    /**
     * A fresh DoRA adapter: LoRA as {@link TrainableLora#create} makes it (B = 0) plus a magnitude
     * per module, the row norms of the base weight (so that the adapter starts as the base).
     */
    public static TrainableLora dora(BaseModel base, PeftConfig config, long seed, TrainableLora.HeadSpec headSpec) {
        if (!config.useDora()) {
            throw new IllegalArgumentException("not a DoRA config (use_dora is false)");
        }
        TrainableLora lora = TrainableLora.create(base, config, seed, headSpec);
        try {
            NDManager manager = lora.manager();
            Map<String, DoraPart.Trained> modules = new LinkedHashMap<>();
            for (TrainableLora.Module m : lora.modules().values()) {
                NDArray w = base.parameter(m.name() + ".weight");
                if (w == null) {
                    throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED, "DoRA on '" + m.name()
                            + "': the base model exposes no weight for it");
                }
                float[] norms;
                try (NDManager scratch = NDManager.newBaseManager(w.getDevice(), "PyTorch")) {
                    NDArray copy = w.duplicate();
                    copy.attach(scratch);
                    norms = copy.square().sum(new int[] {1}).sqrt().toFloatArray();
                }
                modules.put(m.name(), new DoraPart.Trained(w, base.parameter(m.name() + ".bias"), m,
                        manager.create(norms, new Shape(norms.length))));
            }
            return new TrainableLora(lora.config(), manager, lora.modules(), lora.head(), List.of(DoraPart.trainable(modules)));
        } catch (RuntimeException e) {
            lora.close();
            throw e;
        }
    }

    private interface PartMaker {
        AdapterPart make(NDManager manager, SplittableRandom rng);
    }

    /** A TrainableLora without LoRA pairs: the part (drawn first from the seed), then the head. */
    private static TrainableLora build(BaseModel base, PeftConfig config, long seed, TrainableLora.HeadSpec headSpec,
            PartMaker maker) {
        Objects.requireNonNull(config, "config");
        if (!config.modulesToSave().isEmpty()) {
            throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED,
                    "training modules_to_save " + config.modulesToSave() + " is not supported yet");
        }
        NDManager manager = NDManager.newBaseManager(base.device(), "PyTorch");
        try {
            SplittableRandom rng = new SplittableRandom(seed);
            AdapterPart part = maker.make(manager, rng);
            TrainableLora.Head head = null;
            PeftConfig c = config;
            if (headSpec != null) {
                head = TrainableLora.head(headSpec, rng, manager);
                c = TrainableLora.withHead(config, headSpec.module(), headSpec.labels());
            }
            return new TrainableLora(c, manager, Map.of(), head, List.of(part));
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    private static void require(PeftConfig config, String type) {
        if (!config.peftType().equals(type)) {
            throw new IllegalArgumentException("not a " + type + " config: " + config.peftType());
        }
    }

    private static Object describe(PeftConfig.Modules m) {
        return m.isRegex() ? m.regex() : m.names();
    }
}
