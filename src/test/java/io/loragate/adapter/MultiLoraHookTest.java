package io.loragate.adapter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.loragate.model.AdapterHook;
import io.loragate.model.LinearShape;
import io.loragate.model.safetensors.SafetensorsFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The batched hook against a plain reference: {@code y_i + scale·(x_i·Aᵀ)·Bᵀ} computed in double
 * precision from the adapter files themselves.
 */
class MultiLoraHookTest {

    private static final double TOLERANCE = 1e-5;
    private static final String LLAMA = "tiny-llama";

    private static Path tmp;
    private static NDManager root;
    private static LoraAdapter a0;   // r=4, alpha=8, every projection
    private static LoraAdapter a1;   // r=8, alpha=32, every projection
    private static LoraAdapter a2;   // r=2 (6 on layer 1's q_proj), q/v/down only, per-module alpha
    private static LoraAdapter bert; // r=4 on query/value, replaces the classifier
    private static final Map<LoraAdapter, Path> FILES = new HashMap<>();
    private static final Map<LoraAdapter, Function<String, Double>> SCALES = new HashMap<>();

    @BeforeAll
    static void load() throws Exception {
        tmp = Files.createTempDirectory("multilora");
        root = NDManager.newBaseManager(Device.cpu(), "PyTorch");
        a0 = LoraAdapterTest.load(AdapterFixtures.adapter(LLAMA, 0), LLAMA);
        a1 = LoraAdapterTest.load(AdapterFixtures.adapter(LLAMA, 1), LLAMA);
        a2 = LoraAdapterTest.load(writeThirdAdapter(tmp.resolve("a2")), LLAMA);
        bert = LoraAdapterTest.load(AdapterFixtures.adapter("tiny-bert-cls", 0), "tiny-bert-cls");
        FILES.put(a0, AdapterFixtures.adapter(LLAMA, 0));
        FILES.put(a1, AdapterFixtures.adapter(LLAMA, 1));
        FILES.put(a2, tmp.resolve("a2"));
        FILES.put(bert, AdapterFixtures.adapter("tiny-bert-cls", 0));
        SCALES.put(a0, m -> 2.0);
        SCALES.put(a1, m -> 4.0);
        SCALES.put(a2, m -> m.endsWith("layers.1.self_attn.q_proj") ? 3.0 / 6 : m.endsWith("v_proj") ? 5.0 / 2 : 3.0 / 2);
        SCALES.put(bert, m -> 2.0);
    }

    /** A LoRA written by us: rank 2 except rank 6 on one module, alpha 3 except 5 on v_proj. */
    private static Path writeThirdAdapter(Path folder) {
        PeftConfig config = PeftConfig.parse(folder.resolve("adapter_config.json"), "{\"peft_type\":\"LORA\",\"r\":2,"
                + "\"lora_alpha\":3,\"target_modules\":[\"q_proj\",\"v_proj\",\"down_proj\"],"
                + "\"rank_pattern\":{\"layers.1.self_attn.q_proj\":6},\"alpha_pattern\":{\"v_proj\":5}}");
        LoraWriter w = new LoraWriter(config);
        Random random = new Random(7);
        try (NDManager m = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            for (LinearShape s : AdapterFixtures.linears(LLAMA).values()) {
                if (config.targets(s.module())) {
                    int r = config.lora().rankFor(s.module());
                    w.lora(s.module(), m.create(gaussian(random, r * (int) s.in(), 0.2f), new Shape(r, s.in())),
                            m.create(gaussian(random, (int) s.out() * r, 0.2f), new Shape(s.out(), r)));
                }
            }
        }
        w.write(folder);
        return folder;
    }

    @AfterAll
    static void close() throws Exception {
        for (LoraAdapter a : List.of(a0, a1, a2, bert)) {
            a.close();
        }
        root.close();
        try (var files = Files.walk(tmp)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private static float[] gaussian(Random random, int n, float sd) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (random.nextGaussian() * sd);
        }
        return v;
    }

    /** Runs the hook on random x and y for one module and compares with the reference, row by row. */
    private static void check(AdapterHook hook, List<LoraAdapter> rows, String module, long[] xShape, String what) {
        LinearShape shape = module.startsWith("bert") || module.equals("classifier")
                ? AdapterFixtures.linears("tiny-bert-cls").get(module) : AdapterFixtures.linears(LLAMA).get(module);
        long[] yShape = xShape.clone();
        yShape[yShape.length - 1] = shape.out();
        Random random = new Random(Arrays.hashCode(xShape) * 31L + module.hashCode());
        int n = (int) xShape[0];
        int perRowIn = (int) (Arrays.stream(xShape).reduce(1, (p, q) -> p * q) / n);
        int perRowOut = (int) (Arrays.stream(yShape).reduce(1, (p, q) -> p * q) / n);
        float[] x = gaussian(random, n * perRowIn, 1f);
        float[] y = gaussian(random, n * perRowOut, 1f);
        double[] expected = reference(rows, module, shape, x, y, n);
        try (NDManager step = root.newSubManager()) {
            NDArray xa = step.create(x, new Shape(xShape));
            NDArray ya = step.create(y, new Shape(yShape));
            NDArray out = hook.afterLinear(module, xa, ya);
            assertEquals(new Shape(yShape), out.getShape(), what);
            assertSame(step, out.getManager(), what + ": the result belongs to the step");
            float[] actual = out.toFloatArray();
            for (int i = 0; i < actual.length; i++) {
                double tol = TOLERANCE * Math.max(1, Math.abs(expected[i]));
                if (Math.abs(actual[i] - expected[i]) > tol) {
                    throw new AssertionError(what + " " + module + ": element " + i + " (row " + i / perRowOut + ") is "
                            + actual[i] + ", expected " + expected[i]);
                }
            }
        }
    }

    /** y_i + scale·(x_i·Aᵀ)·Bᵀ, or x_i·Wᵀ + b for a replaced module, in double precision. */
    private static double[] reference(List<LoraAdapter> rows, String module, LinearShape shape, float[] x, float[] y, int n) {
        int in = (int) shape.in();
        int out = (int) shape.out();
        int tokens = x.length / in / n;
        double[] result = new double[y.length];
        for (int i = 0; i < y.length; i++) {
            result[i] = y[i];
        }
        for (int row = 0; row < n; row++) {
            LoraAdapter a = rows.get(row);
            if (a == null) {
                continue;
            }
            try (SafetensorsFile f = SafetensorsFile.open(FILES.get(a).resolve("adapter_model.safetensors"))) {
                String key = "base_model.model." + module;
                if (f.contains(key + ".lora_A.weight")) {
                    float[] A = f.readFloats(key + ".lora_A.weight"); // (r, in)
                    float[] B = f.readFloats(key + ".lora_B.weight"); // (out, r)
                    int r = A.length / in;
                    double scale = SCALES.get(a).apply(module);
                    for (int t = 0; t < tokens; t++) {
                        int xo = (row * tokens + t) * in;
                        int yo = (row * tokens + t) * out;
                        double[] h = new double[r];
                        for (int j = 0; j < r; j++) {
                            for (int k = 0; k < in; k++) {
                                h[j] += (double) x[xo + k] * A[j * in + k];
                            }
                        }
                        for (int o = 0; o < out; o++) {
                            double d = 0;
                            for (int j = 0; j < r; j++) {
                                d += h[j] * B[o * r + j];
                            }
                            result[yo + o] += scale * d;
                        }
                    }
                } else if (f.contains(key + ".weight")) {
                    float[] W = f.readFloats(key + ".weight"); // (out, in)
                    float[] b = f.readFloats(key + ".bias");
                    for (int t = 0; t < tokens; t++) {
                        int xo = (row * tokens + t) * in;
                        int yo = (row * tokens + t) * out;
                        for (int o = 0; o < out; o++) {
                            double v = b[o];
                            for (int k = 0; k < in; k++) {
                                v += (double) x[xo + k] * W[o * in + k];
                            }
                            result[yo + o] = v;
                        }
                    }
                }
            }
        }
        return result;
    }

    private static final List<String> MODULES = List.of("model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.q_proj",
            "model.layers.0.self_attn.k_proj", "model.layers.1.self_attn.v_proj", "model.layers.1.mlp.down_proj",
            "model.layers.0.mlp.gate_proj", "lm_head");

    private static void checkAllWays(List<LoraAdapter> rows, long seq, String what) {
        for (long[] xShape : List.of(new long[] {rows.size(), seq, 0}, new long[] {rows.size(), 0})) {
            for (String module : MODULES) {
                long[] s = xShape.clone();
                s[s.length - 1] = AdapterFixtures.linears(LLAMA).get(module).in();
                String shape = Arrays.toString(s);
                check(MultiLoraHook.perForward(rows), rows, module, s, what + " auto " + shape);
                check(MultiLoraHook.withStrategy(rows, MultiLoraHook.Strategy.BATCHED), rows, module, s, what + " batched " + shape);
                check(MultiLoraHook.withStrategy(rows, MultiLoraHook.Strategy.RUNS), rows, module, s, what + " runs " + shape);
                try (MultiLoraHook cached = new MultiLoraHook(rows)) {
                    check(cached, rows, module, s, what + " cached " + shape);
                    check(cached, rows, module, s, what + " cached again " + shape);
                }
            }
        }
    }

    @Test
    void shuffledRowsOfThreeAdaptersAndTheBase() {
        checkAllWays(Arrays.asList(a1, null, a0, a2, a0, a1, null, a2, a2), 3, "shuffled");
    }

    @Test
    void sortedRowsInEvenRuns() {
        checkAllWays(Arrays.asList(a0, a0, a1, a1, a2, a2, null, null), 2, "sorted");
        checkAllWays(Arrays.asList(null, null, null, a2, a2, a2), 1, "base then one adapter");
        checkAllWays(Arrays.asList(a1, a1, a0, a0, a0, a0), 4, "two adapters");
    }

    @Test
    void oneAdapterOnEveryRow() {
        List<LoraAdapter> rows = Arrays.asList(a1, a1, a1);
        checkAllWays(rows, 5, "uniform");
        for (String module : MODULES) {
            check(MultiLoraHook.single(a1), rows, module, new long[] {3, 5, AdapterFixtures.linears(LLAMA).get(module).in()}, "single");
        }
    }

    @Test
    void rowsWithoutAdaptersComeBackUntouched() {
        try (NDManager step = root.newSubManager()) {
            NDArray x = step.randomNormal(new Shape(2, 3, 64));
            NDArray y = step.randomNormal(new Shape(2, 3, 64));
            assertSame(y, MultiLoraHook.perForward(Arrays.asList(null, null)).afterLinear("model.layers.0.self_attn.q_proj", x, y));
            assertSame(y, MultiLoraHook.perForward(Arrays.asList(a2, a2)).afterLinear("model.layers.0.self_attn.k_proj", x, y),
                    "a2 does not target k_proj");
            assertSame(y, MultiLoraHook.single(a0).afterLinear("lm_head", x, y));
            assertThrows(IllegalArgumentException.class,
                    () -> MultiLoraHook.perForward(Arrays.asList(a0, a1, a2)).afterLinear("model.layers.0.self_attn.q_proj", x, y));
        }
    }

    @Test
    void modulesToSaveReplaceTheirRowsOnly() {
        List<LoraAdapter> rows = Arrays.asList(bert, null, bert, null);
        for (MultiLoraHook hook : List.of(MultiLoraHook.perForward(rows), new MultiLoraHook(rows),
                MultiLoraHook.withStrategy(rows, MultiLoraHook.Strategy.BATCHED))) {
            check(hook, rows, "classifier", new long[] {4, 64}, "classifier");
            check(hook, rows, "bert.encoder.layer.1.attention.self.query", new long[] {4, 7, 64}, "query");
            check(hook, rows, "bert.encoder.layer.1.attention.self.key", new long[] {4, 7, 64}, "key");
        }
        List<LoraAdapter> all = Arrays.asList(bert, bert);
        check(MultiLoraHook.single(bert), all, "classifier", new long[] {2, 64}, "classifier for every row");
        check(MultiLoraHook.perForward(all), all, "classifier", new long[] {2, 64}, "classifier for every row");
        try (MultiLoraHook hook = new MultiLoraHook(all)) {
            check(hook, all, "classifier", new long[] {2, 64}, "classifier for every row");
        }
    }

    @Test
    void nothingIsAttachedToTheAdaptersManagers() {
        List<LoraAdapter> adapters = List.of(a0, a1, a2);
        List<Integer> before = new ArrayList<>();
        adapters.forEach(a -> before.add(a.manager().getManagedArrays().size()));
        List<LoraAdapter> rows = Arrays.asList(a2, a0, null, a1, a1);
        try (NDManager step = root.newSubManager(); MultiLoraHook cached = new MultiLoraHook(rows)) {
            for (AdapterHook hook : List.of(MultiLoraHook.perForward(rows), MultiLoraHook.withStrategy(rows, MultiLoraHook.Strategy.RUNS),
                    cached, MultiLoraHook.single(a2))) {
                for (String module : MODULES) {
                    long in = AdapterFixtures.linears(LLAMA).get(module).in();
                    long out = AdapterFixtures.linears(LLAMA).get(module).out();
                    hook.afterLinear(module, step.randomNormal(new Shape(5, 2, in)), step.zeros(new Shape(5, 2, out)));
                }
            }
            // 5 rows (runs of 1, 1, 1, 2: one group per row), rank padded to 8, float32:
            // in+out of q_proj ×2, k_proj, v_proj, down_proj, gate_proj; lm_head has no LoRA
            assertEquals(5L * 8 * 4 * (128 + 128 + 96 + 96 + 224 + 224), cached.cachedBytes());
            assertEquals(0, MultiLoraHook.perForward(rows).cachedBytes());
            List<Integer> after = new ArrayList<>();
            adapters.forEach(a -> after.add(a.manager().getManagedArrays().size()));
            assertEquals(before, after);
            assertTrue(step.getManagedArrays().size() > 0);
        }
    }

    @Test
    void aClosedHookCannotServe() {
        MultiLoraHook hook = new MultiLoraHook(Arrays.asList(a0, a1));
        try (NDManager step = root.newSubManager()) {
            NDArray x = step.randomNormal(new Shape(2, 64));
            hook.afterLinear("model.layers.0.self_attn.q_proj", x, x);
            hook.close();
            hook.close();
            assertThrows(IllegalStateException.class, () -> hook.afterLinear("model.layers.0.self_attn.q_proj", x, x));
        }
    }

    @Test
    void aClosedAdapterCannotServe() throws Exception {
        LoraAdapter tmpAdapter = LoraAdapterTest.load(AdapterFixtures.adapter(LLAMA, 0), LLAMA);
        tmpAdapter.close();
        assertThrows(IllegalStateException.class, () -> MultiLoraHook.perForward(Arrays.asList(null, tmpAdapter)));
    }
}
