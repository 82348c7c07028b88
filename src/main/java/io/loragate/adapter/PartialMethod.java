package io.loragate.adapter;

import io.loragate.common.LoragateException;
import io.loragate.model.BaseModel;
import io.loragate.model.TextTokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * Partial fine-tuning ({@code partial}): every linear layer of the chosen transformer layers (the
 * last {@code partial_layers}, or {@code layers_to_transform} when given), or the linear layers that
 * {@code target_modules} names (PEFT matching: the module path or its last components), trained in
 * full from the base's values; stored as {@code modules_to_save} with their full paths and no LoRA
 * ({@code target_modules: []}). Layer norms and embeddings stay frozen.
 */
final class PartialMethod implements AdapterMethod {

    static final PartialMethod INSTANCE = new PartialMethod();

    private PartialMethod() {
    }

    @Override
    public String name() {
        return "partial";
    }

    @Override
    public PeftSection section() {
        return LoraSection.DEFAULTS;
    }

    @Override
    public List<String> settings() {
        return List.of("partial_layers");
    }

    @Override
    public TrainableLora create(BaseModel base, TextTokenizer tokenizer, String baseId, MethodOptions o, String taskType,
            long seed, TrainableLora.HeadSpec head) {
        return TrainableLora.create(base, config(base, baseId, o, taskType), seed, head);
    }

    /** The config that saves the chosen linear layers whole. */
    static PeftConfig config(BaseModel base, String baseId, MethodOptions o, String taskType) {
        List<String> chosen = new ArrayList<>();
        if (!o.targetModules().isEmpty()) {
            PeftConfig named = PeftConfig.lora(1, 1, o.targetModules(), taskType);
            for (String module : base.linears().keySet()) {
                Integer layer = PartFormats.layerIndex(module);
                boolean inLayers = o.layersToTransform().isEmpty() || (layer != null && o.layersToTransform().contains(layer));
                if (named.targets(module) && inLayers && base.parameter(module + ".weight") != null) {
                    chosen.add(module);
                }
            }
            if (chosen.isEmpty()) {
                throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "target_modules " + o.targetModules()
                        + " select no linear layer of the base model").withParam("method.adapter.target_modules");
            }
        } else {
            int layers = base.config().numLayers();
            List<Integer> wanted = new ArrayList<>(o.layersToTransform());
            if (wanted.isEmpty()) {
                if (o.partialLayers() > layers) {
                    throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "partial_layers = " + o.partialLayers()
                            + " exceeds the base model's " + layers + " layers").withParam("method.adapter.partial_layers");
                }
                for (int i = layers - o.partialLayers(); i < layers; i++) {
                    wanted.add(i);
                }
            }
            for (String module : base.linears().keySet()) {
                Integer layer = PartFormats.layerIndex(module);
                if (layer != null && wanted.contains(layer) && base.parameter(module + ".weight") != null) {
                    chosen.add(module);
                }
            }
            if (chosen.isEmpty()) {
                throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "layers " + wanted
                        + " hold no linear layer of the base model (it has " + layers + " layers)")
                        .withParam("method.adapter.layers_to_transform");
            }
        }
        return LinearProbeMethod.savesOnly(baseId, o, taskType, chosen);
    }

    /** The full weights of the last n layers (about seven tensors each); per token {@code F · (1 + n / layers) + 4P}. */
    @Override
    public MethodCost cost(MethodOptions o, MethodCost.Basis b) {
        int layers = b.shape().layers();
        int n = Math.min(layers, o.partialLayers());
        long q = 0;
        long tensors = 0;
        for (int l = layers - n; l < layers; l++) {
            q += b.shape().layerLinearParams()[l];
            tensors += 7;
        }
        return new MethodCost(q, tensors, b.forwardFlops() * (1 + (double) n / Math.max(1, layers)) + 4.0 * q);
    }

    @Override
    public double suggestedLearningRate(boolean classification) {
        return classification ? 1e-4 : 5e-5;
    }

    @Override
    public boolean takesDefaultTargets() {
        return false;
    }

    @Override
    public String ladderReason(boolean tinyDataset) {
        return tinyDataset ? "last resort: full weights overfit a tiny dataset"
                : "full weights of the last layer: most capacity, largest adapter";
    }
}
