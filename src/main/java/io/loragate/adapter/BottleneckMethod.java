package io.loragate.adapter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.loragate.common.LoragateException;
import io.loragate.common.ModelFormatException;
import io.loragate.model.BaseModel;
import io.loragate.model.LinearShape;
import io.loragate.model.ModelFamily;
import io.loragate.model.TextTokenizer;
import io.loragate.model.safetensors.SafetensorsFile;
import io.loragate.model.safetensors.TensorInfo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Bottleneck adapters ({@code bottleneck}): a small MLP after the MLP sub-layer ({@code pfeiffer})
 * or after attention and MLP ({@code houlsby}), in loragate's own {@code LORAGATE_BOTTLENECK}
 * folders with {@code adapter_down} / {@code adapter_up} weights and biases per sub-layer
 * ({@link BottleneckPart}).
 */
public final class BottleneckMethod implements AdapterMethod {

    static final BottleneckMethod INSTANCE = new BottleneckMethod();

    private static final Pattern KEY = Pattern.compile("(.+)\\.adapter_(down|up)(?:\\.default)?\\.(weight|bias)");

    private BottleneckMethod() {
    }

    @Override
    public String name() {
        return "bottleneck";
    }

    @Override
    public PeftSection section() {
        return BottleneckSection.INSTANCE;
    }

    @Override
    public List<String> settings() {
        return List.of("bottleneck_size", "placement");
    }

    /** The sub-layers a bottleneck config adapts: MLP only ({@code pfeiffer}) or both, in layers_to_transform. */
    static List<PartFormats.Sublayer> adapted(PeftConfig config, ModelFamily family, Map<String, LinearShape> linears) {
        boolean houlsby = config.placement().equals(PeftConfig.HOULSBY);
        List<PartFormats.Sublayer> out = new ArrayList<>();
        for (PartFormats.Sublayer s : PartFormats.sublayers(family, linears)) {
            if ((s.mlp() || houlsby) && config.transformsLayer(s.layer())) {
                out.add(s);
            }
        }
        return out;
    }

    // ---------------------------------------------------------------------------------------------
    // Serving

    @Override
    public boolean hasPart(PeftConfig config) {
        return config.peftType().equals(PeftConfig.BOTTLENECK);
    }

    @Override
    public boolean claims(PeftConfig config, String key) {
        return PartFormats.prefixedMatch(KEY, key);
    }

    /** The tensors by sub-layer and leaf: {@code <sub-layer>.down.weight}, {@code .down.bias}, {@code .up.weight}, {@code .up.bias}. */
    @Override
    public Map<String, TensorInfo> checkPart(PeftConfig config, SafetensorsFile file, Map<String, TensorInfo> claimed,
            ModelFamily family, Map<String, LinearShape> linears, Map<String, long[]> baseParamShapes,
            Set<String> loraModules) {
        Path path = file.path();
        Map<String, PartFormats.Sublayer> adapted = new LinkedHashMap<>();
        adapted(config, family, linears).forEach(s -> adapted.put(s.name(), s));
        if (adapted.isEmpty()) {
            throw new ModelFormatException(path.resolveSibling(PeftConfig.FILE_NAME),
                    "placement and layers_to_transform select no sub-layer of the base model");
        }
        int m = config.bottleneckSize();
        Map<String, TensorInfo> byLeaf = new LinkedHashMap<>();
        for (TensorInfo t : claimed.values()) {
            Matcher k = KEY.matcher(t.name().substring(LoraAdapter.PREFIX.length()));
            k.matches();
            PartFormats.Sublayer s = adapted.get(k.group(1));
            if (s == null) {
                throw new ModelFormatException(path, "tensor '" + t.name() + "' adapts sub-layer '" + k.group(1)
                        + "', which is not one that adapter_config.json's placement and layers_to_transform select"
                        + " in the base model");
            }
            boolean down = k.group(2).equals("down");
            boolean weight = k.group(3).equals("weight");
            long h = s.hidden();
            long[] want = weight ? (down ? new long[] {m, h} : new long[] {h, m}) : new long[] {down ? m : h};
            PartFormats.checkShape(path, t, want, "(bottleneck_size=" + m + ", hidden=" + h + ")");
            PartFormats.put(path, byLeaf, s.name() + "." + k.group(2) + "." + k.group(3), t);
        }
        for (PartFormats.Sublayer s : adapted.values()) {
            for (String leaf : List.of("down.weight", "down.bias", "up.weight", "up.bias")) {
                if (!byLeaf.containsKey(s.name() + "." + leaf)) {
                    throw new ModelFormatException(path, "sub-layer '" + s.name() + "' lacks adapter_"
                            + leaf + " (placement " + config.placement() + " adapts it)");
                }
            }
        }
        return byLeaf;
    }

    @Override
    public AdapterPart readPart(PeftConfig config, SafetensorsFile file, Map<String, TensorInfo> checked,
            Map<String, PartFormats.LoraView> lora, Function<String, NDArray> baseParams, NDManager manager, long[] bytes) {
        Map<String, NDArray> arrays = new LinkedHashMap<>();
        checked.forEach((key, t) -> {
            arrays.put(key, manager.create(file.readFloats(t.name()), new Shape(t.shape())));
            bytes[0] += 4L * PartFormats.shapeSize(t.shape());
        });
        Map<String, BottleneckPart.Block> blocks = new LinkedHashMap<>();
        for (String key : arrays.keySet()) {
            if (key.endsWith(".down.weight")) {
                String s = key.substring(0, key.length() - ".down.weight".length());
                blocks.put(s, new BottleneckPart.Block(arrays.get(s + ".down.weight"), arrays.get(s + ".down.bias"),
                        arrays.get(s + ".up.weight"), arrays.get(s + ".up.bias")));
            }
        }
        return new BottleneckPart(blocks, config.activation());
    }

    // ---------------------------------------------------------------------------------------------
    // Training

    @Override
    public TrainableLora create(BaseModel base, TextTokenizer tokenizer, String baseId, MethodOptions o, String taskType,
            long seed, TrainableLora.HeadSpec head) {
        PeftConfig config = PeftConfig.bottleneck(o.bottleneckSize(), o.placement(), "relu", o.layersToTransform(), taskType);
        return fresh(base, config.withBaseModel(baseId), seed, head);
    }

    /**
     * A fresh bottleneck adapter: {@code down} drawn like LoRA's A ({@code U(-1/√hidden, 1/√hidden)}),
     * {@code up} and both biases zero, so that it starts as the base.
     */
    public static TrainableLora fresh(BaseModel base, PeftConfig config, long seed, TrainableLora.HeadSpec headSpec) {
        PartFormats.require(config, PeftConfig.BOTTLENECK);
        return TrainableLora.ofPart(base, config, seed, headSpec, (manager, rng) -> {
            int m = config.bottleneckSize();
            Map<String, BottleneckPart.Block> blocks = new LinkedHashMap<>();
            for (PartFormats.Sublayer s : adapted(config, base.config().family(), base.linears())) {
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

    // ---------------------------------------------------------------------------------------------
    // Recommending

    /** Per adapted sub-layer {@code 2·hidden·b + b + hidden} (down, up and their biases): four tensors. */
    @Override
    public MethodCost cost(MethodOptions o, MethodCost.Basis basis) {
        int b = o.bottleneckSize();
        int sites = PeftConfig.HOULSBY.equals(o.placement()) ? 2 : 1;
        int hidden = basis.shape().hidden();
        long q = (long) basis.layers().size() * sites * (2L * hidden * b + b + hidden);
        return new MethodCost(q, 4L * sites * basis.layers().size(), basis.throughLayers(q));
    }

    @Override
    public double suggestedLearningRate(boolean classification) {
        return classification ? 2e-3 : 1e-3;
    }
}
