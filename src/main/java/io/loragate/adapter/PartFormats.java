package io.loragate.adapter;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.loragate.model.LinearShape;
import io.loragate.common.LoragateException;
import io.loragate.common.ModelFormatException;
import io.loragate.model.safetensors.Dtype;
import io.loragate.model.safetensors.SafetensorsFile;
import io.loragate.model.safetensors.TensorInfo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reading the weights of the methods that are {@link AdapterPart parts} (IA3, DoRA, bottleneck)
 * from a PEFT-style folder: which keys they own, the checks against the config and the base, and
 * the served arrays. {@link LoraAdapter#load} calls it for every folder.
 */
final class PartFormats {

    private PartFormats() {
    }

    private static final Pattern IA3_KEY = Pattern.compile("(.+)\\.ia3_l(?:\\.default)?(?:\\.weight)?");
    private static final Pattern DORA_KEY = Pattern.compile("(.+)\\.lora_magnitude_vector(?:\\.default)?(?:\\.weight)?");
    private static final Pattern BOTTLENECK_KEY = Pattern.compile("(.+)\\.adapter_(down|up)(?:\\.default)?\\.(weight|bias)");

    /** A sub-layer that {@link io.loragate.model.AdapterHook#afterSublayer} names: its layer, kind and width. */
    record Sublayer(String name, int layer, boolean mlp, long hidden) {
    }

    private static final Pattern ATTN_OUT = Pattern.compile(
            "((?:.*\\.)?(?:layers|h|layer)\\.(\\d+))\\.(self_attn|attn|attention)\\.(?:o_proj|c_proj|output\\.dense)");
    private static final Pattern MLP_OUT = Pattern.compile(
            "((?:.*\\.)?(?:layers|h|layer)\\.(\\d+))\\.(?:mlp\\.(?:down_proj|c_proj)|output\\.dense)");

    /**
     * The sub-layers of a base, from its linear layers: Llama {@code <layer>.self_attn} /
     * {@code <layer>.mlp}, GPT-2 {@code <layer>.attn} / {@code <layer>.mlp}, BERT
     * {@code <layer>.attention} / {@code <layer>.mlp}; in layer order, attention first.
     */
    static List<Sublayer> sublayers(Map<String, LinearShape> linears) {
        Map<String, Sublayer> out = new TreeMap<>();
        for (LinearShape l : linears.values()) {
            Matcher a = ATTN_OUT.matcher(l.module());
            Matcher m = MLP_OUT.matcher(l.module());
            if (a.matches()) {
                out.put(a.group(1) + "." + a.group(3), new Sublayer(a.group(1) + "." + a.group(3), Integer.parseInt(a.group(2)),
                        false, l.out()));
            } else if (m.matches()) {
                out.put(m.group(1) + ".mlp", new Sublayer(m.group(1) + ".mlp", Integer.parseInt(m.group(2)), true, l.out()));
            }
        }
        List<Sublayer> list = new ArrayList<>(out.values());
        list.sort((x, y) -> x.layer != y.layer ? Integer.compare(x.layer, y.layer) : Boolean.compare(x.mlp, y.mlp));
        return list;
    }

    /** The sub-layers a bottleneck config adapts: MLP only ({@code pfeiffer}) or both, in layers_to_transform. */
    static List<Sublayer> adapted(PeftConfig config, Map<String, LinearShape> linears) {
        boolean houlsby = config.placement().equals(PeftConfig.HOULSBY);
        List<Sublayer> out = new ArrayList<>();
        for (Sublayer s : sublayers(linears)) {
            if ((s.mlp || houlsby) && config.transformsLayer(s.layer)) {
                out.add(s);
            }
        }
        return out;
    }

    /** Whether a key (without the PEFT prefix) holds weights of the config's part rather than LoRA or a saved module. */
    static boolean claims(PeftConfig config, String rest) {
        return switch (config.peftType()) {
            case PeftConfig.IA3 -> IA3_KEY.matcher(rest).matches();
            case PeftConfig.BOTTLENECK -> BOTTLENECK_KEY.matcher(rest).matches();
            default -> config.useDora() && DORA_KEY.matcher(rest).matches();
        };
    }

    /** The part's tensors, checked: by module (IA3, DoRA) or sub-layer and leaf (bottleneck: {@code down.weight}, ...). */
    record Layout(Map<String, TensorInfo> tensors) {
    }

    static Layout layout(PeftConfig config, Path path, Map<String, TensorInfo> claimed, Map<String, LinearShape> linears,
            Set<String> loraModules) {
        Map<String, TensorInfo> byTarget = new LinkedHashMap<>();
        switch (config.peftType()) {
            case PeftConfig.IA3 -> {
                for (TensorInfo t : claimed.values()) {
                    Matcher m = IA3_KEY.matcher(t.name().substring(LoraAdapter.PREFIX.length()));
                    m.matches();
                    String module = m.group(1);
                    LinearShape l = linears.get(module);
                    if (l == null) {
                        throw new ModelFormatException(path, "IA3 module '" + module + "' does not exist in the base model");
                    }
                    if (!config.targets(module)) {
                        throw new ModelFormatException(path, "has IA3 weights for '" + module
                                + "', which adapter_config.json's target_modules does not select");
                    }
                    long[] want = config.feedforward(module) ? new long[] {1, l.in()} : new long[] {l.out(), 1};
                    checkShape(path, t, want, config.feedforward(module) ? "(1, in) for a feedforward module"
                            : "(out, 1)");
                    put(path, byTarget, module, t);
                }
                int targeted = 0;
                for (String module : linears.keySet()) {
                    if (config.targets(module)) {
                        targeted++;
                        if (!byTarget.containsKey(module)) {
                            throw new ModelFormatException(path, "adapter_config.json targets '" + module
                                    + "' but the file has no IA3 vector for it");
                        }
                    }
                }
                if (targeted == 0) {
                    throw new ModelFormatException(path.resolveSibling(PeftConfig.FILE_NAME),
                            "target_modules selects no linear layer of the base model");
                }
            }
            case PeftConfig.BOTTLENECK -> {
                Map<String, Sublayer> adapted = new LinkedHashMap<>();
                adapted(config, linears).forEach(s -> adapted.put(s.name, s));
                if (adapted.isEmpty()) {
                    throw new ModelFormatException(path.resolveSibling(PeftConfig.FILE_NAME),
                            "placement and layers_to_transform select no sub-layer of the base model");
                }
                int m = config.bottleneckSize();
                for (TensorInfo t : claimed.values()) {
                    Matcher k = BOTTLENECK_KEY.matcher(t.name().substring(LoraAdapter.PREFIX.length()));
                    k.matches();
                    Sublayer s = adapted.get(k.group(1));
                    if (s == null) {
                        throw new ModelFormatException(path, "tensor '" + t.name() + "' adapts sub-layer '" + k.group(1)
                                + "', which is not one that adapter_config.json's placement and layers_to_transform select"
                                + " in the base model");
                    }
                    boolean down = k.group(2).equals("down");
                    boolean weight = k.group(3).equals("weight");
                    long h = s.hidden;
                    long[] want = weight ? (down ? new long[] {m, h} : new long[] {h, m}) : new long[] {down ? m : h};
                    checkShape(path, t, want, "(bottleneck_size=" + m + ", hidden=" + h + ")");
                    put(path, byTarget, s.name + "." + k.group(2) + "." + k.group(3), t);
                }
                for (Sublayer s : adapted.values()) {
                    for (String leaf : List.of("down.weight", "down.bias", "up.weight", "up.bias")) {
                        if (!byTarget.containsKey(s.name + "." + leaf)) {
                            throw new ModelFormatException(path, "sub-layer '" + s.name + "' lacks adapter_"
                                    + leaf + " (placement " + config.placement() + " adapts it)");
                        }
                    }
                }
            }
            default -> {
                if (!config.useDora()) {
                    return new Layout(Map.of());
                }
                for (TensorInfo t : claimed.values()) {
                    Matcher m = DORA_KEY.matcher(t.name().substring(LoraAdapter.PREFIX.length()));
                    m.matches();
                    String module = m.group(1);
                    if (!loraModules.contains(module)) {
                        throw new ModelFormatException(path, "has a DoRA magnitude for '" + module
                                + "', which has no LoRA weights");
                    }
                    checkShape(path, t, new long[] {linears.get(module).out()}, "(out)");
                    put(path, byTarget, module, t);
                }
                for (String module : loraModules) {
                    if (!byTarget.containsKey(module)) {
                        throw new ModelFormatException(path, "adapter_config.json sets use_dora but module '" + module
                                + "' has no lora_magnitude_vector");
                    }
                }
            }
        }
        return new Layout(byTarget);
    }

    private static void put(Path path, Map<String, TensorInfo> byTarget, String key, TensorInfo t) {
        TensorInfo before = byTarget.put(key, t);
        if (before != null) {
            throw new ModelFormatException(path, "'" + key + "' has two tensors ('" + before.name() + "' and '" + t.name() + "')");
        }
    }

    private static void checkShape(Path path, TensorInfo t, long[] want, String what) {
        if (t.dtype() != Dtype.F32 && t.dtype() != Dtype.F16 && t.dtype() != Dtype.BF16) {
            throw new ModelFormatException(path, "tensor '" + t.name() + "' is " + t.dtype()
                    + "; adapter weights must be F32, F16 or BF16");
        }
        if (!Arrays.equals(t.shape(), want)) {
            throw new ModelFormatException(path, "tensor '" + t.name() + "' has shape " + Arrays.toString(t.shape())
                    + " but the base model needs " + Arrays.toString(want) + " " + what
                    + "; the adapter was made for another base model");
        }
    }

    /**
     * The served part of a checked layout, in {@code manager}; bytes added to {@code bytes[0]}.
     *
     * @param baseParams the base's parameters by checkpoint name (linear weights {@code (out, in)}), for DoRA; may be null otherwise
     */
    static List<AdapterPart> read(PeftConfig config, SafetensorsFile file, Layout layout, Map<String, LoraView> lora,
            Function<String, NDArray> baseParams, NDManager manager, long[] bytes) {
        if (layout.tensors().isEmpty()) {
            return List.of();
        }
        switch (config.peftType()) {
            case PeftConfig.IA3 -> {
                Map<String, NDArray> vectors = new LinkedHashMap<>();
                Set<String> ff = new LinkedHashSet<>();
                layout.tensors().forEach((module, t) -> {
                    vectors.put(module, manager.create(file.readFloats(t.name()), new Shape(t.shape())));
                    bytes[0] += 4L * shapeSize(t.shape());
                    if (config.feedforward(module)) {
                        ff.add(module);
                    }
                });
                return List.of(new Ia3Part(vectors, ff));
            }
            case PeftConfig.BOTTLENECK -> {
                Map<String, NDArray> arrays = new LinkedHashMap<>();
                layout.tensors().forEach((key, t) -> {
                    arrays.put(key, manager.create(file.readFloats(t.name()), new Shape(t.shape())));
                    bytes[0] += 4L * shapeSize(t.shape());
                });
                Map<String, BottleneckPart.Block> blocks = new LinkedHashMap<>();
                for (String key : arrays.keySet()) {
                    if (key.endsWith(".down.weight")) {
                        String s = key.substring(0, key.length() - ".down.weight".length());
                        blocks.put(s, new BottleneckPart.Block(arrays.get(s + ".down.weight"), arrays.get(s + ".down.bias"),
                                arrays.get(s + ".up.weight"), arrays.get(s + ".up.bias")));
                    }
                }
                return List.of(new BottleneckPart(blocks, config.activation()));
            }
            default -> {
                if (baseParams == null) {
                    throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED, file.path()
                            + ": a DoRA adapter (use_dora) needs the base model's weights to load; this caller gave none");
                }
                Map<String, DoraPart.Served> served = new LinkedHashMap<>();
                for (Map.Entry<String, TensorInfo> e : layout.tensors().entrySet()) {
                    String module = e.getKey();
                    float[] magnitude = file.readFloats(e.getValue().name());
                    NDArray w = baseParams.apply(module + ".weight");
                    NDArray bias = baseParams.apply(module + ".bias");
                    if (w == null) {
                        throw new ModelFormatException(file.path(), "DoRA module '" + module + "': the base has no weight");
                    }
                    float[] norms = weightNorms(w, lora.get(module));
                    float[] g = new float[magnitude.length];
                    float[] c = new float[magnitude.length];
                    float[] b = bias == null ? null : bias.toFloatArray();
                    for (int o = 0; o < g.length; o++) {
                        g[o] = magnitude[o] / norms[o];
                        c[o] = b == null ? 0f : b[o] - b[o] * g[o];
                    }
                    if (AdapterNumbers.enabled()) {
                        AdapterNumbers.checkDerived(file.path(), "DoRA module '" + module + "': magnitude / ‖W + scale·B·A‖", g);
                    }
                    served.put(module, new DoraPart.Served(manager.create(magnitude), manager.create(g), manager.create(c)));
                    bytes[0] += 12L * magnitude.length;
                }
                return List.of(DoraPart.served(served));
            }
        }
    }

    /** A LoRA pair as the served adapter holds it: {@code Aᵀ (in, r)} and {@code Bᵀ·scale (r, out)}. */
    record LoraView(NDArray aT, NDArray bTScaled) {
    }

    /** {@code ‖W + scale·B·A‖} per output row, computed on the base's device. */
    private static float[] weightNorms(NDArray w, LoraView l) {
        Device device = w.getDevice();
        try (NDManager scratch = NDManager.newBaseManager(device, "PyTorch")) {
            NDArray aT = scratch.create(l.aT.toFloatArray(), l.aT.getShape());
            NDArray bT = scratch.create(l.bTScaled.toFloatArray(), l.bTScaled.getShape());
            NDArray deltaT = aT.matMul(bT);                  // (in, out) = (scale·B·A)ᵀ
            NDArray wT = w.transpose();                       // made in the base's manager: move it here
            wT.attach(scratch);
            NDArray full = deltaT.add(wT);                    // (in, out)
            return full.square().sum(new int[] {0}).sqrt().toFloatArray(); // (out)
        }
    }

    private static long shapeSize(long[] s) {
        long n = 1;
        for (long d : s) {
            n *= d;
        }
        return n;
    }
}
