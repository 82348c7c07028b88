package io.loragate.training.trainer;

import java.nio.file.Path;
import java.util.Map;

/**
 * One adapter training run as the job runner drives it, whatever the task: causal LM on a decoder
 * ({@link CausalLmTrainer}) or sequence classification ({@code ClassificationTrainer}). The runner owns the
 * thread: it calls {@link #train}, checkpoints from inside the listener (between steps, on the
 * training thread) with {@link #state()}, and after a restart {@link #restore}s the last complete
 * checkpoint and calls {@link #train} again with the steps already done. Data order, learning rates
 * and dropout masks depend only on the seed and the step, so the checkpoint needs no RNG state
 * beyond the step count, and a resumed run ends with the same adapter as an uninterrupted one.
 */
public interface TrainingRun extends AutoCloseable {

    /** Optimizer steps of the whole run. */
    long totalSteps();

    /**
     * Trains from after step {@code completedSteps} to the end, or until {@link #requestStop()};
     * {@code listener} hears every optimizer step on the calling thread.
     */
    TrainingResult train(TrainingListener listener, long completedSteps);

    /** Ends {@link #train} after the step in progress (any thread). */
    void requestStop();

    /**
     * Everything a checkpoint must hold besides the step count: every trainable array and the
     * optimizer's moments, as host copies by name.
     */
    Map<String, float[]> state();

    /** Optimizer steps taken so far (the step count a checkpoint stores). */
    long optimizerSteps();

    /** Puts back what {@link #state()} returned after {@code steps} steps. */
    void restore(Map<String, float[]> state, long steps);

    /** Writes the current adapter as a normal PEFT folder that the registry can publish. */
    void saveAdapter(Path folder);

    /** Held-out metrics of the current adapter (no dropout, no gradients). */
    EvalMetrics evaluateAdapter();

    /** The same metrics of the base alone (for classification: the freshly initialised head). */
    EvalMetrics evaluateBase();

    /**
     * The current adapter as a hook over the frozen base, in eval mode (no dropout), for diagnostics;
     * null when the run cannot give one.
     */
    default io.loragate.model.AdapterHook adapterHook() {
        return null;
    }

    @Override
    void close();
}
