import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.loragate.adapter.LoraAdapter;
import io.loragate.adapter.MultiLoraHook;
import io.loragate.model.AdapterHook;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.model.GreedyChoice;
import io.loragate.model.KvCache;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Engine (JNI) calls per batch-1 greedy decode step on EngineBenchmark's random SmolLM2-135M-shaped
 * model, for the base and for one LoRA (r=16 on q,k,v,o), by PyTorch native method, with the
 * step's wall time and the calling thread's CPU time (one intra-op thread: all of the step's work
 * runs on it, so its CPU time holds up on a busy machine better than wall time). Needs the counting
 * agent: run with {@code benchmarks/decode-calls.sh [--layers 30] [--steps 8]}. Prints JSON.
 */
public class DecodeCalls {

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            opt.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        int layers = Integer.parseInt(opt.getOrDefault("layers", "30"));
        int steps = Integer.parseInt(opt.getOrDefault("steps", "8"));
        int promptLen = Integer.parseInt(opt.getOrDefault("prompt", "64"));
        Class<?> counter;
        try {
            counter = Class.forName("JniCallCounter");
        } catch (ClassNotFoundException e) {
            System.err.println("DecodeCalls needs the JNI counting agent: run benchmarks/decode-calls.sh");
            System.exit(2);
            return;
        }
        var snapshot = counter.getMethod("snapshot");
        Path dir = Files.createTempDirectory("loragate-calls");
        StringBuilder json = new StringBuilder("{\n  \"layers\": " + layers + ", \"steps\": " + steps + ",\n  \"per_step\": {");
        try {
            Path modelDir = EngineBenchmark.writeRandomModel(dir.resolve("model"), layers);
            try (CausalModel model = (CausalModel) BaseModel.load(modelDir, Device.cpu());
                    LoraAdapter lora = LoraAdapter.load(EngineBenchmark.writeRandomAdapter(dir.resolve("adapter"), model, 0),
                            model.config().family(), model.linears(), model.paramShapes(), Device.cpu());
                    MultiLoraHook oneAdapter = new MultiLoraHook(List.of(lora))) {
                Map<String, AdapterHook> variants = new LinkedHashMap<>();
                variants.put("base", AdapterHook.NONE);
                variants.put("one_adapter", oneAdapter);
                boolean first = true;
                for (var v : variants.entrySet()) {
                    SplittableRandom rnd = new SplittableRandom(7);
                    long[][] prompt = new long[1][promptLen];
                    for (int i = 0; i < promptLen; i++) {
                        prompt[0][i] = rnd.nextInt(EngineBenchmark.VOCAB);
                    }
                    try (KvCache cache = model.newCache(1); NDManager scope = model.manager().newSubManager()) {
                        long[][] next = {{step(model, scope, prompt, cache, v.getValue())}};
                        for (int s = 0; s < 2; s++) { // warm-up
                            next[0][0] = step(model, scope, next, cache, v.getValue());
                        }
                        @SuppressWarnings("unchecked")
                        Map<String, Long> before = (Map<String, Long>) snapshot.invoke(null);
                        var threads = java.lang.management.ManagementFactory.getThreadMXBean();
                        long c0 = threads.getCurrentThreadCpuTime();
                        long t0 = System.nanoTime();
                        for (int s = 0; s < steps; s++) {
                            next[0][0] = step(model, scope, next, cache, v.getValue());
                        }
                        double ms = (System.nanoTime() - t0) / 1e6 / steps;
                        double cpuMs = (threads.getCurrentThreadCpuTime() - c0) / 1e6 / steps;
                        @SuppressWarnings("unchecked")
                        Map<String, Long> after = (Map<String, Long>) snapshot.invoke(null);
                        Map<String, Long> diff = new HashMap<>();
                        after.forEach((k, n) -> {
                            long d = n - before.getOrDefault(k, 0L);
                            if (d > 0) {
                                diff.put(k, d);
                            }
                        });
                        long total = diff.values().stream().mapToLong(Long::longValue).sum();
                        List<Map.Entry<String, Long>> sorted = new ArrayList<>(diff.entrySet());
                        sorted.sort((a, b) -> Long.compare(b.getValue(), a.getValue()));
                        json.append(first ? "" : ",").append("\n    \"").append(v.getKey()).append("\": {\"total\": ")
                                .append(String.format(java.util.Locale.ROOT, "%.1f", total / (double) steps))
                                .append(", \"wall_ms_per_step\": ").append(String.format(java.util.Locale.ROOT, "%.1f", ms))
                                .append(", \"thread_cpu_ms_per_step\": ").append(String.format(java.util.Locale.ROOT, "%.1f", cpuMs))
                                .append(", \"by_method\": {");
                        boolean f = true;
                        for (var e : sorted) {
                            json.append(f ? "" : ", ").append('"').append(e.getKey()).append("\": ")
                                    .append(String.format(java.util.Locale.ROOT, "%.1f", e.getValue() / (double) steps));
                            f = false;
                        }
                        json.append("}}");
                        first = false;
                    }
                }
            }
            System.out.println(json.append("\n  }\n}"));
        } finally {
            EngineBenchmark.deleteTree(dir);
        }
    }

    /** One greedy step as the engine runs it: forward, then the row's token chosen on the device. */
    static long step(CausalModel model, NDManager scope, long[][] tokens, KvCache cache, AdapterHook hook) {
        try (NDManager step = scope.newSubManager()) {
            return GreedyChoice.of(model.forward(step, tokens, cache, hook, false))[0].token();
        }
    }
}
