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
 * One adaptation method as a plug-in: everything loragate knows about it, registered once in
 * {@link AdapterMethods#ALL}. A method has
 * <ul>
 * <li>a name (jobs, recommendations, sweeps) and the {@code peft_type} its folders carry, with the
 *     {@link PeftSection} that reads and writes that type's keys of {@code adapter_config.json}
 *     (methods of one type share it: {@code lora}, {@code rslora}, {@code dora}, {@code linear_probe}
 *     and {@code partial} are all {@code LORA} folders);</li>
 * <li>its served weights besides LoRA pairs and saved modules, if any: which tensors of
 *     {@code adapter_model.safetensors} are its own, their checks, and the {@link AdapterPart} they
 *     load into;</li>
 * <li>its fresh trainable form over a base;</li>
 * <li>its cost for the recommender, and its defaults.</li>
 * </ul>
 */
public interface AdapterMethod {

    /** The method's name in jobs, recommendations and sweeps ({@code method.adapter.method}), e.g. {@code lora}. */
    String name();

    /** The {@code adapter_config.json} section of the method's {@code peft_type}. */
    PeftSection section();

    /** The {@code peft_type} of the folders the method writes. */
    default String peftType() {
        return section().peftType();
    }

    /**
     * The {@code method.adapter.*} settings the method reads besides {@code layers_to_transform} and
     * {@code target_modules} (e.g. {@code r}, {@code alpha} for LoRA), the ones a recommendation shows.
     */
    List<String> settings();

    // ---------------------------------------------------------------------------------------------
    // Serving: the method's own tensors (none for LoRA and saved modules, which every adapter reads)

    /** Whether a folder with this config holds weights of this method besides LoRA pairs and saved modules. */
    default boolean hasPart(PeftConfig config) {
        return false;
    }

    /** Whether a tensor of the file (its full key) is one of this method's own; asked only when {@link #hasPart}. */
    default boolean claims(PeftConfig config, String key) {
        return false;
    }

    /**
     * Checks the claimed tensors against the config and the base before any is read, and returns
     * them by what they adapt (module, or sub-layer and leaf).
     *
     * @param family      the base's family (its module map: where bottleneck adapters sit)
     * @param loraModules the modules that have LoRA pairs in the file
     */
    default Map<String, TensorInfo> checkPart(PeftConfig config, SafetensorsFile file, Map<String, TensorInfo> claimed,
            ModelFamily family, Map<String, LinearShape> baseLinears, Map<String, long[]> baseParamShapes,
            Set<String> loraModules) {
        return Map.of();
    }

    /**
     * The served part of the checked tensors, in {@code manager}; its bytes added to {@code bytes[0]}.
     *
     * @param lora       the adapter's LoRA pairs as served, by module
     * @param baseParams the base's parameters by checkpoint name; may be null when the method does not read them
     */
    default AdapterPart readPart(PeftConfig config, SafetensorsFile file, Map<String, TensorInfo> checked,
            Map<String, PartFormats.LoraView> lora, Function<String, NDArray> baseParams, NDManager manager, long[] bytes) {
        throw new IllegalStateException(name() + " has no part to read");
    }

    // ---------------------------------------------------------------------------------------------
    // Training

    /**
     * A fresh trainable adapter of this method over the frozen base, which the caller owns.
     *
     * @param tokenizer the base's tokenizer, for methods initialised from text; may be null otherwise
     * @param baseId    the base model's id (recorded in the adapter's config)
     * @param taskType  PEFT task type: {@code CAUSAL_LM} or {@code SEQ_CLS}
     * @param head      the classification head to train with it, or null
     */
    TrainableLora create(BaseModel base, TextTokenizer tokenizer, String baseId, MethodOptions options, String taskType,
            long seed, TrainableLora.HeadSpec head);

    // ---------------------------------------------------------------------------------------------
    // Recommending and defaults

    /** Trainable parameters, saved tensors and training FLOPs per token (see {@code recommend/CostModel}). */
    MethodCost cost(MethodOptions options, MethodCost.Basis basis);

    /** The learning rate a sweep or recommendation suggests for this method. */
    double suggestedLearningRate(boolean classification);

    /** A job's default learning rate: 2e-4 supervised, 2e-3 classification (a fresh head needs more). */
    default double defaultLearningRate(boolean classification) {
        return classification ? 2e-3 : 2e-4;
    }

    /** Whether a job without {@code target_modules} adapts the architecture's default LoRA targets. */
    default boolean takesDefaultTargets() {
        return true;
    }

    /** Whether the method only trains a classifier ({@code method.type} must be {@code classification}). */
    default boolean needsClassification() {
        return false;
    }

    /** Why the recommender lists the method when no rule of the dataset's regime placed it. */
    default String ladderReason(boolean tinyDataset) {
        return "a further candidate of the ladder";
    }

}
