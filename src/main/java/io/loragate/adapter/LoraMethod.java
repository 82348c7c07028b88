package io.loragate.adapter;

import io.loragate.model.BaseModel;
import io.loragate.model.TextTokenizer;
import java.util.List;

/**
 * LoRA ({@code lora}) and rank-stabilised LoRA ({@code rslora}: scale {@code alpha/√r}): low-rank
 * pairs on the target modules, PEFT {@code LORA} folders; nothing besides the pairs, which every
 * adapter reads ({@link LoraAdapter}).
 */
final class LoraMethod implements AdapterMethod {

    static final LoraMethod LORA = new LoraMethod("lora");
    static final LoraMethod RSLORA = new LoraMethod("rslora");

    private final String name;

    private LoraMethod(String name) {
        this.name = name;
    }

    @Override
    public String name() {
        return name;
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
    public TrainableLora create(BaseModel base, TextTokenizer tokenizer, String baseId, MethodOptions o, String taskType,
            long seed, TrainableLora.HeadSpec head) {
        return TrainableLora.create(base, config(baseId, o, taskType, false), seed, head);
    }

    /** The PEFT LoRA config of a job's settings ({@code dora}: with the magnitude vector). */
    static PeftConfig config(String baseId, MethodOptions o, String taskType, boolean dora) {
        LoraSection keys = LoraSection.plain(o.r(), o.alpha()).with(o.useRslora(), dora, o.dropout());
        return PeftConfig.lora(keys, PeftConfig.Modules.list(o.targetModules()), o.layersToTransform(), List.of(), taskType,
                baseId);
    }

    /** {@code r · Σ (in + out)} over the default targets of each changed layer; two tensors per module. */
    @Override
    public MethodCost cost(MethodOptions o, MethodCost.Basis b) {
        long q = 0;
        long tensors = 0;
        for (int l : b.layers()) {
            q += (long) o.r() * b.shape().layerLoraInOut()[l];
            tensors += 2L * b.shape().layerLoraModules()[l];
        }
        return new MethodCost(q, tensors, b.throughLayers(q));
    }

    @Override
    public double suggestedLearningRate(boolean classification) {
        return classification ? 2e-3 : 2e-4;
    }
}
