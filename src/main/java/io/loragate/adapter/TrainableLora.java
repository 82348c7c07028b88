package io.loragate.adapter;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import io.loragate.model.AdapterHook;
import io.loragate.model.Architecture;
import io.loragate.model.BaseModel;
import io.loragate.model.LinearShape;
import io.loragate.model.LoragateException;
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

    private final PeftConfig config;
    private final NDManager manager;
    private final Map<String, Module> modules;
    private final double dropout;
    private SplittableRandom dropoutRng; // null: eval mode

    private TrainableLora(PeftConfig config, NDManager manager, Map<String, Module> modules) {
        this.config = config;
        this.manager = manager;
        this.modules = Collections.unmodifiableMap(modules);
        this.dropout = config.loraDropout();
        if (dropout < 0 || dropout >= 1) {
            throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT,
                    "lora_dropout " + dropout + " is outside [0, 1)").withParam("lora_dropout");
        }
        for (Module m : modules.values()) {
            m.a.setRequiresGradient(true);
            m.b.setRequiresGradient(true);
        }
    }

    /** The modules LoRA adapts by default: the attention projections of the architecture. */
    public static List<String> defaultTargets(Architecture architecture) {
        return switch (architecture) {
            case LLAMA -> List.of("q_proj", "k_proj", "v_proj", "o_proj");
            case GPT2 -> List.of("c_attn");
            case BERT -> List.of("query", "value");
        };
    }

    /**
     * A fresh adapter initialised like PEFT's default ({@code init_lora_weights=True}): {@code A} by
     * Kaiming-uniform with {@code a=√5}, i.e. {@code U(-1/√in, 1/√in)}, and {@code B = 0}, so that the
     * adapter starts as the identity. The draws depend only on {@code seed} and the module order.
     */
    public static TrainableLora create(BaseModel base, PeftConfig config, long seed) {
        Objects.requireNonNull(config, "config");
        if (!config.modulesToSave().isEmpty()) {
            throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED,
                    "training modules_to_save " + config.modulesToSave() + " is not supported yet");
        }
        NDManager manager = NDManager.newBaseManager(base.device(), "PyTorch");
        try {
            SplittableRandom rng = new SplittableRandom(seed);
            Map<String, Module> modules = new LinkedHashMap<>();
            for (LinearShape l : base.linears().values()) {
                if (!config.targets(l.module())) {
                    continue;
                }
                int r = config.rankFor(l.module());
                int in = Math.toIntExact(l.in());
                int out = Math.toIntExact(l.out());
                float bound = (float) (1.0 / Math.sqrt(in));
                float[] a = new float[r * in];
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
                }
                modules.put(l.module(), new Module(l.module(), r, (float) config.scale(l.module()),
                        manager.create(a, new Shape(r, in)), manager.zeros(new Shape(out, r))));
            }
            if (modules.isEmpty()) {
                Object targets = config.targetModules().isRegex() ? config.targetModules().regex() : config.targetModules().names();
                throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "target_modules " + targets
                        + " select no linear layer of the base model").withParam("target_modules");
            }
            return new TrainableLora(config, manager, modules);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * Starts from an existing PEFT folder (validated against the base exactly as for serving), e.g.
     * to continue training a published version.
     */
    public static TrainableLora load(BaseModel base, Path folder) {
        try (LoraAdapter adapter = LoraAdapter.load(folder, base.linears(), base.paramShapes(), base.device())) {
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
                return new TrainableLora(adapter.config(), manager, modules);
            } catch (RuntimeException e) {
                manager.close();
                throw e;
            }
        }
    }

    public PeftConfig config() {
        return config;
    }

    public Device device() {
        return manager.getDevice();
    }

    /** The trainable pairs by module path, in the base's module order. */
    public Map<String, Module> modules() {
        return modules;
    }

    /**
     * Every trainable array by PEFT's parameter name ({@code <module>.lora_A.default.weight}, as in
     * {@code PeftModel.named_parameters()} without the {@code base_model.model.} prefix), A before B
     * per module, in module order: the optimizer's parameter order.
     */
    public Map<String, NDArray> parameters() {
        Map<String, NDArray> p = new LinkedHashMap<>();
        for (Module m : modules.values()) {
            p.put(m.name + ".lora_A.default.weight", m.a);
            p.put(m.name + ".lora_B.default.weight", m.b);
        }
        return p;
    }

    /** Number of trainable scalars. */
    public long parameterCount() {
        long n = 0;
        for (Module m : modules.values()) {
            n += m.a.size() + m.b.size();
        }
        return n;
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
        Module m = modules.get(module);
        if (m == null) {
            return y;
        }
        NDArray in = dropoutRng != null && dropout > 0 ? dropout(x) : x;
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
        w.write(folder);
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

    /** Arrays alive under this adapter's manager (its own weights and gradients only, after every step: a leak check). */
    public int liveArrays() {
        return manager.getManagedArrays().size();
    }

    @Override
    public void close() {
        manager.close();
    }
}
