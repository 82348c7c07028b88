package io.loragate.adapter;

import ai.djl.ndarray.NDArray;
import io.loragate.common.ModelFormatException;
import io.loragate.model.LinearShape;
import io.loragate.model.safetensors.Dtype;
import io.loragate.model.safetensors.TensorInfo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
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

    private static final Pattern ATTN_OUT = Pattern.compile(
            "((?:.*\\.)?(?:layers|h|layer)\\.(\\d+))\\.(self_attn|attn|attention)\\.(?:o_proj|c_proj|output\\.dense)");
    private static final Pattern MLP_OUT = Pattern.compile(
            "((?:.*\\.)?(?:layers|h|layer)\\.(\\d+))\\.(?:mlp\\.(?:down_proj|c_proj)|output\\.dense)");
    private static final Pattern LAYER = Pattern.compile("(?:^|.*\\.)(?:layers|layer|h|blocks)\\.(\\d+)\\..*");

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

    /** The transformer layer a module path lies in ({@code model.layers.3.mlp.up_proj}: 3), or null. */
    static Integer layerIndex(String module) {
        Matcher m = LAYER.matcher(module);
        return m.matches() ? Integer.valueOf(m.group(1)) : null;
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
