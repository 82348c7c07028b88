package io.loragate.training.trainer;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.loragate.adapter.TrainableLora;
import io.loragate.model.Scalars;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * What every LoRA training run shares, whatever its loss: epochs over examples in a seeded order,
 * batches, gradient accumulation (the loss of a step is a sum over its micro-batches divided by the
 * step's total weight, as one big batch would give), global-norm clipping, {@link AdamW} with a
 * warmup + decay {@link LrSchedule}, LoRA dropout seeded per forward, a stop request honoured
 * between steps, and resumption after {@code completedSteps} steps.
 *
 * <p>A subclass says how examples become a micro-batch and how a micro-batch becomes a loss sum.
 *
 * <p>Memory: every array of a step lives in a step manager closed in {@code finally} (activations of
 * each forward in a sub-manager closed after its backward); the optimizer's moments live in the
 * run's own manager; nothing is attached to the base's manager.
 *
 * <p>Deterministic for a seed on CPU: the data order of epoch {@code e} and the dropout masks of
 * forward {@code i} depend only on the seed and {@code e} or {@code i}. DJL's PyTorch engine allows
 * one collecting {@link GradientCollector} per process, so concurrent runs must take turns per step.
 *
 * @param <E> one example
 * @param <B> a micro-batch as its forward sees it
 */
abstract class TrainingLoop<E, B> implements TrainingRun {

    protected final TrainableLora lora;
    protected final TrainingConfig config;
    protected final NDManager manager;
    protected final AdamW optimizer;
    private final List<E> train;      // null: examples are passed to run()
    protected final List<E> validation;
    private volatile boolean stopRequested;

    TrainingLoop(TrainableLora lora, Device device, TrainingConfig config, List<E> train, List<E> validation) {
        this.lora = Objects.requireNonNull(lora, "lora");
        this.config = Objects.requireNonNull(config, "config");
        if (!lora.device().equals(device)) {
            throw new IllegalArgumentException("the LoRA is on " + lora.device() + " but the base on " + device);
        }
        this.train = train == null ? null : List.copyOf(train);
        this.validation = validation == null ? List.of() : List.copyOf(validation);
        this.manager = NDManager.newBaseManager(device, "PyTorch");
        try {
            this.optimizer = new AdamW(lora.parameters(), config.beta1(), config.beta2(), config.eps(),
                    config.weightDecay(), manager);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /** The examples of a micro-batch as one forward takes them. */
    protected abstract B batch(List<E> examples);

    /** What the step's loss is divided by: target tokens, or examples. */
    protected abstract long lossWeight(B batch);

    /** Real (non-padding) tokens of the batch. */
    protected abstract long tokenCount(B batch);

    /**
     * The forward of {@code batch} through the base with {@link #lora} as its hook, and the sum of
     * its loss terms: a scalar in {@code fwd}, recorded by autograd.
     */
    protected abstract NDArray lossSum(NDManager fwd, B batch);

    public AdamW optimizer() {
        return optimizer;
    }

    @Override
    public void requestStop() {
        stopRequested = true;
    }

    @Override
    public long totalSteps() {
        return (long) config.stepsPerEpoch(trainingExamples().size()) * config.epochs();
    }

    @Override
    public long optimizerSteps() {
        return optimizer.steps();
    }

    @Override
    public TrainingResult train(TrainingListener listener, long completedSteps) {
        return run(trainingExamples(), listener, completedSteps);
    }

    private List<E> trainingExamples() {
        if (train == null) {
            throw new IllegalStateException("this run was made without its training examples; pass them to train()");
        }
        return train;
    }

    /** The LoRA's (and head's) parameters, then the optimizer's moments, by name. */
    @Override
    public Map<String, float[]> state() {
        Map<String, float[]> s = new LinkedHashMap<>(lora.snapshot());
        s.putAll(optimizer.stateSnapshot());
        return s;
    }

    /** Copies the parameters back into the trainable leaves in place and restores the optimizer. */
    @Override
    public void restore(Map<String, float[]> state, long steps) {
        lora.restore(state);
        optimizer.restore(state, steps);
    }

    @Override
    public io.loragate.model.AdapterHook adapterHook() {
        lora.eval();
        return lora;
    }

    @Override
    public void saveAdapter(Path folder) {
        lora.save(folder);
    }

    /**
     * Runs every epoch over {@code examples} after the first {@code completedSteps} optimizer steps:
     * the LoRA must hold the weights and the optimizer the state saved after that step.
     */
    TrainingResult run(List<E> examples, TrainingListener listener, long completedSteps) {
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
                List<List<E>> batches = batches(examples, epoch);
                for (int b = 0; b < batches.size(); b += config.gradientAccumulation()) {
                    int end = Math.min(batches.size(), b + config.gradientAccumulation());
                    if (step < completedSteps) {
                        step++;
                        forwardIndex += end - b;
                        continue;
                    }
                    if (stopRequested) {
                        return new TrainingResult(step, first, last, tokens, seconds(start), true);
                    }
                    List<B> micro = new ArrayList<>();
                    for (int k = b; k < end; k++) {
                        micro.add(batch(batches.get(k)));
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

    /** DJL's PyTorch engine allows one collecting GradientCollector per process: concurrent runs take turns per step. */
    private static final java.util.concurrent.locks.ReentrantLock STEPS = new java.util.concurrent.locks.ReentrantLock(true);

    /** One optimizer step over its micro-batches (one run at a time in this process). */
    private StepMetrics step(List<B> micro, long step, long totalSteps, int epoch, long forwardIndex, double lr) {
        STEPS.lock();
        try {
            return stepAlone(micro, step, totalSteps, epoch, forwardIndex, lr);
        } finally {
            STEPS.unlock();
        }
    }

    private StepMetrics stepAlone(List<B> micro, long step, long totalSteps, int epoch, long forwardIndex, double lr) {
        long t0 = System.nanoTime();
        long weight = 0;
        long tokens = 0;
        for (B mb : micro) {
            weight += lossWeight(mb);
            tokens += tokenCount(mb);
        }
        float denominator = (float) Math.max(1, weight);
        double loss = 0;
        try (NDManager stepManager = manager.newSubManager()) {
            for (int i = 0; i < micro.size(); i++) {
                lora.train(dropoutSeed(forwardIndex + i));
                try (NDManager fwd = stepManager.newSubManager();
                        GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray part = Scalars.div(lossSum(fwd, micro.get(i)), denominator);
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
            return new StepMetrics(step + 1, totalSteps, epoch, loss, lr, norm, tokens, weight,
                    seconds > 0 ? tokens / seconds : 0, skipped);
        }
    }

    /** The epoch's examples in a seeded order, cut into batches (the last may be short). */
    private List<List<E>> batches(List<E> examples, int epoch) {
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
        List<List<E>> batches = new ArrayList<>();
        for (int i = 0; i < n; i += config.batchSize()) {
            List<E> batch = new ArrayList<>();
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
    public static long mix(long seed, long salt) {
        long z = seed * 0x9E3779B97F4A7C15L + salt;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }

    /** Arrays alive under the run's manager: the optimizer's moments between steps (a leak check). */
    public int liveArrays() {
        return manager.getManagedArrays().size();
    }

    /** Frees the optimizer state (the LoRA and the base belong to the caller). */
    @Override
    public void close() {
        manager.close();
    }
}
