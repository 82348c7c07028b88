package io.loragate.training.jobs;

import io.loragate.adapter.MethodAdapters;
import io.loragate.adapter.PeftConfig;
import io.loragate.adapter.PromptPart;
import io.loragate.adapter.TrainableLora;
import io.loragate.model.BaseModel;
import io.loragate.common.LoragateException;
import io.loragate.model.ModelFamily;
import io.loragate.model.TextTokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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
            case JobSpec.DORA -> MethodAdapters.dora(base, lora(baseId, a, taskType, true), seed, head);
            case JobSpec.IA3 -> MethodAdapters.ia3(base, ia3(base, baseId, a, taskType), seed, head);
            case JobSpec.BOTTLENECK -> MethodAdapters.bottleneck(base, named(PeftConfig.bottleneck(a.bottleneckSize(),
                    a.placement(), "relu", a.layersToTransform(), taskType), baseId), seed, head);
            case JobSpec.PROMPT_TUNING -> PromptPart.trainable(base, tokenizer, a.numVirtualTokens(),
                    a.promptInitText() == null || a.promptInitText().isEmpty() ? null : a.promptInitText(), taskType, baseId,
                    seed, head);
            case JobSpec.LINEAR_PROBE -> linearProbe(base, baseId, a, taskType, seed, head);
            case JobSpec.PARTIAL -> TrainableLora.create(base, partial(base, baseId, a, taskType), seed, head);
            default -> throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED,
                    "training method '" + a.method() + "' is not implemented yet").withParam("method.adapter.method");
        };
    }

    /**
     * The IA3 config of a job's settings: the architecture's IA3 defaults when the job names no
     * targets (or the LoRA defaults that {@link JobSpec#resolve} filled in); else the named targets,
     * with the default feed-forward modules among them.
     */
    static PeftConfig ia3(BaseModel base, String baseId, JobSpec.Adapter a, String taskType) {
        ModelFamily arch = base.config().family();
        List<String> given = a.targetModules();
        PeftConfig c;
        if (given.isEmpty() || given.equals(TrainableLora.defaultTargets(arch))) {
            c = PeftConfig.ia3(MethodAdapters.ia3Targets(arch), MethodAdapters.ia3Feedforward(arch), a.layersToTransform(), taskType);
        } else {
            PeftConfig.Modules ff = MethodAdapters.ia3Feedforward(arch);
            List<String> feedforward = ff.isRegex() ? List.of() : given.stream().filter(ff.names()::contains).toList();
            c = PeftConfig.ia3(given, feedforward, a.layersToTransform(), taskType);
        }
        if (!a.layersToTransform().isEmpty() && (c.targetModules().isRegex() || c.feedforwardModules().isRegex())) {
            // PEFT applies layers_to_transform to a list of targets only, not to a regular expression
            // (the default IA3 targets of BERT are one): name the selected modules of those layers instead
            PeftConfig selected = c;
            List<String> targets = base.linears().keySet().stream().filter(selected::targets)
                    .filter(m -> a.layersToTransform().contains(layerIndex(m))).toList();
            if (targets.isEmpty()) {
                throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "layers " + a.layersToTransform()
                        + " hold no IA3 target of the base model").withParam("method.adapter.layers_to_transform");
            }
            c = PeftConfig.ia3(targets, targets.stream().filter(selected::feedforward).toList(), a.layersToTransform(), taskType);
        }
        return named(c, baseId);
    }

    private static PeftConfig named(PeftConfig c, String baseId) {
        return new PeftConfig(c.peftType(), c.taskType(), baseId, c.r(), c.loraAlpha(), c.useRslora(), c.targetModules(),
                c.excludeModules(), c.layersToTransform(), c.layersPattern(), c.fanInFanOut(), c.modulesToSave(), c.rankPattern(),
                c.alphaPattern(), c.bias(), c.useDora(), c.loraDropout(), c.extras());
    }

    /**
     * A linear probe: only the classification head, over the frozen base's pooled features. Saved as a
     * PEFT LoRA folder with {@code target_modules: []} and {@code modules_to_save: [<head>]}.
     */
    static TrainableLora linearProbe(BaseModel base, String baseId, JobSpec.Adapter a, String taskType, long seed,
            TrainableLora.HeadSpec head) {
        if (head == null) {
            throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "a linear_probe trains a classifier:"
                    + " it needs method.type 'classification'").withParam("method.adapter.method");
        }
        return TrainableLora.create(base, savesOnly(baseId, a, taskType, List.of()), seed, head);
    }

    /**
     * Partial fine-tuning: every linear layer of the chosen transformer layers (the last
     * {@code partial_layers}, or {@code layers_to_transform} when given), or the linear layers that
     * {@code target_modules} names (PEFT matching: the module path or its last components), trained in
     * full from the base's values; stored as {@code modules_to_save} with their full paths and no
     * LoRA ({@code target_modules: []}). Layer norms and embeddings stay frozen.
     */
    static PeftConfig partial(BaseModel base, String baseId, JobSpec.Adapter a, String taskType) {
        List<String> chosen = new ArrayList<>();
        if (!a.targetModules().isEmpty()) {
            PeftConfig named = PeftConfig.lora(1, 1, a.targetModules(), taskType);
            for (String module : base.linears().keySet()) {
                Integer layer = layerIndex(module);
                boolean inLayers = a.layersToTransform().isEmpty() || (layer != null && a.layersToTransform().contains(layer));
                if (named.targets(module) && inLayers && base.parameter(module + ".weight") != null) {
                    chosen.add(module);
                }
            }
            if (chosen.isEmpty()) {
                throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "target_modules " + a.targetModules()
                        + " select no linear layer of the base model").withParam("method.adapter.target_modules");
            }
        } else {
            int layers = base.config().numLayers();
            List<Integer> wanted = new ArrayList<>(a.layersToTransform());
            if (wanted.isEmpty()) {
                if (a.partialLayers() > layers) {
                    throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "partial_layers = " + a.partialLayers()
                            + " exceeds the base model's " + layers + " layers").withParam("method.adapter.partial_layers");
                }
                for (int i = layers - a.partialLayers(); i < layers; i++) {
                    wanted.add(i);
                }
            }
            for (String module : base.linears().keySet()) {
                Integer layer = layerIndex(module);
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
        return savesOnly(baseId, a, taskType, chosen);
    }

    private static final Pattern LAYER = Pattern.compile("(?:^|.*\\.)(?:layers|layer|h|blocks)\\.(\\d+)\\..*");

    /** The transformer layer a module path lies in ({@code model.layers.3.mlp.up_proj}: 3), or null. */
    static Integer layerIndex(String module) {
        Matcher m = LAYER.matcher(module);
        return m.matches() ? Integer.valueOf(m.group(1)) : null;
    }

    /** A PEFT config without LoRA pairs ({@code target_modules: []}) that saves {@code modules} whole. */
    private static PeftConfig savesOnly(String baseId, JobSpec.Adapter a, String taskType, List<String> modules) {
        PeftConfig plain = PeftConfig.lora(a.r(), a.alpha(), List.of(), taskType);
        return new PeftConfig(plain.peftType(), plain.taskType(), baseId, a.r(), a.alpha(), false, plain.targetModules(),
                plain.excludeModules(), List.of(), plain.layersPattern(), plain.fanInFanOut(), modules, plain.rankPattern(),
                plain.alphaPattern(), plain.bias(), false, 0.0, plain.extras());
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
