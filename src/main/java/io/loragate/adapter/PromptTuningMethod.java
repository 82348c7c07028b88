package io.loragate.adapter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.loragate.model.BaseModel;
import io.loragate.model.LinearShape;
import io.loragate.model.ModelFamily;
import io.loragate.model.TextTokenizer;
import io.loragate.model.safetensors.SafetensorsFile;
import io.loragate.model.safetensors.TensorInfo;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Prompt tuning ({@code prompt_tuning}): k trainable virtual token embeddings before every input,
 * PEFT {@code PROMPT_TUNING} folders with one {@code prompt_embeddings} tensor ({@link PromptPart}).
 */
final class PromptTuningMethod implements AdapterMethod {

    static final PromptTuningMethod INSTANCE = new PromptTuningMethod();

    private PromptTuningMethod() {
    }

    @Override
    public String name() {
        return "prompt_tuning";
    }

    @Override
    public PeftSection section() {
        return PromptTuningSection.INSTANCE;
    }

    @Override
    public List<String> settings() {
        return List.of("num_virtual_tokens");
    }

    @Override
    public boolean hasPart(PeftConfig config) {
        return config.isPromptTuning();
    }

    @Override
    public boolean claims(PeftConfig config, String key) {
        return key.equals(PromptPart.KEY);
    }

    @Override
    public Map<String, TensorInfo> checkPart(PeftConfig config, SafetensorsFile file, Map<String, TensorInfo> claimed,
            ModelFamily family, Map<String, LinearShape> linears, Map<String, long[]> baseParamShapes,
            Set<String> loraModules) {
        PromptPart.check(config, file, baseParamShapes);
        return claimed;
    }

    @Override
    public AdapterPart readPart(PeftConfig config, SafetensorsFile file, Map<String, TensorInfo> checked,
            Map<String, PartFormats.LoraView> lora, Function<String, NDArray> baseParams, NDManager manager, long[] bytes) {
        PromptPart prompt = PromptPart.read(file, manager);
        bytes[0] += prompt.bytes();
        return prompt;
    }

    @Override
    public TrainableLora create(BaseModel base, TextTokenizer tokenizer, String baseId, MethodOptions o, String taskType,
            long seed, TrainableLora.HeadSpec head) {
        String text = o.promptInitText() == null || o.promptInitText().isEmpty() ? null : o.promptInitText();
        return PromptPart.trainable(base, tokenizer, o.numVirtualTokens(), text, taskType, baseId, seed, head);
    }

    /**
     * {@code k · hidden} parameters in one tensor; per token {@code 2F · (1 + k / mean tokens)}: the
     * forward and the activation gradients through every layer, for a sequence k tokens longer.
     */
    @Override
    public MethodCost cost(MethodOptions o, MethodCost.Basis b) {
        int k = o.numVirtualTokens();
        return new MethodCost((long) k * b.shape().hidden(), 1, 2 * b.forwardFlops() * (1 + k / Math.max(1.0, b.meanTokens())));
    }

    @Override
    public double suggestedLearningRate(boolean classification) {
        return 3e-2;
    }

    @Override
    public String ladderReason(boolean tinyDataset) {
        return "cheapest, but weakest when the base must change its features";
    }
}
