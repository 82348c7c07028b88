import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.loragate.adapter.LoraAdapter;
import io.loragate.adapter.MultiLoraHook;
import io.loragate.model.AdapterHook;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.model.KvCache;
import io.loragate.model.WeightFormat;
import io.loragate.model.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Engine benchmark (issue 2, item 15): a randomly initialised decoder of the SmolLM2-135M shape,
 * prefill and decode throughput at batch 1, 8 and 32 for the base, one shared LoRA (r=16 on
 * q,k,v,o), 8 distinct and 32 distinct adapters; plus this machine's float32 matmul and memory
 * bandwidth ceilings measured through DJL in the same run. Prints one JSON object.
 *
 * <p>Run: {@code benchmarks/run.sh EngineBenchmark [--prompt 64] [--decode 16] [--repeats 3] [--weight-format int8]}
 */
public class EngineBenchmark {

    static final int HIDDEN = 576, LAYERS = 30, HEADS = 9, KV_HEADS = 3, INTER = 1536, VOCAB = 49152;
    static final int RANK = 16;

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            opt.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        int promptLen = Integer.parseInt(opt.getOrDefault("prompt", "64"));
        int decodeSteps = Integer.parseInt(opt.getOrDefault("decode", "16"));
        int repeats = Integer.parseInt(opt.getOrDefault("repeats", "3"));
        int layers = Integer.parseInt(opt.getOrDefault("layers", String.valueOf(LAYERS)));
        int[] batches = java.util.Arrays.stream(opt.getOrDefault("batches", "1,8,32").split(",")).mapToInt(Integer::parseInt).toArray();
        // how the base holds its weights (docs/weight-formats.md); the bound below uses the bytes so held
        WeightFormat format = WeightFormat.parse(opt.getOrDefault("weight-format", "float32"));

        Path dir = Files.createTempDirectory("loragate-bench");
        try {
            Path modelDir = writeRandomModel(dir.resolve("smollm2-135m-shape"), layers);
            StringBuilder json = new StringBuilder();
            try (CausalModel model = (CausalModel) BaseModel.load(modelDir, Device.cpu(), format)) {
                double matmulGflops = matmulCeiling(model.manager());
                double bandwidth = bandwidthCeiling(model.manager());
                List<LoraAdapter> adapters = new ArrayList<>();
                for (int a = 0; a < 32; a++) {
                    adapters.add(LoraAdapter.load(writeRandomAdapter(dir.resolve("adapter" + a), model, a),
                            model.config().family(), model.linears(), model.paramShapes(), Device.cpu()));
                }
                // per prompt token: every linear layer but the LM head, which prefill runs on each row's last token only
                double flopsPerToken = 2.0 * (linearParams(model) - (double) HIDDEN * VOCAB);
                double weightBytes = model.weightBytes();
                List<Row> rows = new ArrayList<>();
                for (int batch : batches) {
                    Map<String, List<LoraAdapter>> variants = new LinkedHashMap<>();
                    variants.put("a_base", null);
                    variants.put("b_same_adapter", repeat(adapters.get(0), batch));
                    if (batch >= 8) {
                        variants.put("c_8_adapters", spread(adapters, 8, batch));
                    }
                    if (batch >= 32) {
                        variants.put("d_32_adapters", spread(adapters, 32, batch));
                    }
                    // variants are measured round-robin (best of `repeats` each), so a burst of load
                    // on the machine hurts every variant alike instead of skewing one ratio
                    Map<String, MultiLoraHook> hooks = new LinkedHashMap<>();
                    Map<String, double[]> best = new LinkedHashMap<>();
                    for (var v : variants.entrySet()) {
                        // the engine keeps one hook per unchanged batch (stacked weights are reused across steps)
                        hooks.put(v.getKey(), v.getValue() == null ? null : new MultiLoraHook(v.getValue()));
                        best.put(v.getKey(), new double[] {0, 0});
                        run(model, hook(hooks.get(v.getKey())), batch, promptLen, decodeSteps); // warm-up
                    }
                    for (int r = 0; r < repeats; r++) {
                        for (String key : variants.keySet()) {
                            double[] t = run(model, hook(hooks.get(key)), batch, promptLen, decodeSteps);
                            best.get(key)[0] = Math.max(best.get(key)[0], t[0]);
                            best.get(key)[1] = Math.max(best.get(key)[1], t[1]);
                        }
                        matmulGflops = Math.max(matmulGflops, matmulCeiling(model.manager()));
                        bandwidth = Math.max(bandwidth, bandwidthCeiling(model.manager()));
                    }
                    hooks.values().forEach(h -> {
                        if (h != null) {
                            h.close();
                        }
                    });
                    for (var e : best.entrySet()) {
                        rows.add(new Row(batch, e.getKey(), e.getValue(), best.get("a_base"), best.get("b_same_adapter")));
                    }
                    System.err.println("done batch " + batch);
                }
                double decodeBound = bandwidth / weightBytes;
                json.append("{\n  \"machine\": {\"cores\": ").append(Runtime.getRuntime().availableProcessors())
                        .append(", \"matmul_gflops_f32\": ").append(fmt(matmulGflops))
                        .append(", \"memory_bandwidth_gbs\": ").append(fmt(bandwidth / 1e9)).append("},\n")
                        .append("  \"model\": {\"shape\": \"SmolLM2-135M\", \"layers\": ").append(layers)
                        .append(", \"weight_format\": \"").append(format.settingName()).append("\"")
                        .append(", \"weight_bytes\": ").append((long) weightBytes)
                        .append(", \"decode_bound_tokens_per_s_batch1\": ").append(fmt(decodeBound)).append("},\n")
                        .append("  \"settings\": {\"prompt_tokens\": ").append(promptLen).append(", \"decode_steps\": ")
                        .append(decodeSteps).append(", \"repeats\": ").append(repeats).append(", \"lora_rank\": ").append(RANK)
                        .append(", \"lora_targets\": \"q,k,v,o\"},\n  \"results\": [\n");
                boolean first = true;
                for (Row row : rows) {
                    double[] b = row.best();
                    json.append(first ? "" : ",\n").append("    {\"batch\": ").append(row.batch()).append(", \"variant\": \"")
                            .append(row.variant()).append("\", \"prefill_tokens_per_s\": ").append(fmt(b[0]))
                            .append(", \"decode_tokens_per_s\": ").append(fmt(b[1]))
                            .append(", \"prefill_gflops\": ").append(fmt(b[0] * flopsPerToken / 1e9))
                            .append(", \"prefill_ratio_to_matmul_ceiling\": ").append(fmt(b[0] * flopsPerToken / 1e9 / matmulGflops));
                    if (row.batch() == 1) {
                        json.append(", \"decode_ratio_to_bandwidth_bound\": ").append(fmt(b[1] / decodeBound));
                    }
                    if (!row.variant().equals("a_base")) {
                        json.append(", \"prefill_vs_base\": ").append(fmt(b[0] / row.base()[0]))
                                .append(", \"decode_vs_base\": ").append(fmt(b[1] / row.base()[1]));
                    }
                    if (row.variant().startsWith("c") || row.variant().startsWith("d")) {
                        json.append(", \"prefill_vs_same_adapter\": ").append(fmt(b[0] / row.same()[0]))
                                .append(", \"decode_vs_same_adapter\": ").append(fmt(b[1] / row.same()[1]));
                    }
                    json.append("}");
                    first = false;
                }
                json.append("\n  ]\n}");
                adapters.forEach(LoraAdapter::close);
            }
            System.out.println(json);
        } finally {
            deleteTree(dir);
        }
    }

    /** One measured variant with the same batch's base and same-adapter figures for ratios. */
    record Row(int batch, String variant, double[] best, double[] base, double[] same) {
    }

    static AdapterHook hook(MultiLoraHook h) {
        return h == null ? AdapterHook.NONE : h;
    }

    /** Prefill {@code batch} prompts, then decode; returns {prefill tokens/s, decode tokens/s}. */
    static double[] run(CausalModel model, AdapterHook hook, int batch, int promptLen, int steps) {
        SplittableRandom rnd = new SplittableRandom(7);
        long[][] prompts = new long[batch][promptLen];
        for (long[] p : prompts) {
            for (int i = 0; i < promptLen; i++) {
                p[i] = rnd.nextInt(VOCAB);
            }
        }
        try (KvCache cache = model.newCache(batch); NDManager scope = model.manager().newSubManager()) {
            long t0 = System.nanoTime();
            try (NDManager step = scope.newSubManager()) {
                model.forward(step, prompts, cache, hook, false).toFloatArray();
            }
            long t1 = System.nanoTime();
            long[][] next = new long[batch][1];
            for (int s = 0; s < steps; s++) {
                try (NDManager step = scope.newSubManager()) {
                    float[] logits = model.forward(step, next, cache, hook, false).toFloatArray();
                    for (int r = 0; r < batch; r++) {
                        next[r][0] = (s * 31 + r * 7) % VOCAB; // sampling is not what is measured
                    }
                    if (logits.length != batch * VOCAB) {
                        throw new IllegalStateException();
                    }
                }
            }
            long t2 = System.nanoTime();
            return new double[] {batch * (double) promptLen / ((t1 - t0) / 1e9), batch * (double) steps / ((t2 - t1) / 1e9)};
        }
    }

    /** Best float32 GFLOP/s of DJL matmuls shaped like the model's (square and MLP-shaped), best of many. */
    static double matmulCeiling(NDManager m) {
        long[][] shapes = {{2048, 2048, 2048}, {2048, HIDDEN, INTER}, {2048, INTER, HIDDEN}};
        double best = 0;
        try (NDManager s = m.newSubManager()) {
            for (long[] mkn : shapes) {
                NDArray a = s.randomNormal(new Shape(mkn[0], mkn[1]));
                NDArray b = s.randomNormal(new Shape(mkn[1], mkn[2]));
                for (int i = 0; i < 10; i++) {
                    long t0 = System.nanoTime();
                    NDArray c = a.matMul(b);
                    c.getFloat(0, 0); // forces completion without copying the result out
                    double sec = (System.nanoTime() - t0) / 1e9;
                    c.close();
                    best = Math.max(best, 2.0 * mkn[0] * mkn[1] * mkn[2] / sec / 1e9);
                }
            }
        }
        return best;
    }

    static double bandwidthCeiling(NDManager m) {
        long n = 64L * 1024 * 1024; // 256 MiB of float32, far beyond cache
        try (NDManager s = m.newSubManager()) {
            NDArray a = s.ones(new Shape(n));
            double best = 0;
            for (int i = 0; i < 8; i++) {
                long t0 = System.nanoTime();
                a.sum().getFloat();
                double sec = (System.nanoTime() - t0) / 1e9;
                best = Math.max(best, n * 4.0 / sec);
            }
            return best;
        }
    }

    static long linearParams(CausalModel model) {
        return model.linears().values().stream().mapToLong(l -> l.in() * l.out()).sum();
    }

    static List<LoraAdapter> repeat(LoraAdapter a, int n) {
        List<LoraAdapter> l = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            l.add(a);
        }
        return l;
    }

    /** {@code distinct} adapters over {@code batch} rows, rows grouped by adapter as the engine sorts them. */
    static List<LoraAdapter> spread(List<LoraAdapter> all, int distinct, int batch) {
        List<LoraAdapter> l = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            l.add(all.get(i * distinct / batch));
        }
        return l;
    }

    static Path writeRandomModel(Path dir, int layers) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), String.format(Locale.ROOT, """
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": %d,
                 "intermediate_size": %d, "num_hidden_layers": %d, "num_attention_heads": %d,
                 "num_key_value_heads": %d, "vocab_size": %d, "max_position_embeddings": 8192,
                 "rms_norm_eps": 1e-5, "rope_theta": 100000.0, "tie_word_embeddings": true, "hidden_act": "silu",
                 "bos_token_id": 1, "eos_token_id": 2}""", HIDDEN, INTER, layers, HEADS, KV_HEADS, VOCAB));
        SplittableRandom rnd = new SplittableRandom(1);
        SafetensorsWriter w = new SafetensorsWriter();
        int hd = HIDDEN / HEADS;
        w.addFloats("model.embed_tokens.weight", new long[] {VOCAB, HIDDEN}, random(rnd, VOCAB * HIDDEN));
        for (int i = 0; i < layers; i++) {
            String p = "model.layers." + i;
            w.addFloats(p + ".input_layernorm.weight", new long[] {HIDDEN}, ones(HIDDEN));
            w.addFloats(p + ".post_attention_layernorm.weight", new long[] {HIDDEN}, ones(HIDDEN));
            w.addFloats(p + ".self_attn.q_proj.weight", new long[] {HEADS * hd, HIDDEN}, random(rnd, HEADS * hd * HIDDEN));
            w.addFloats(p + ".self_attn.k_proj.weight", new long[] {KV_HEADS * hd, HIDDEN}, random(rnd, KV_HEADS * hd * HIDDEN));
            w.addFloats(p + ".self_attn.v_proj.weight", new long[] {KV_HEADS * hd, HIDDEN}, random(rnd, KV_HEADS * hd * HIDDEN));
            w.addFloats(p + ".self_attn.o_proj.weight", new long[] {HIDDEN, HEADS * hd}, random(rnd, HIDDEN * HEADS * hd));
            w.addFloats(p + ".mlp.gate_proj.weight", new long[] {INTER, HIDDEN}, random(rnd, INTER * HIDDEN));
            w.addFloats(p + ".mlp.up_proj.weight", new long[] {INTER, HIDDEN}, random(rnd, INTER * HIDDEN));
            w.addFloats(p + ".mlp.down_proj.weight", new long[] {HIDDEN, INTER}, random(rnd, HIDDEN * INTER));
        }
        w.addFloats("model.norm.weight", new long[] {HIDDEN}, ones(HIDDEN));
        w.write(dir.resolve("model.safetensors"));
        return dir;
    }

    static Path writeRandomAdapter(Path dir, CausalModel model, int seed) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("adapter_config.json"), String.format(Locale.ROOT, """
                {"peft_type": "LORA", "r": %d, "lora_alpha": 32, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"],
                 "bias": "none", "fan_in_fan_out": false, "use_rslora": false, "task_type": "CAUSAL_LM"}""", RANK));
        SplittableRandom rnd = new SplittableRandom(100 + seed);
        SafetensorsWriter w = new SafetensorsWriter();
        for (var l : model.linears().values()) {
            if (l.module().matches(".*\\.(q|k|v|o)_proj")) {
                w.addFloats("base_model.model." + l.module() + ".lora_A.weight", new long[] {RANK, l.in()}, random(rnd, (int) (RANK * l.in())));
                w.addFloats("base_model.model." + l.module() + ".lora_B.weight", new long[] {l.out(), RANK}, random(rnd, (int) (l.out() * RANK)));
            }
        }
        w.write(dir.resolve("adapter_model.safetensors"));
        return dir;
    }

    static float[] random(SplittableRandom rnd, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) ((rnd.nextDouble() * 2 - 1) * 0.035); // uniform with std ≈ 0.02
        }
        return f;
    }

    static float[] ones(int n) {
        float[] f = new float[n];
        java.util.Arrays.fill(f, 1f);
        return f;
    }

    static String fmt(double d) {
        return String.format(Locale.ROOT, "%.4g", d);
    }

    static void deleteTree(Path dir) throws IOException {
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
