package io.loragate.adapter;

import ai.djl.ndarray.NDArray;
import io.loragate.common.ModelFormatException;
import io.loragate.model.LinearShape;
import io.loragate.model.ModelFamily;
import io.loragate.model.SublayerName;
import io.loragate.model.safetensors.Dtype;
import io.loragate.model.safetensors.TensorInfo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the methods' part formats share: the sub-layers of a base (where bottleneck adapters sit),
 * the transformer layer of a module path, and the checks every part tensor passes.
 */
final class PartFormats {

    private PartFormats() {
    }

    /** A sub-layer that {@link io.loragate.model.AdapterHook#afterSublayer} names: its layer, kind and width. */
    record Sublayer(String name, int layer, boolean mlp, long hidden) {
    }

    /** A LoRA pair as the served adapter holds it: {@code Aᵀ (in, r)} and {@code Bᵀ·scale (r, out)}. */
    record LoraView(NDArray aT, NDArray bTScaled) {
    }

    /**
     * The sub-layers of a base, from its linear layers and its family's {@link ModelFamily#sublayers()}:
     * a linear at {@code <layer>.<output>} ({@code model.layers.3.self_attn.o_proj} for Llama's
     * {@code self_attn}) ends the sub-layer {@code <layer>.<name>} ({@code model.layers.3.self_attn});
     * in layer order, attention first.
     */
    static List<Sublayer> sublayers(ModelFamily family, Map<String, LinearShape> linears) {
        Map<String, Sublayer> out = new TreeMap<>();
        for (LinearShape l : linears.values()) {
            String layer = layerPath(l.module());
            for (SublayerName s : layer == null ? List.<SublayerName>of() : family.sublayers()) {
                if (l.module().equals(layer + "." + s.output())) {
                    String name = layer + "." + s.name();
                    out.put(name, new Sublayer(name, layerIndex(l.module()), s.feedForward(), l.out()));
                }
            }
        }
        List<Sublayer> list = new ArrayList<>(out.values());
        list.sort((x, y) -> x.layer != y.layer ? Integer.compare(x.layer, y.layer) : Boolean.compare(x.mlp, y.mlp));
        return list;
    }

    /** The transformer layer a module path lies in ({@code model.layers.3.mlp.up_proj}: 3), or null. */
    static Integer layerIndex(String module) {
        String layer = layerPath(module);
        return layer == null ? null : Integer.valueOf(layer.substring(layer.lastIndexOf('.') + 1));
    }

    /**
     * The path of the layer a module lies in, up to its first numeric part ({@code model.layers.3} of
     * {@code model.layers.3.mlp.up_proj}, {@code h.0} of GPT-2's {@code h.0.attn.c_attn}), or null
     * outside the layers ({@code lm_head}, {@code bert.pooler.dense}): every family numbers its
     * layers inside a named container, and nothing before them is numbered.
     */
    private static String layerPath(String module) {
        String[] parts = module.split("\\.");
        int end = 0;
        for (int i = 0; i < parts.length - 1; i++) {
            end += parts[i].length() + (i > 0 ? 1 : 0);
            String p = parts[i];
            if (i > 0 && !p.isEmpty() && p.length() <= 9 && p.chars().allMatch(c -> c >= '0' && c <= '9')) {
                return module.substring(0, end);
            }
        }
        return null;
    }

    /** Whether a tensor key is PEFT's prefix followed by a match of {@code pattern}. */
    static boolean prefixedMatch(Pattern pattern, String key) {
        return key.startsWith(LoraAdapter.PREFIX) && pattern.matcher(key.substring(LoraAdapter.PREFIX.length())).matches();
    }

    /** What a claimed part tensor adapts: group 1 of {@code key} (which claimed it) after PEFT's prefix. */
    static String target(Pattern key, TensorInfo t) {
        Matcher m = key.matcher(t.name().substring(LoraAdapter.PREFIX.length()));
        if (!m.matches()) {
            throw new IllegalStateException(t.name() + " was claimed by a pattern it does not match");
        }
        return m.group(1);
    }

    /**
     * The claimed part tensors by the module each adapts (group 1 of {@code key}), each passed to
     * {@code check} first; a module with two tensors is refused.
     */
    static Map<String, TensorInfo> byModule(Path path, Pattern key, Map<String, TensorInfo> claimed,
            BiConsumer<String, TensorInfo> check) {
        Map<String, TensorInfo> byModule = new LinkedHashMap<>();
        for (TensorInfo t : claimed.values()) {
            String module = target(key, t);
            check.accept(module, t);
            put(path, byModule, module, t);
        }
        return byModule;
    }

    /** Adds a part tensor under what it adapts; refuses a second tensor for the same key. */
    static void put(Path path, Map<String, TensorInfo> byTarget, String key, TensorInfo t) {
        TensorInfo before = byTarget.put(key, t);
        if (before != null) {
            throw new ModelFormatException(path, "'" + key + "' has two tensors ('" + before.name() + "' and '" + t.name() + "')");
        }
    }

    /** Refuses a part tensor that is not a float of the shape the base needs. */
    static void checkShape(Path path, TensorInfo t, long[] want, String what) {
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

    static long shapeSize(long[] s) {
        long n = 1;
        for (long d : s) {
            n *= d;
        }
        return n;
    }

    /** Refuses a config of another {@code peft_type} than the method's. */
    static void require(PeftConfig config, String type) {
        if (!config.peftType().equals(type)) {
            throw new IllegalArgumentException("not a " + type + " config: " + config.peftType());
        }
    }
}
