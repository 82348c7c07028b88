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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * DoRA ({@code dora}): LoRA plus a learned magnitude per output row, PEFT {@code LORA} folders with
 * {@code use_dora: true} and a {@code lora_magnitude_vector} per LoRA module ({@link DoraPart}).
 */
final class DoraMethod implements AdapterMethod {

    static final DoraMethod INSTANCE = new DoraMethod();

    /** DoRA's training cost relative to LoRA (column norms of the adapted weights in every forward). */
    static final double OVERHEAD = 1.25;

    private static final Pattern KEY = Pattern.compile("(.+)\\.lora_magnitude_vector(?:\\.default)?(?:\\.weight)?");

    private DoraMethod() {
    }

    @Override
    public String name() {
        return "dora";
    }

    @Override
    public PeftSection section() {
        return LoraSection.DEFAULTS;
    }

    @Override
    public List<String> settings() {
        return List.of("r", "alpha");
    }

    @Override
    public boolean hasPart(PeftConfig config) {
        return config.isLora() && config.lora().useDora();
    }

    @Override
    public boolean claims(PeftConfig config, String key) {
        return PartFormats.prefixedMatch(KEY, key);
    }

    @Override
    public Map<String, TensorInfo> checkPart(PeftConfig config, SafetensorsFile file, Map<String, TensorInfo> claimed,
            ModelFamily family, Map<String, LinearShape> linears, Map<String, long[]> baseParamShapes,
            Set<String> loraModules) {
        Path path = file.path();
        Map<String, TensorInfo> byModule = PartFormats.byModule(path, KEY, claimed, (module, t) -> {
            if (!loraModules.contains(module)) {
                throw new ModelFormatException(path, "has a DoRA magnitude for '" + module + "', which has no LoRA weights");
            }
            PartFormats.checkShape(path, t, new long[] {linears.get(module).out()}, "(out)");
        });
        for (String module : loraModules) {
            if (!byModule.containsKey(module)) {
                throw new ModelFormatException(path, "adapter_config.json sets use_dora but module '" + module
                        + "' has no lora_magnitude_vector");
            }
        }
        return byModule;
    }

    @Override
    public AdapterPart readPart(PeftConfig config, SafetensorsFile file, Map<String, TensorInfo> checked,
            Map<String, PartFormats.LoraView> lora, Function<String, NDArray> baseParams, NDManager manager, long[] bytes) {
        if (baseParams == null) {
            throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED, file.path()
                    + ": a DoRA adapter (use_dora) needs the base model's weights to load; this caller gave none");
        }
        Map<String, DoraPart.Served> served = new LinkedHashMap<>();
        for (Map.Entry<String, TensorInfo> e : checked.entrySet()) {
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
        return DoraPart.served(served);
    }

    /** {@code ‖W + scale·B·A‖} per output row, computed on the base's device. */
    private static float[] weightNorms(NDArray w, PartFormats.LoraView l) {
        try (NDManager scratch = NDManager.newBaseManager(w.getDevice(), "PyTorch")) {
            NDArray aT = scratch.create(l.aT().toFloatArray(), l.aT().getShape());
            NDArray bT = scratch.create(l.bTScaled().toFloatArray(), l.bTScaled().getShape());
            NDArray deltaT = aT.matMul(bT);                  // (in, out) = (scale·B·A)ᵀ
            NDArray wT = w.transpose();                       // made in the base's manager: move it here
            wT.attach(scratch);
            NDArray full = deltaT.add(wT);                    // (in, out)
            return full.square().sum(new int[] {0}).sqrt().toFloatArray(); // (out)
        }
    }

    @Override
    public TrainableLora create(BaseModel base, TextTokenizer tokenizer, String baseId, MethodOptions o, String taskType,
            long seed, TrainableLora.HeadSpec head) {
        return fresh(base, LoraMethod.config(baseId, o, taskType, true), seed, head);
    }

    /**
     * A fresh DoRA adapter: LoRA as {@link TrainableLora#create} makes it (B = 0) plus a magnitude
     * per module, the row norms of the base weight (so that the adapter starts as the base).
     */
    static TrainableLora fresh(BaseModel base, PeftConfig config, long seed, TrainableLora.HeadSpec headSpec) {
        if (!config.isLora() || !config.lora().useDora()) {
            throw new IllegalArgumentException("not a DoRA config (use_dora is false)");
        }
        TrainableLora lora = TrainableLora.create(base, config, seed, headSpec);
        try {
            NDManager manager = lora.manager();
            Map<String, DoraPart.Trained> modules = new LinkedHashMap<>();
            for (TrainableLora.Module m : lora.modules().values()) {
                NDArray w = base.parameter(m.name() + ".weight");
                if (w == null) {
                    throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED, "DoRA on '" + m.name()
                            + "': the base model exposes no weight for it");
                }
                float[] norms;
                try (NDManager scratch = NDManager.newBaseManager(w.getDevice(), "PyTorch")) {
                    NDArray copy = w.duplicate();
                    copy.attach(scratch);
                    norms = copy.square().sum(new int[] {1}).sqrt().toFloatArray();
                }
                modules.put(m.name(), new DoraPart.Trained(w, base.parameter(m.name() + ".bias"), m,
                        manager.create(norms, new Shape(norms.length))));
            }
            return new TrainableLora(lora.config(), manager, lora.modules(), lora.head(), List.of(DoraPart.trainable(modules)));
        } catch (RuntimeException e) {
            lora.close();
            throw e;
        }
    }

    /** LoRA's cost plus a magnitude per output row (one tensor per module), times {@link #OVERHEAD}. */
    @Override
    public MethodCost cost(MethodOptions o, MethodCost.Basis b) {
        MethodCost lora = LoraMethod.LORA.cost(o, b);
        long q = lora.params();
        long tensors = lora.tensors();
        for (int l : b.layers()) {
            q += b.shape().layerLoraOut()[l];
            tensors += b.shape().layerLoraModules()[l];
        }
        return new MethodCost(q, tensors, b.throughLayers(q) * OVERHEAD);
    }

    @Override
    public double suggestedLearningRate(boolean classification) {
        return classification ? 2e-3 : 2e-4;
    }
}
