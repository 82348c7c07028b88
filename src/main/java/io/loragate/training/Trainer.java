package io.loragate.training;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.loragate.adapter.TrainableLora;
import io.loragate.model.CausalModel;
import io.loragate.model.KvCache;
import io.loragate.model.Scalars;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Trains a {@link TrainableLora} on a frozen causal base with DJL autograd: epochs over tokenized
 * examples in left-padded batches, causal-LM loss on each example's target tokens, gradient
 * accumulation, global-norm clipping, {@link AdamW} and a warmup + decay schedule.
 *
 * <p>The base's weights are read, never written and never given gradients: the forward runs the
 * base's own resident arrays with the LoRA as its hook, and only the LoRA's A and B require
 * gradients. Memory: every array of a step lives in a step manager closed in {@code finally}
 * (activations of each forward in a sub-manager closed after its backward); the optimizer's
 * moments live in the trainer's own manager; nothing is attached to the base's manager.
 *
 * <p>Deterministic for a seed on CPU: the data order of epoch {@code e} and the dropout masks of
 * forward {@code i} depend only on the seed and {@code e} or {@code i}.
 *
 * <p>One trainer runs on one thread at a time. DJL's PyTorch engine allows one collecting
 * {@link GradientCollector} per process, so concurrent trainers must take turns per step.
 */
public final class Trainer implements AutoCloseable {

    private final CausalModel model;
    private final TrainableLora lora;
    private final TrainingConfig config;
    private final NDManager manager;
    private final AdamW optimizer;
    private volatile boolean stopRequested;

    public Trainer(CausalModel model, TrainableLora lora, TrainingConfig config) {
        this.model = Objects.requireNonNull(model, "model");
        this.lora = Objects.requireNonNull(lora, "lora");
        this.config = Objects.requireNonNull(config, "config");
        if (!lora.device().equals(model.device())) {
            throw new IllegalArgumentException("the LoRA is on " + lora.device() + " but the base on " + model.device());
        }
        this.manager = NDManager.newBaseManager(model.device(), "PyTorch");
        try {
            this.optimizer = new AdamW(lora.parameters(), config.beta1(), config.beta2(), config.eps(),
                    config.weightDecay(), manager);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    public AdamW optimizer() {
        return optimizer;
    }

    /** Ends the run after the step in progress (callable from any thread). */
    public void requestStop() {
        stopRequested = true;
    }

    /** Runs every epoch over {@code examples}; reports each optimizer step to {@code listener}. */
    public TrainingResult train(List<TrainingExample> examples, TrainingListener listener) {
        return train(examples, listener, 0);
    }

    /**
     * Resumes a run after its first {@code completedSteps} optimizer steps: the LoRA must hold the
     * weights and {@link #optimizer()} the state ({@link AdamW#restore}) saved after that step. Data
     * order, learning rates and dropout masks follow from the seed and the step, so the rest of the
     * run is the same as without the interruption.
     */
    public TrainingResult train(List<TrainingExample> examples, TrainingListener listener, long completedSteps) {
        if (examples.isEmpty()) {
            throw new IllegalArgumentException("no training examples");
        }
        // a step skipped for a non-finite gradient counts as a step but not as an optimizer update
        if (optimizer.steps() > completedSteps) {
            throw new IllegalStateException("resuming after step " + completedSteps + " but the optimizer has already taken "
                    + optimizer.steps() + " steps");
        }
        int stepsPerEpoch = config.stepsPerEpoch(examples.size());
        long totalSteps = (long) stepsPerEpoch * config.epochs();
        LrSchedule schedule = new LrSchedule(config.schedule(), config.learningRate(), config.warmupSteps(),
                Math.toIntExact(totalSteps));
        long start = System.nanoTime();
        long step = 0;
        long forwardIndex = 0;
        long tokens = 0;
        double first = Double.NaN;
        double last = Double.NaN;
        try {
            for (int epoch = 1; epoch <= config.epochs(); epoch++) {
                List<List<TrainingExample>> batches = batches(examples, epoch);
                for (int b = 0; b < batches.size(); b += config.gradientAccumulation()) {
                    int forwards = Math.min(batches.size(), b + config.gradientAccumulation()) - b;
                    if (step < completedSteps) {
                        step++;
                        forwardIndex += forwards;
                        continue;
                    }
                    if (stopRequested) {
                        return new TrainingResult(step, first, last, tokens, seconds(start), true);
                    }
                    List<TokenBatch> micro = new ArrayList<>();
                    for (int k = b; k < Math.min(batches.size(), b + config.gradientAccumulation()); k++) {
                        micro.add(TokenBatch.of(batches.get(k)));
                    }
                    StepMetrics m = step(micro, step, totalSteps, epoch, forwardIndex, schedule.lr(step));
                    forwardIndex += micro.size();
                    step++;
                    tokens += m.tokens();
                    if (Double.isNaN(first)) {
                        first = m.loss();
                    }
                    last = m.loss();
                    listener.onStep(m);
                }
            }
            return new TrainingResult(step, first, last, tokens, seconds(start), false);
        } finally {
            lora.eval();
        }
    }

    /** One optimizer step over its micro-batches. */
    private StepMetrics step(List<TokenBatch> micro, long step, long totalSteps, int epoch, long forwardIndex, double lr) {
        long t0 = System.nanoTime();
        long targets = 0;
        long tokens = 0;
        for (TokenBatch mb : micro) {
            targets += mb.targetCount();
            tokens += mb.tokenCount();
        }
        float denominator = (float) Math.max(1, targets);
        double loss = 0;
        try (NDManager stepManager = manager.newSubManager()) {
            for (int i = 0; i < micro.size(); i++) {
                TokenBatch mb = micro.get(i);
                lora.train(dropoutSeed(forwardIndex + i));
                try (NDManager fwd = stepManager.newSubManager();
                        GradientCollector gc = Engine.getInstance().newGradientCollector();
                        KvCache cache = model.newCache(mb.batch())) {
                    NDArray logits = model.forward(fwd, mb.tokens(), cache, lora, true); // (batch, t, vocab)
                    NDArray part = Scalars.div(CausalLmLoss.sum(logits, mb), denominator);
                    loss += part.getFloat();
                    gc.backward(part);
                }
            }
            lora.eval();
            List<NDArray> grads = optimizer.gradients(stepManager);
            double norm = GradClip.clipByGlobalNorm(grads, config.maxGradNorm(), stepManager);
            boolean skipped = !Double.isFinite(norm);
            if (skipped) {
                optimizer.zeroGradients();
            } else {
                optimizer.step(lr, stepManager);
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            return new StepMetrics(step + 1, totalSteps, epoch, loss, lr, norm, tokens, targets,
                    seconds > 0 ? tokens / seconds : 0, skipped);
        }
    }

    /**
     * Mean loss over every target token of {@code examples}, without dropout or gradients, in
     * batches of the training batch size.
     */
    public double evaluate(List<TrainingExample> examples) {
        double sum = 0;
        long targets = 0;
        lora.eval();
        try (NoGrad ignored = new NoGrad()) {
            for (int i = 0; i < examples.size(); i += config.batchSize()) {
                TokenBatch mb = TokenBatch.of(examples.subList(i, Math.min(examples.size(), i + config.batchSize())));
                try (NDManager fwd = manager.newSubManager(); KvCache cache = model.newCache(mb.batch())) {
                    NDArray logits = model.forward(fwd, mb.tokens(), cache, lora, true);
                    sum += CausalLmLoss.sum(logits, mb).getFloat();
                    targets += mb.targetCount();
                }
            }
        }
        return targets == 0 ? Double.NaN : sum / targets;
    }

    /** The epoch's examples in a seeded order, cut into batches (the last may be short). */
    private List<List<TrainingExample>> batches(List<TrainingExample> examples, int epoch) {
        int n = examples.size();
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        SplittableRandom rng = new SplittableRandom(mix(config.seed(), 0x5eed_0000L + epoch));
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        List<List<TrainingExample>> batches = new ArrayList<>();
        for (int i = 0; i < n; i += config.batchSize()) {
            List<TrainingExample> batch = new ArrayList<>();
            for (int k = i; k < Math.min(n, i + config.batchSize()); k++) {
                batch.add(examples.get(order[k]));
            }
            batches.add(batch);
        }
        return batches;
    }

    private long dropoutSeed(long forwardIndex) {
        return mix(config.seed(), 0xd40_0000_0000L + forwardIndex);
    }

    /** A 64-bit mix (SplitMix64's finalizer) so that nearby seeds give unrelated streams. */
    static long mix(long seed, long salt) {
        long z = seed * 0x9E3779B97F4A7C15L + salt;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }

    /** Arrays alive under the trainer's manager: the optimizer's moments between steps (a leak check). */
    public int liveArrays() {
        return manager.getManagedArrays().size();
    }

    /** Frees the optimizer state (the LoRA and the base belong to the caller). */
    @Override
    public void close() {
        manager.close();
    }
}
