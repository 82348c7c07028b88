import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Weight storage formats for a batch-1 linear through DJL on this CPU (issue 17, item 8): which
 * path reads fewer bytes per token and is also faster. For each shape of the SmolLM2-135M benchmark
 * model (x (1, in) times W (out, in)ᵀ), times y = x·Wᵀ with W stored as
 * <ul>
 * <li>{@code f32}: float32, one linear (today's engine);</li>
 * <li>{@code f16_native}: float16 weight and input, linear in float16, result widened to float32;</li>
 * <li>{@code f16_upcast}: float16 weight widened to float32 on every call, then the float32 linear;</li>
 * <li>{@code i8_dequant}: int8 weight with per-output-channel scales, W ≈ q·s, dequantised on every call;</li>
 * <li>{@code i8_scale_out}: int8 weight widened to float32 (no scale), linear, then the output times s;</li>
 * <li>{@code i8_native}: linear with the int8 weight as it is (a DJL path for an int8 kernel, if any).</li>
 * </ul>
 * bfloat16 is probed in a throwaway child JVM only (DJL's CPU bfloat16 conversion aborts the JVM).
 * Prints one JSON object: per shape and variant the median and best milliseconds per call, the
 * bytes of the stored weight, and the bytes read per second that the median implies.
 *
 * <p>Run: {@code benchmarks/run.sh WeightFormatBenchmark [--rounds 40]}
 */
public class WeightFormatBenchmark {

    /** (out, in) of each weight timed: up/gate projection, down projection, the LM head. */
    static final long[][] SHAPES = {{1536, 576}, {576, 1536}, {49152, 576}};
    static final String[] VARIANTS = {"f32", "f16_native", "f16_upcast", "i8_dequant", "i8_scale_out", "i8_native"};

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            opt.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        if (opt.containsKey("probe")) {
            probe(opt.get("probe"));
            return;
        }
        int rounds = Integer.parseInt(opt.getOrDefault("rounds", "40"));
        StringBuilder json = new StringBuilder("{\n");
        json.append(String.format(Locale.ROOT, "  \"load_average\": %.2f,%n",
                java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()));
        json.append("  \"cores\": ").append(Runtime.getRuntime().availableProcessors()).append(",\n");
        json.append("  \"bf16_probe\": ").append(childProbe("bf16")).append(",\n");
        json.append("  \"f16_probe\": ").append(childProbe("f16")).append(",\n");
        json.append("  \"shapes\": [\n");
        try (NDManager m = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            for (int s = 0; s < SHAPES.length; s++) {
                json.append(shape(m, SHAPES[s][0], SHAPES[s][1], rounds));
                json.append(s + 1 < SHAPES.length ? ",\n" : "\n");
            }
        }
        json.append("  ]\n}");
        System.out.println(json);
    }

    /** One weight shape, every variant timed round-robin (a burst of load hurts all alike). */
    static String shape(NDManager m, long out, long in, int rounds) {
        try (NDManager s = m.newSubManager()) {
            NDArray w = s.randomNormal(0f, 0.05f, new Shape(out, in), DataType.FLOAT32); // (out, in)
            NDArray x = s.randomNormal(new Shape(1, in));                               // (1, in)
            NDArray x16 = x.toType(DataType.FLOAT16, true);
            NDArray w16 = w.toType(DataType.FLOAT16, true);
            NDArray scale = w.abs().max(new int[] {1}, true).div(127f);                 // (out, 1)
            NDArray q = w.div(scale).round().clip(-127, 127).toType(DataType.INT8, false); // (out, in)
            NDArray scaleRow = scale.reshape(1, out);                                   // (1, out)
            NDArray exact = Linear.linear(x, w).singletonOrThrow();                      // (1, out)
            Map<String, List<Double>> times = new LinkedHashMap<>();
            Map<String, String> errors = new LinkedHashMap<>();
            Map<String, Double> maxError = new LinkedHashMap<>();
            for (String v : VARIANTS) {
                times.put(v, new ArrayList<>());
            }
            for (int r = -2; r < rounds; r++) { // two warm-up rounds
                for (String v : VARIANTS) {
                    if (errors.containsKey(v)) {
                        continue;
                    }
                    try (NDManager call = s.newSubManager()) {
                        long t0 = System.nanoTime();
                        NDArray y = call(v, x, x16, w, w16, q, scale, scaleRow);
                        y.attach(call);
                        y.getFloat(0, 0); // forces completion without copying the whole result out
                        double ms = (System.nanoTime() - t0) / 1e6;
                        if (r >= 0) {
                            times.get(v).add(ms);
                        } else if (r == -1) {
                            maxError.put(v, (double) y.sub(exact).abs().max().getFloat());
                        }
                    } catch (RuntimeException e) {
                        errors.put(v, e.getClass().getSimpleName() + ": " + firstLine(e.getMessage()));
                    }
                }
            }
            StringBuilder j = new StringBuilder();
            j.append(String.format(Locale.ROOT, "    {\"out\": %d, \"in\": %d, \"variants\": {%n", out, in));
            for (int i = 0; i < VARIANTS.length; i++) {
                String v = VARIANTS[i];
                long bytes = out * in * bytesPerWeight(v) + (v.startsWith("i8") ? out * 4 : 0);
                j.append("      \"").append(v).append("\": ");
                if (errors.containsKey(v)) {
                    j.append("{\"error\": \"").append(errors.get(v).replace("\"", "'")).append("\"}");
                } else {
                    double[] t = times.get(v).stream().mapToDouble(Double::doubleValue).sorted().toArray();
                    double median = t[t.length / 2];
                    j.append(String.format(Locale.ROOT,
                            "{\"median_ms\": %.4f, \"best_ms\": %.4f, \"weight_bytes\": %d, \"weight_gb_per_s\": %.2f, \"max_abs_error\": %.3g}",
                            median, t[0], bytes, bytes / median / 1e6, maxError.get(v)));
                }
                j.append(i + 1 < VARIANTS.length ? ",\n" : "\n");
            }
            j.append("    }}");
            return j.toString();
        }
    }

    /** y = x·Wᵀ, (1, out) float32, by one variant. */
    static NDArray call(String v, NDArray x, NDArray x16, NDArray w, NDArray w16, NDArray q, NDArray scale,
            NDArray scaleRow) {
        return switch (v) {
            case "f32" -> Linear.linear(x, w).singletonOrThrow();
            case "f16_native" -> Linear.linear(x16, w16).singletonOrThrow().toType(DataType.FLOAT32, false);
            case "f16_upcast" -> Linear.linear(x, w16.toType(DataType.FLOAT32, false)).singletonOrThrow();
            case "i8_dequant" -> Linear.linear(x, q.toType(DataType.FLOAT32, false).mul(scale)).singletonOrThrow();
            case "i8_scale_out" -> Linear.linear(x, q.toType(DataType.FLOAT32, false)).singletonOrThrow().mul(scaleRow);
            case "i8_native" -> Linear.linear(x, q).singletonOrThrow().mul(scaleRow);
            default -> throw new IllegalArgumentException(v);
        };
    }

    static long bytesPerWeight(String v) {
        return v.startsWith("f32") ? 4 : v.startsWith("f16") ? 2 : 1;
    }

    /** Child JVM: converts a weight to the format and runs one linear in it; exits 0 if it survives. */
    static void probe(String format) {
        DataType type = format.equals("bf16") ? DataType.BFLOAT16 : DataType.FLOAT16;
        try (NDManager m = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            NDArray w = m.randomNormal(new Shape(64, 32));
            NDArray x = m.randomNormal(new Shape(1, 32));
            NDArray y = Linear.linear(x.toType(type, false), w.toType(type, false)).singletonOrThrow();
            float err = y.toType(DataType.FLOAT32, false).sub(Linear.linear(x, w).singletonOrThrow()).abs().max().getFloat();
            System.out.println("ok max_abs_error=" + err);
        }
    }

    /** Runs {@link #probe} in a throwaway JVM; JSON with its exit status and last output line. */
    static String childProbe(String format) throws Exception {
        String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        Process p = new ProcessBuilder(java, "-XX:-CreateCoredumpOnCrash", "-Dai.djl.offline=true", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-cp", System.getProperty("java.class.path"), "WeightFormatBenchmark", "--probe", format)
                .redirectErrorStream(true).start();
        byte[] outBytes = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        String[] lines = new String(outBytes, StandardCharsets.UTF_8).strip().split("\n");
        String last = Arrays.stream(lines).filter(l -> !l.isBlank()).reduce((a, b) -> b).orElse("");
        return String.format(Locale.ROOT, "{\"exit\": %d, \"last_line\": \"%s\"}", p.exitValue(),
                last.replace("\\", "/").replace("\"", "'").replace("\t", " "));
    }

    static String firstLine(String s) {
        return s == null ? "" : s.split("\n")[0];
    }
}
