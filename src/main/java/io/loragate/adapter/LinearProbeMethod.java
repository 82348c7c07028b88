package io.loragate.adapter;

import io.loragate.common.LoragateException;
import io.loragate.model.BaseModel;
import io.loragate.model.TextTokenizer;
import java.util.List;

/**
 * A linear probe ({@code linear_probe}): only a classification head over the frozen base's pooled
 * features, saved as a PEFT {@code LORA} folder with {@code target_modules: []} and
 * {@code modules_to_save: [<head>]}.
 */
final class LinearProbeMethod implements AdapterMethod {

    static final LinearProbeMethod INSTANCE = new LinearProbeMethod();

    private LinearProbeMethod() {
    }

    @Override
    public String name() {
        return "linear_probe";
    }

    @Override
    public PeftSection section() {
        return LoraSection.DEFAULTS;
    }

    @Override
    public List<String> settings() {
        return List.of();
    }

    @Override
    public TrainableLora create(BaseModel base, TextTokenizer tokenizer, String baseId, MethodOptions o, String taskType,
            long seed, TrainableLora.HeadSpec head) {
        if (head == null) {
            throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "a linear_probe trains a classifier:"
                    + " it needs method.type 'classification'").withParam("method.adapter.method");
        }
        return TrainableLora.create(base, savesOnly(baseId, o, taskType, List.of()), seed, head);
    }

    /** A PEFT config without LoRA pairs ({@code target_modules: []}) that saves {@code modules} whole. */
    static PeftConfig savesOnly(String baseId, MethodOptions o, String taskType, List<String> modules) {
        return PeftConfig.lora(LoraSection.plain(o.r(), o.alpha()), PeftConfig.Modules.list(List.of()), List.of(), modules,
                taskType, baseId);
    }

    /** Forward only: nothing inside the base needs a gradient (the head is counted by the cost model). */
    @Override
    public MethodCost cost(MethodOptions o, MethodCost.Basis b) {
        return new MethodCost(0, 0, b.forwardFlops());
    }

    /** Only a fresh head learns, from frozen features: it converges in a few epochs only with a larger step. */
    @Override
    public double defaultLearningRate(boolean classification) {
        return 1e-2;
    }

    @Override
    public double suggestedLearningRate(boolean classification) {
        return classification ? 1e-2 : 2e-4;
    }

    @Override
    public boolean takesDefaultTargets() {
        return false;
    }

    @Override
    public boolean needsClassification() {
        return true;
    }

    @Override
    public String ladderReason(boolean tinyDataset) {
        return "baseline: a head on the frozen features";
    }
}
