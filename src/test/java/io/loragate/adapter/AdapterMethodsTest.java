package io.loragate.adapter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import io.loragate.Fixtures;
import io.loragate.model.AdapterHook;
import io.loragate.model.Architecture;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.model.Generation;
import io.loragate.model.Generator;
import io.loragate.model.KvCache;
import io.loragate.model.LinearShape;
import io.loragate.common.LoragateException;
import io.loragate.common.ModelFormatException;
import io.loragate.common.SamplingParams;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * IA3, DoRA and bottleneck adapters: closed-form checks (the identity settings give the base or
 * plain LoRA), one linear layer (or sub-layer) against plain double arithmetic, format checks, and a
 * mixed batch of every method against each row alone.
 */
public class AdapterMethodsTest {

    private static final long[][] PROMPTS = {{5, 17, 42, 99, 3, 250, 7}, {11, 12}, {300, 1, 2, 3, 4}, {8, 9, 10, 77},
        {60, 61, 62, 63, 64, 65}, {120, 44, 2}};

    private static CausalModel llama;
    private static CausalModel qwen; // q/k/v have biases
    private static CausalModel gpt2;
    private static NDManager root;
    private static Path tmp;

    @BeforeAll
    static void load() throws Exception {
        llama = (CausalModel) BaseModel.load(Fixtures.hf("tiny-llama"), Device.cpu());
        qwen = (CausalModel) BaseModel.load(Fixtures.hf("tiny-qwen2"), Device.cpu());
        gpt2 = (CausalModel) BaseModel.load(Fixtures.hf("tiny-gpt2"), Device.cpu());
        root = NDManager.newBaseManager(Device.cpu(), "PyTorch");
        tmp = Files.createTempDirectory("methods");
    }

    @AfterAll
    static void close() throws Exception {
        llama.close();
        qwen.close();
        gpt2.close();
        root.close();
        try (var files = Files.walk(tmp)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Adapters with random weights, written as folders

    private static float[] gaussian(Random random, int n, double mean, double sd) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (mean + random.nextGaussian() * sd);
        }
        return v;
    }

    public static Path writeIa3(BaseModel model, PeftConfig config, Path folder, long seed) {
        Random random = new Random(seed);
        LoraWriter w = new LoraWriter(config);
        try (NDManager m = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            for (LinearShape l : model.linears().values()) {
                if (config.targets(l.module())) {
                    Shape s = config.feedforward(l.module()) ? new Shape(1, l.in()) : new Shape(l.out(), 1);
                    w.tensor(LoraAdapter.PREFIX + l.module() + ".ia3_l", m.create(gaussian(random, (int) s.size(), 1, 0.3), s));
                }
            }
            w.write(folder);
        }
        return folder;
    }

    public static PeftConfig doraConfig(List<String> targets, boolean dora) {
        return PeftConfig.lora(LoraSection.plain(4, 8).with(false, dora, 0.0), PeftConfig.Modules.list(targets), List.of(),
                List.of(), "CAUSAL_LM", null);
    }

    /**
     * A LoRA (random A and B) and, with {@code dora}, a magnitude per module: the row norms of
     * {@code W + s·B·A} computed in double times {@code (1 + jitter·N(0,1))}.
     */
    public static Path writeDora(BaseModel model, List<String> targets, boolean dora, double jitter, Path folder, long seed) {
        PeftConfig config = doraConfig(targets, dora);
        Random random = new Random(seed);
        Random jitters = new Random(seed + 1); // A and B do not depend on whether there are magnitudes
        LoraWriter w = new LoraWriter(config);
        try (NDManager m = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            for (LinearShape l : model.linears().values()) {
                if (!config.targets(l.module())) {
                    continue;
                }
                int r = config.lora().r();
                int in = (int) l.in();
                int out = (int) l.out();
                float[] a = gaussian(random, r * in, 0, 0.3);
                float[] b = gaussian(random, out * r, 0, 0.3);
                w.lora(l.module(), m.create(a, new Shape(r, in)), m.create(b, new Shape(out, r)));
                if (dora) {
                    double[] norms = rowNorms(model.parameter(l.module() + ".weight").toFloatArray(), a, b, out, in, r,
                            config.lora().scale(l.module()));
                    float[] mag = new float[out];
                    for (int o = 0; o < out; o++) {
                        mag[o] = (float) (norms[o] * (1 + jitter * jitters.nextGaussian()));
                    }
                    w.tensor(LoraAdapter.PREFIX + l.module() + ".lora_magnitude_vector", m.create(mag));
                }
            }
            w.write(folder);
        }
        return folder;
    }

    /** {@code ‖W + s·B·A‖} per output row, in double. */
    static double[] rowNorms(float[] w, float[] a, float[] b, int out, int in, int r, double s) {
        double[] norms = new double[out];
        for (int o = 0; o < out; o++) {
            double sum = 0;
            for (int i = 0; i < in; i++) {
                double ba = 0;
                for (int k = 0; k < r; k++) {
                    ba += (double) b[o * r + k] * a[k * in + i];
                }
                double v = w[o * in + i] + s * ba;
                sum += v * v;
            }
            norms[o] = Math.sqrt(sum);
        }
        return norms;
    }

    public static Path writeBottleneck(BaseModel model, PeftConfig config, Path folder, long seed) {
        Random random = new Random(seed);
        LoraWriter w = new LoraWriter(config);
        int size = config.bottleneckSize();
        try (NDManager m = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            for (PartFormats.Sublayer s : BottleneckMethod.adapted(config, model.config().family(), model.linears())) {
                int h = (int) s.hidden();
                String k = LoraAdapter.PREFIX + s.name();
                w.tensor(k + ".adapter_down.weight", m.create(gaussian(random, size * h, 0, 0.3), new Shape(size, h)));
                w.tensor(k + ".adapter_down.bias", m.create(gaussian(random, size, 0, 0.3)));
                w.tensor(k + ".adapter_up.weight", m.create(gaussian(random, h * size, 0, 0.3), new Shape(h, size)));
                w.tensor(k + ".adapter_up.bias", m.create(gaussian(random, h, 0, 0.3)));
            }
            w.write(folder);
        }
        return folder;
    }

    private static PeftConfig ia3Defaults(Architecture a) {
        return PeftConfig.ia3(Ia3Method.targets(a), Ia3Method.feedforward(a), List.of(), "CAUSAL_LM");
    }

    private static double diff(CausalModel model, AdapterHook a, AdapterHook b) {
        double worst = 0;
        try (NDManager out = root.newSubManager()) {
            for (long[] p : PROMPTS) {
                worst = Math.max(worst, Fixtures.maxAbsDiff(model.logits(out, p, a).toFloatArray(),
                        model.logits(out, p, b).toFloatArray()));
            }
        }
        return worst;
    }

    // ---------------------------------------------------------------------------------------------
    // Closed forms

    @Test
    void ia3WithAllOnesIsExactlyTheBase() {
        for (CausalModel model : List.of(llama, gpt2, qwen)) {
            PeftConfig config = ia3Defaults(model.config().architecture());
            try (TrainableLora fresh = Ia3Method.fresh(model, config, 1, null)) {
                assertTrue(fresh.parameterCount() > 0);
                assertEquals(0.0, diff(model, fresh, AdapterHook.NONE), model.config().architecture() + ": ones");
                Path folder = tmp.resolve("ia3-ones-" + model.config().architecture());
                fresh.save(folder);
                try (LoraAdapter served = LoraAdapter.load(folder, model)) {
                    assertEquals(1, served.parts().size());
                    assertEquals(0.0, diff(model, MultiLoraHook.single(served), AdapterHook.NONE));
                }
            }
        }
    }

    @Test
    void ia3DefaultTargetsFollowPeft() {
        PeftConfig llamaCfg = ia3Defaults(Architecture.LLAMA);
        assertTrue(llamaCfg.targets("model.layers.0.mlp.down_proj") && llamaCfg.feedforward("model.layers.0.mlp.down_proj"));
        assertTrue(llamaCfg.targets("model.layers.0.self_attn.k_proj") && !llamaCfg.feedforward("model.layers.0.self_attn.k_proj"));
        assertTrue(!llamaCfg.targets("model.layers.0.self_attn.q_proj"));
        PeftConfig gpt = ia3Defaults(Architecture.GPT2);
        assertTrue(gpt.targets("h.0.mlp.c_proj") && gpt.feedforward("h.0.mlp.c_proj"));
        assertTrue(!gpt.targets("h.0.attn.c_proj") && gpt.targets("h.0.attn.c_attn") && !gpt.feedforward("h.0.attn.c_attn"));
        PeftConfig bert = ia3Defaults(Architecture.BERT);
        assertTrue(bert.targets("bert.encoder.layer.1.output.dense") && bert.feedforward("bert.encoder.layer.1.output.dense"));
        assertTrue(!bert.targets("bert.encoder.layer.1.attention.output.dense"), "the attention's output.dense is not the MLP's");
        assertTrue(bert.targets("bert.encoder.layer.1.attention.self.key") && !bert.feedforward("bert.encoder.layer.1.attention.self.key"));
        // what we write, PEFT-style, reads back the same
        PeftConfig back = PeftConfig.parse(Path.of("x"), bert.toJson().toString());
        assertEquals(bert.targetModules(), back.targetModules());
        assertEquals(bert.feedforwardModules(), back.feedforwardModules());
        assertEquals("IA3", back.toJson().get("peft_type").textValue());
        assertTrue(!back.toJson().has("r") && !back.toJson().has("lora_alpha"), back.toJson().toString());
    }

    @Test
    void bottleneckWithZeroUpIsExactlyTheBase() {
        for (CausalModel model : List.of(llama, gpt2)) {
            for (String placement : List.of(PeftConfig.PFEIFFER, PeftConfig.HOULSBY)) {
                PeftConfig config = PeftConfig.bottleneck(8, placement, "gelu", List.of(), "CAUSAL_LM");
                try (TrainableLora fresh = BottleneckMethod.fresh(model, config, 3, null)) {
                    int layers = model.config().numLayers();
                    assertEquals((placement.equals(PeftConfig.HOULSBY) ? 2 : 1) * layers * 4, fresh.parameters().size());
                    assertEquals(0.0, diff(model, fresh, AdapterHook.NONE), model.config().architecture() + " " + placement);
                }
            }
        }
    }

    @Test
    void doraWithRowNormMagnitudesIsPlainLora() {
        List<String> targets = List.of("q_proj", "k_proj", "v_proj", "o_proj", "down_proj");
        Path lora = writeDora(qwen, targets, false, 0, tmp.resolve("plain-lora"), 11);
        Path dora = writeDora(qwen, targets, true, 0, tmp.resolve("dora-exact"), 11);
        try (LoraAdapter l = LoraAdapter.load(lora, qwen); LoraAdapter d = LoraAdapter.load(dora, qwen)) {
            assertEquals(0, l.parts().size());
            assertEquals(1, d.parts().size());
            double vsLora = diff(qwen, MultiLoraHook.single(l), MultiLoraHook.single(d));
            double vsBase = diff(qwen, MultiLoraHook.single(l), AdapterHook.NONE);
            System.out.printf("DoRA with magnitude = ||W + sBA||: max abs logit diff vs LoRA %.2e (LoRA vs base %.2e)%n", vsLora, vsBase);
            assertTrue(vsLora < 1e-5, "DoRA vs LoRA " + vsLora);
            assertTrue(vsBase > 1e-2, "the LoRA changes the output");
        }
        // a fresh trainable DoRA (B = 0, magnitude = ||W||) is the base
        try (TrainableLora fresh = DoraMethod.fresh(qwen, doraConfig(targets, true), 5, null)) {
            assertTrue(diff(qwen, fresh, AdapterHook.NONE) < 1e-5);
        }
    }

    @Test
    void doraNeedsTheBaseAndItsMagnitudes() {
        Path dora = writeDora(qwen, List.of("q_proj"), true, 0.1, tmp.resolve("dora-nobase"), 3);
        LoragateException e = assertThrows(LoragateException.class, () -> LoraAdapter.load(dora, qwen.config().family(), qwen.linears(),
                qwen.paramShapes(), Device.cpu()));
        assertEquals(LoragateException.Kind.UNIMPLEMENTED, e.kind());
        Path noMag = writeDora(qwen, List.of("q_proj"), false, 0, tmp.resolve("dora-nomag"), 3);
        AdapterFixtures.editConfig(noMag, "\"use_dora\" : false", "\"use_dora\" : true");
        ModelFormatException f = assertThrows(ModelFormatException.class, () -> LoraAdapter.load(noMag, qwen));
        assertTrue(f.getMessage().contains("lora_magnitude_vector"), f.getMessage());
    }

    // ---------------------------------------------------------------------------------------------
    // One layer against double arithmetic

    /** {@code x·Wᵀ + b} in double, x {@code (n, in)} row-major. */
    private static double[] linear(float[] x, float[] w, float[] b, int n, int in, int out) {
        double[] y = new double[n * out];
        for (int i = 0; i < n; i++) {
            for (int o = 0; o < out; o++) {
                double s = b == null ? 0 : b[o];
                for (int k = 0; k < in; k++) {
                    s += (double) x[i * in + k] * w[o * in + k];
                }
                y[i * out + o] = s;
            }
        }
        return y;
    }

    /** The model's own linear step (Layers.linear): hook before, base matmul, hook after. */
    private static NDArray layer(AdapterHook hook, String module, NDArray x, NDArray w, NDArray b) {
        NDArray in = hook.beforeLinear(module, x);
        NDArray y = b == null ? Linear.linear(in, w).singletonOrThrow() : Linear.linear(in, w, b).singletonOrThrow();
        return hook.afterLinear(module, in, y);
    }

    private static void assertClose(double[] expected, float[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what);
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        }
        System.out.printf("%s: max abs diff vs double reference %.2e%n", what, worst);
        assertTrue(worst < tol, what + ": " + worst);
    }

    @Test
    void ia3MatchesPlainArithmeticOnOneLayer() {
        PeftConfig config = ia3Defaults(Architecture.LLAMA);
        Path folder = writeIa3(qwen, config, tmp.resolve("ia3-random"), 21);
        Random random = new Random(5);
        try (LoraAdapter a = LoraAdapter.load(folder, qwen); NDManager step = root.newSubManager()) {
            Ia3Part part = (Ia3Part) a.parts().get(0);
            for (String module : List.of("model.layers.0.self_attn.k_proj", "model.layers.1.mlp.down_proj")) {
                LinearShape s = qwen.linears().get(module);
                int in = (int) s.in();
                int out = (int) s.out();
                float[] w = qwen.parameter(module + ".weight").toFloatArray();
                NDArray bias = qwen.parameter(module + ".bias");
                float[] b = bias == null ? null : bias.toFloatArray();
                float[] l = part.vectors().get(module).toFloatArray();
                int n = 6;
                float[] x = gaussian(random, n * in, 0, 1);
                double[] expected;
                if (config.feedforward(module)) {
                    float[] scaled = x.clone();
                    for (int i = 0; i < scaled.length; i++) {
                        scaled[i] = (float) ((double) x[i] * l[i % in]);
                    }
                    expected = linear(scaled, w, b, n, in, out);
                } else {
                    assertTrue(b != null, "qwen2's k_proj has a bias: IA3 scales it too");
                    expected = linear(x, w, b, n, in, out);
                    for (int i = 0; i < expected.length; i++) {
                        expected[i] *= l[i % out];
                    }
                }
                NDArray y = layer(MultiLoraHook.single(a), module, step.create(x, new Shape(2, 3, in)),
                        qwen.parameter(module + ".weight"), bias);
                assertClose(expected, y.toFloatArray(), 1e-4, "IA3 " + module);
            }
        }
    }

    @Test
    void doraMatchesPlainArithmeticOnOneLayer() {
        String module = "model.layers.1.self_attn.v_proj"; // with bias
        Path folder = writeDora(qwen, List.of("v_proj"), true, 0.3, tmp.resolve("dora-random"), 8);
        Random random = new Random(9);
        try (LoraAdapter d = LoraAdapter.load(folder, qwen); NDManager step = root.newSubManager();
                io.loragate.model.safetensors.SafetensorsFile f = io.loragate.model.safetensors.SafetensorsFile.open(
                        folder.resolve(LoraAdapter.WEIGHTS_FILE))) {
            LinearShape s = qwen.linears().get(module);
            int in = (int) s.in();
            int out = (int) s.out();
            int r = 4;
            double scale = 2.0;
            float[] w = qwen.parameter(module + ".weight").toFloatArray();
            float[] b = qwen.parameter(module + ".bias").toFloatArray();
            float[] a = f.readFloats(LoraAdapter.PREFIX + module + ".lora_A.weight");
            float[] bb = f.readFloats(LoraAdapter.PREFIX + module + ".lora_B.weight");
            float[] mag = f.readFloats(LoraAdapter.PREFIX + module + ".lora_magnitude_vector");
            double[] norms = rowNorms(w, a, bb, out, in, r, scale);
            int n = 6;
            float[] x = gaussian(random, n * in, 0, 1);
            double[] base = linear(x, w, b, n, in, out);
            double[] expected = new double[n * out];
            for (int i = 0; i < n; i++) {
                for (int o = 0; o < out; o++) {
                    double delta = 0;
                    for (int k = 0; k < r; k++) {
                        double ax = 0;
                        for (int j = 0; j < in; j++) {
                            ax += (double) a[k * in + j] * x[i * in + j];
                        }
                        delta += bb[o * r + k] * ax;
                    }
                    double g = mag[o] / norms[o];
                    double y = base[i * out + o];
                    // PEFT: base + (g - 1)·(base - bias) + g·scale·lora
                    expected[i * out + o] = y + (g - 1) * (y - b[o]) + g * scale * delta;
                }
            }
            NDArray y = layer(MultiLoraHook.single(d), module, step.create(x, new Shape(2, 3, in)),
                    qwen.parameter(module + ".weight"), qwen.parameter(module + ".bias"));
            assertClose(expected, y.toFloatArray(), 1e-4, "DoRA " + module);
        }
    }

    @Test
    void bottleneckMatchesPlainArithmeticOnOneSublayer() {
        for (String activation : PeftConfig.BOTTLENECK_ACTIVATIONS) {
            PeftConfig config = PeftConfig.bottleneck(5, PeftConfig.HOULSBY, activation, List.of(1), "CAUSAL_LM");
            Path folder = writeBottleneck(llama, config, tmp.resolve("bn-" + activation), 4);
            Random random = new Random(2);
            try (LoraAdapter a = LoraAdapter.load(folder, llama); NDManager step = root.newSubManager();
                    io.loragate.model.safetensors.SafetensorsFile f = io.loragate.model.safetensors.SafetensorsFile.open(
                            folder.resolve(LoraAdapter.WEIGHTS_FILE))) {
                assertEquals(8, f.tensors().size(), "layer 1 only, attention and MLP");
                String name = "model.layers.1.self_attn";
                int h = (int) llama.config().hiddenSize();
                int m = 5;
                String k = LoraAdapter.PREFIX + name;
                float[] dw = f.readFloats(k + ".adapter_down.weight");
                float[] db = f.readFloats(k + ".adapter_down.bias");
                float[] uw = f.readFloats(k + ".adapter_up.weight");
                float[] ub = f.readFloats(k + ".adapter_up.bias");
                int n = 6;
                float[] x = gaussian(random, n * h, 0, 1);
                double[] down = linear(x, dw, db, n, h, m);
                float[] act = new float[down.length];
                for (int i = 0; i < down.length; i++) {
                    double v = down[i];
                    act[i] = (float) switch (activation) {
                        case "relu" -> Math.max(0, v);
                        case "silu" -> v / (1 + Math.exp(-v));
                        default -> 0.5 * v * (1 + erf(v / Math.sqrt(2)));
                    };
                }
                double[] up = linear(act, uw, ub, n, m, h);
                double[] expected = new double[n * h];
                for (int i = 0; i < expected.length; i++) {
                    expected[i] = x[i] + up[i];
                }
                MultiLoraHook hook = MultiLoraHook.single(a);
                NDArray hx = step.create(x, new Shape(2, 3, h));
                assertClose(expected, hook.afterSublayer(name, hx).toFloatArray(), 1e-4, "bottleneck " + activation);
                assertEquals(hx, hook.afterSublayer("model.layers.0.self_attn", hx), "layer 0 is not transformed");
            }
        }
    }

    /** Abramowitz-Stegun 7.1.26 is too coarse; a series/continued evaluation in double. */
    private static double erf(double x) {
        double t = Math.abs(x);
        double sum = 0;
        double term = t;
        for (int n = 0; n < 200; n++) {
            sum += term / (2 * n + 1);
            term *= -t * t / (n + 1);
        }
        double v = 2 / Math.sqrt(Math.PI) * sum;
        return x < 0 ? -v : v;
    }

    // ---------------------------------------------------------------------------------------------
    // Formats

    @Test
    void loadingChecksEveryMethodsFiles() {
        PeftConfig ia3 = ia3Defaults(Architecture.LLAMA);
        Path missing = writeIa3(llama, ia3, tmp.resolve("ia3-missing"), 1);
        AdapterFixtures.rewrite(missing.resolve(LoraAdapter.WEIGHTS_FILE), (k, v) -> k.contains("layers.1.mlp") ? null : v);
        assertTrue(assertThrows(ModelFormatException.class, () -> LoraAdapter.load(missing, llama)).getMessage()
                .contains("no IA3 vector"));
        // the IA3 '.default' key variant loads
        Path withDefault = writeIa3(llama, ia3, tmp.resolve("ia3-default"), 1);
        renameKeys(withDefault, ".ia3_l", ".ia3_l.default");
        try (LoraAdapter a = LoraAdapter.load(withDefault, llama)) {
            assertEquals(1, a.parts().size());
        }
        PeftConfig bn = PeftConfig.bottleneck(4, PeftConfig.PFEIFFER, "relu", List.of(), "CAUSAL_LM");
        Path wrongWidth = writeBottleneck(llama, PeftConfig.bottleneck(6, PeftConfig.PFEIFFER, "relu", List.of(), "CAUSAL_LM"),
                tmp.resolve("bn-wrong"), 1);
        bn.write(wrongWidth);
        assertTrue(assertThrows(ModelFormatException.class, () -> LoraAdapter.load(wrongWidth, llama)).getMessage()
                .contains("bottleneck_size=4"));
        // layers_to_transform: IA3 on layer 1 only targets layer 1's modules
        PeftConfig layer1 = PeftConfig.ia3(List.of("k_proj", "v_proj", "down_proj"), List.of("down_proj"), List.of(1), "CAUSAL_LM");
        try (TrainableLora t = Ia3Method.fresh(llama, layer1, 1, null)) {
            assertEquals(3, t.parameters().size());
            t.parameters().keySet().forEach(k -> assertTrue(k.contains("layers.1."), k));
        }
        // ... and so does LoRA's trainer
        PeftConfig lora1 = PeftConfig.lora(LoraSection.plain(2, 4), PeftConfig.Modules.list(List.of("q_proj", "v_proj")),
                List.of(1), List.of(), "CAUSAL_LM", null);
        try (TrainableLora t = TrainableLora.create(llama, lora1, 1)) {
            assertEquals(List.of("model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"), t.moduleNames());
        }
    }

    private static void renameKeys(Path folder, String from, String to) {
        Path file = folder.resolve(LoraAdapter.WEIGHTS_FILE);
        io.loragate.model.safetensors.SafetensorsWriter w = new io.loragate.model.safetensors.SafetensorsWriter();
        try (io.loragate.model.safetensors.SafetensorsFile f = io.loragate.model.safetensors.SafetensorsFile.open(file)) {
            for (var t : f.tensors().values()) {
                w.addFloats(t.name().replace(from, to), t.shape(), f.readFloats(t.name()));
            }
        }
        w.write(file);
    }

    // ---------------------------------------------------------------------------------------------
    // Mixed batch

    @Test
    void mixedBatchOfEveryMethodEqualsEachRowAlone() {
        try (LoraAdapter lora = LoraAdapter.load(AdapterFixtures.adapter("tiny-llama", 0), llama);
                LoraAdapter ia3 = LoraAdapter.load(writeIa3(llama, ia3Defaults(Architecture.LLAMA), tmp.resolve("mix-ia3"), 31), llama);
                LoraAdapter dora = LoraAdapter.load(writeDora(llama, List.of("q_proj", "v_proj", "down_proj"), true, 0.2,
                        tmp.resolve("mix-dora"), 32), llama);
                LoraAdapter bn = LoraAdapter.load(writeBottleneck(llama, PeftConfig.bottleneck(6, PeftConfig.HOULSBY, "silu",
                        List.of(), "CAUSAL_LM"), tmp.resolve("mix-bn"), 33), llama);
                NDManager out = root.newSubManager()) {
            List<LoraAdapter> rows = Arrays.asList(lora, ia3, dora, bn, null, ia3);
            for (LoraAdapter a : List.of(ia3, dora, bn)) {
                assertTrue(diff(llama, MultiLoraHook.single(a), AdapterHook.NONE) > 1e-3, "each adapter changes the output");
            }
            double worst = 0;
            try (MultiLoraHook hook = new MultiLoraHook(rows); KvCache cache = llama.newCache(rows.size())) {
                NDArray batch = llama.forward(out, PROMPTS, cache, hook, true); // (rows, t, vocab), left-padded
                long t = batch.getShape().get(1);
                for (int p = 0; p < rows.size(); p++) {
                    float[] row = batch.get(p).get((t - PROMPTS[p].length) + ":").toFloatArray();
                    AdapterHook alone = rows.get(p) == null ? AdapterHook.NONE : MultiLoraHook.single(rows.get(p));
                    worst = Math.max(worst, Fixtures.maxAbsDiff(llama.logits(out, PROMPTS[p], alone).toFloatArray(), row));
                }
            }
            System.out.printf("mixed batch LoRA/IA3/DoRA/bottleneck/base vs each row alone: max abs logit diff %.2e%n", worst);
            assertTrue(worst < 1e-5, "batched vs alone " + worst);
            // greedy decoding through the KV cache: the mixed batch makes each row's own tokens
            SamplingParams[] greedy = new SamplingParams[rows.size()];
            Arrays.fill(greedy, SamplingParams.greedy(8));
            Generation[] together;
            try (MultiLoraHook hook = new MultiLoraHook(rows)) {
                together = Generator.generate(llama, PROMPTS, hook, greedy, null);
            }
            for (int p = 0; p < rows.size(); p++) {
                AdapterHook alone = rows.get(p) == null ? AdapterHook.NONE : MultiLoraHook.single(rows.get(p));
                Generation g = Generator.generate(llama, new long[][] {PROMPTS[p]}, alone, new SamplingParams[] {greedy[p]}, null)[0];
                assertEquals(Arrays.toString(g.tokens()), Arrays.toString(together[p].tokens()), "row " + p);
            }
        }
    }
}
