package io.loragate.training.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.loragate.adapter.TrainableLora;
import io.loragate.model.AdapterHook;
import io.loragate.model.CausalModel;
import io.loragate.model.KvCache;
import io.loragate.training.data.TrainingExample;
import java.util.List;
import java.util.Objects;

/**
 * Trains a {@link TrainableLora} on a frozen causal base with DJL autograd: epochs over tokenized
 * examples in left-padded batches, causal-LM loss on each example's target tokens, gradient
 * accumulation, global-norm clipping, {@link AdamW} and a warmup + decay schedule.
 *
 * <p>The base's weights are read, never written and never given gradients: the forward runs the
 * base's own resident arrays with the LoRA as its hook, and only the LoRA's A and B require
 * gradients. The loop itself (data order, accumulation, clipping, memory, resumption) is
 * {@link TrainingLoop}'s.
 *
 * <p>As a {@link TrainingRun} (made with its examples), {@link #evaluateAdapter()} is the mean loss
 * per target token of the validation examples with the LoRA, {@link #evaluateBase()} without it.
 *
 * <p>One trainer runs on one thread at a time. DJL's PyTorch engine allows one collecting
 * {@link GradientCollector} per process, so concurrent trainers must take turns per step.
 */
public final class CausalLmTrainer extends TrainingLoop<TrainingExample, TokenBatch> {

    private final CausalModel model;

    public CausalLmTrainer(CausalModel model, TrainableLora lora, TrainingConfig config) {
        this(model, lora, config, null, null);
    }

    /**
     * A run over {@code train} that {@link #train(TrainingListener, long)} drives as a
     * {@link TrainingRun}, evaluated on {@code validation}.
     */
    public CausalLmTrainer(CausalModel model, TrainableLora lora, TrainingConfig config, List<TrainingExample> train,
            List<TrainingExample> validation) {
        super(lora, Objects.requireNonNull(model, "model").device(), config, train, validation);
        this.model = model;
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
        return run(examples, listener, completedSteps);
    }

    @Override
    protected TokenBatch batch(List<TrainingExample> examples) {
        return TokenBatch.of(withVirtualTokens(examples, lora));
    }

    /**
     * The examples as the adapter's forward sees them: with its virtual tokens (prompt tuning) in
     * front, which are never targets (PEFT labels them -100), cut to the model's positions; the
     * examples themselves for any other hook.
     */
    private List<TrainingExample> withVirtualTokens(List<TrainingExample> examples, AdapterHook hook) {
        int k = hook == lora ? lora.virtualTokens() : 0;
        if (k == 0) {
            return examples;
        }
        int room = model.config().maxPositions() - k;
        return examples.stream().map(e -> e.truncate(room).withVirtualTokens(k)).toList();
    }

    @Override
    protected long lossWeight(TokenBatch batch) {
        return batch.targetCount();
    }

    @Override
    protected long tokenCount(TokenBatch batch) {
        return batch.tokenCount() - (long) batch.batch() * lora.virtualTokens(); // the data's tokens, not the prompt's
    }

    @Override
    protected NDArray lossSum(NDManager fwd, TokenBatch batch) {
        try (KvCache cache = model.newCache(batch.batch())) {
            NDArray logits = model.forward(fwd, batch.tokens(), cache, lora, true); // (batch, t, vocab)
            return CausalLmLoss.sum(logits, batch);
        }
    }

    /**
     * Mean loss over every target token of {@code examples}, without dropout or gradients, in
     * batches of the training batch size.
     */
    public double evaluate(List<TrainingExample> examples) {
        return evaluate(examples, lora);
    }

    private double evaluate(List<TrainingExample> examples, AdapterHook hook) {
        double sum = 0;
        long targets = 0;
        lora.eval();
        try (NoGrad ignored = new NoGrad()) {
            for (int i = 0; i < examples.size(); i += config.batchSize()) {
                TokenBatch mb = TokenBatch.of(withVirtualTokens(examples.subList(i, Math.min(examples.size(), i + config.batchSize())), hook));
                try (NDManager fwd = manager.newSubManager(); KvCache cache = model.newCache(mb.batch())) {
                    NDArray logits = model.forward(fwd, mb.tokens(), cache, hook, true);
                    sum += CausalLmLoss.sum(logits, mb).getFloat();
                    targets += mb.targetCount();
                }
            }
        }
        return targets == 0 ? Double.NaN : sum / targets;
    }

    @Override
    public EvalMetrics evaluateAdapter() {
        return EvalMetrics.causal(validation.size(), evaluate(validation, lora));
    }

    @Override
    public EvalMetrics evaluateBase() {
        return EvalMetrics.causal(validation.size(), evaluate(validation, AdapterHook.NONE));
    }
}
