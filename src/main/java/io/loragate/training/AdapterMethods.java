package io.loragate.training;

import io.loragate.adapter.PeftConfig;
import io.loragate.adapter.PromptPart;
import io.loragate.adapter.TrainableLora;
import io.loragate.model.BaseModel;
import io.loragate.model.LoragateException;
import io.loragate.model.TextTokenizer;

/**
 * Builds the fresh trainable adapter of a job's method ({@link JobSpec#METHODS}): every method is a
 * {@link TrainableLora} (LoRA pairs, possibly none) plus the method's
 * {@link io.loragate.adapter.AdapterPart parts} and, for classification, a head. One case per
 * method; each returns an adapter that the trainer owns.
 */
final class AdapterMethods {

    private AdapterMethods() {
    }

    /**
     * @param baseId   the base model's id (recorded in the adapter's config)
     * @param taskType PEFT task type: {@code CAUSAL_LM} or {@code SEQ_CLS}
     * @param head     the classification head to train with it, or null
     */
    static TrainableLora create(BaseModel base, String baseId, JobSpec.Adapter a, String taskType, long seed,
            TrainableLora.HeadSpec head) {
        return create(base, null, baseId, a, taskType, seed, head);
    }

    /**
     * @param tokenizer the base's tokenizer, for methods initialised from text ({@code prompt_tuning}
     *                  with {@code prompt_init_text}); may be null otherwise
     */
    static TrainableLora create(BaseModel base, TextTokenizer tokenizer, String baseId, JobSpec.Adapter a, String taskType,
            long seed, TrainableLora.HeadSpec head) {
        return switch (a.method()) {
            case JobSpec.LORA, JobSpec.RSLORA -> TrainableLora.create(base, lora(baseId, a, taskType, false), seed, head);
            case JobSpec.PROMPT_TUNING -> PromptPart.trainable(base, tokenizer, a.numVirtualTokens(),
                    a.promptInitText() == null || a.promptInitText().isEmpty() ? null : a.promptInitText(), taskType, baseId,
                    seed, head);
            default -> throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED,
                    "training method '" + a.method() + "' is not implemented yet").withParam("method.adapter.method");
        };
    }

    /** The PEFT LoRA config of a job's settings ({@code dora}: with the magnitude vector). */
    static PeftConfig lora(String baseId, JobSpec.Adapter a, String taskType, boolean dora) {
        PeftConfig plain = PeftConfig.lora(a.r(), a.alpha(), a.targetModules(), taskType);
        return new PeftConfig(plain.peftType(), plain.taskType(), baseId, a.r(), a.alpha(),
                a.useRslora(), plain.targetModules(), plain.excludeModules(), a.layersToTransform(), plain.layersPattern(),
                plain.fanInFanOut(), plain.modulesToSave(), plain.rankPattern(), plain.alphaPattern(), plain.bias(),
                dora, a.dropout(), plain.extras());
    }
}
