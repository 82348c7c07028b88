package io.loragate.recommend;

import io.loragate.adapter.AdapterMethod;
import io.loragate.adapter.AdapterMethods;
import io.loragate.adapter.MethodCost;
import io.loragate.adapter.ModelShape;
import io.loragate.training.jobs.JobSpec;
import java.util.List;

/**
 * Estimates what training a method costs: trainable parameters, adapter bytes on disk and training
 * time. Time comes from a FLOP count per token and one assumed sustained throughput
 * ({@link #FLOPS_PER_SECOND}); it is an order of magnitude, meant to rank methods and apply a
 * budget, not to predict a job to the second.
 *
 * <p>With {@code N} the weights of the linear layers a token passes ({@code lm_head} included for
 * supervised jobs), a forward costs {@code F = 2N} FLOPs per token (attention scores are left out:
 * short sequences). Per training token, as each method's {@link AdapterMethod#cost} estimates it:
 * <ul>
 * <li>{@code linear_probe}: {@code F} (forward only: nothing inside the base needs a gradient);</li>
 * <li>{@code prompt_tuning}: {@code 2F · (1 + k / mean tokens)} (forward and the activation
 * gradients through every layer, for a sequence {@code k} virtual tokens longer);</li>
 * <li>{@code ia3}, {@code bottleneck}, {@code lora}, {@code rslora}: {@code F · (1 + b) + 6P}, where
 * {@code b} is the share of layers from the lowest transformed one up (the backward stops there) and
 * {@code P} the trainable parameters (their forward, backward and weight gradient);</li>
 * <li>{@code dora}: as LoRA × 1.25 (the weight norms of {@code W + BA});</li>
 * <li>{@code partial}: {@code F · (1 + N_layers / layers) + 4P}.</li>
 * </ul>
 * The job's time ({@code trainSeconds}) = {@code (epochs · training tokens · per-token FLOPs +
 * evaluation FLOPs + diagnostics FLOPs) /} {@link #FLOPS_PER_SECOND} {@code + steps ·}
 * {@link #STEP_OVERHEAD_SECONDS} {@code +} checkpoint writes:
 * <ul>
 * <li>evaluation is {@code epochs + 2} forward passes over the validation share;</li>
 * <li>the diagnostics of the job's report run base and adapter over the validation examples (and,
 * for classification, over the probe's training examples), each set capped at
 * {@link Overheads#diagnosticsExamples}, and on a decoder base over the forgetting reference
 * ({@link Overheads#referenceTokens}, with {@code lm_head}): two forward passes per token;</li>
 * <li>a checkpoint (one per evaluation and one per {@link #CHECKPOINT_EVERY_STEPS} steps) writes the
 * trainable parameters and AdamW's two moments, 12 bytes per parameter, at
 * {@link #DISK_BYTES_PER_SECOND}.</li>
 * </ul>
 * Adapter bytes are 4 bytes per parameter (float32 safetensors) plus {@link #HEADER_BYTES_PER_TENSOR}
 * per tensor. A classification job also trains its head ({@code labels × hidden}, plus a bias on
 * encoders).
 */
public final class CostModel {

    /**
     * Assumed sustained training throughput, FLOP/s: the README's 2-core measurement (matmul ceiling
     * 199 GFLOP/s, training MFU 0.6 under the 4N convention) halved for sharing the CPU with serving.
     */
    public static final double FLOPS_PER_SECOND = 6.0e10;
    /** Per optimizer step: AdamW, clipping, metrics and checkpoint bookkeeping, seconds. */
    public static final double STEP_OVERHEAD_SECONDS = 0.02;
    /** Safetensors header bytes per tensor (its JSON entry). */
    public static final long HEADER_BYTES_PER_TENSOR = 128;
    /** Default validation share and batch size of a job (JobSpec's defaults). */
    public static final double VALIDATION_SHARE = 0.1;
    public static final int BATCH_SIZE = 8;
    /** Checkpoint cadence of a job (JobSpec's default {@code checkpoint_every_steps}). */
    public static final int CHECKPOINT_EVERY_STEPS = 20;
    /** Assumed sustained write throughput of the data volume, bytes/s (checkpoints). */
    public static final double DISK_BYTES_PER_SECOND = 4e8;

    /**
     * What a job does besides training that the estimate counts.
     *
     * @param diagnosticsExamples the cap on each example set of the report's diagnostics
     *                            ({@code loragate.diagnostics.max-examples})
     * @param referenceTokens     tokens of the forgetting reference the diagnostics read (decoders; 0
     *                            for encoders)
     */
    public record Overheads(int diagnosticsExamples, long referenceTokens) {

        /** The default cap and no reference (an encoder, or a caller that does not know it). */
        public static final Overheads DEFAULT = new Overheads(64, 0);
    }

    private CostModel() {
    }

    /**
     * @param trainableParams    parameters the method trains (the classification head included)
     * @param adapterBytes       estimated size of {@code adapter_model.safetensors}
     * @param trainFlops         estimated FLOPs of the whole job (training, evaluation, diagnostics)
     * @param trainSeconds       estimated time of the whole job, the next two included
     * @param diagnosticsSeconds of which the report's diagnostics
     * @param checkpointSeconds  of which writing checkpoints
     */
    public record Compute(long trainableParams, long adapterBytes, double trainFlops, double trainSeconds,
            double diagnosticsSeconds, double checkpointSeconds) {
    }

    public static Compute estimate(MethodSettings s, ModelShape m, String task, DatasetFacts facts, int epochs,
            Overheads overheads) {
        boolean classification = JobSpec.CLASSIFICATION.equals(task);
        List<Integer> layers = transformed(s, m);
        long p = 0;
        long tensors = 0;
        int labels = Math.max(2, facts.labels());
        if (classification) {
            p += (long) labels * m.hidden() + (m.decoder() ? 0 : labels);
            tensors += m.decoder() ? 1 : 2;
        }
        double fwd = 2.0 * (m.layerParams() + (classification ? 0 : m.headParams()));
        int lowest = layers.isEmpty() ? m.layers() : layers.stream().mapToInt(Integer::intValue).min().orElse(0);
        double back = (double) (m.layers() - lowest) / Math.max(1, m.layers());
        AdapterMethod method = AdapterMethods.find(s.method());
        if (method == null) {
            throw new IllegalArgumentException("unknown method " + s.method());
        }
        MethodCost cost = method.cost(s.toOptions(), new MethodCost.Basis(m, layers, fwd, back, facts.meanTokens()));
        p += cost.params();
        tensors += cost.tensors();
        double perToken = cost.flopsPerToken();
        double trainTokens = facts.tokens() * (1 - VALIDATION_SHARE);
        double evalTokens = facts.tokens() * VALIDATION_SHARE * (epochs + 2);
        long trainExamples = Math.max(1, Math.round(facts.examples() * (1 - VALIDATION_SHARE)));
        long valExamples = Math.max(1, facts.examples() - trainExamples);
        // diagnostics: base and adapter over the capped validation set (classification: and the
        // probe's training set), and a decoder's forgetting reference
        int cap = overheads.diagnosticsExamples();
        double diagnosticExamples = Math.min(cap, valExamples) + (classification ? Math.min(cap, trainExamples) : 0);
        double fwdLm = 2.0 * (m.layerParams() + m.headParams()); // the reference is read as language-model text
        double diagnosticsFlops = 2 * fwd * diagnosticExamples * facts.meanTokens()
                + (m.decoder() ? 2 * fwdLm * overheads.referenceTokens() : 0);
        double flops = epochs * trainTokens * perToken + evalTokens * fwd + diagnosticsFlops;
        long stepsPerEpoch = (trainExamples + BATCH_SIZE - 1) / BATCH_SIZE;
        long steps = epochs * stepsPerEpoch;
        long checkpoints = epochs + steps / CHECKPOINT_EVERY_STEPS;
        double checkpointSeconds = checkpoints * 12.0 * p / DISK_BYTES_PER_SECOND;
        double diagnosticsSeconds = diagnosticsFlops / FLOPS_PER_SECOND;
        double seconds = flops / FLOPS_PER_SECOND + steps * STEP_OVERHEAD_SECONDS + checkpointSeconds;
        long bytes = 4 * p + HEADER_BYTES_PER_TENSOR * tensors + 8;
        return new Compute(p, bytes, flops, seconds, diagnosticsSeconds, checkpointSeconds);
    }

    /** The layers a method changes: its layers_to_transform, or all. */
    static List<Integer> transformed(MethodSettings s, ModelShape m) {
        if (s.layersToTransform() != null && !s.layersToTransform().isEmpty()) {
            return s.layersToTransform().stream().filter(l -> l < m.layers()).toList();
        }
        return java.util.stream.IntStream.range(0, m.layers()).boxed().toList();
    }
}
