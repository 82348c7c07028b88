package io.loragate.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.loragate.adapter.TrainableLora;
import io.loragate.model.AdapterHook;
import io.loragate.model.CausalModel;
import io.loragate.model.KvCache;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Causal-LM training of a LoRA as a {@link TrainingRun}: the {@link Trainer} over fixed examples. */
public final class CausalRun implements TrainingRun {

    private final CausalModel model;
    private final TrainableLora lora;
    private final Trainer trainer;
    private final TrainingConfig config;
    private final List<TrainingExample> train;
    private final List<TrainingExample> validation;

    /** Takes ownership of {@code lora}. */
    public CausalRun(CausalModel model, TrainableLora lora, TrainingConfig config, List<TrainingExample> train,
            List<TrainingExample> validation) {
        if (train.isEmpty()) {
            throw new IllegalArgumentException("no training examples");
        }
        this.model = model;
        this.lora = lora;
        this.config = config;
        this.train = List.copyOf(train);
        this.validation = List.copyOf(validation);
        this.trainer = new Trainer(model, lora, config);
    }

    @Override
    public long totalSteps() {
        return (long) config.stepsPerEpoch(train.size()) * config.epochs();
    }

    @Override
    public TrainingResult train(TrainingListener listener, long completedSteps) {
        return trainer.train(train, listener, completedSteps);
    }

    @Override
    public void requestStop() {
        trainer.requestStop();
    }

    @Override
    public Map<String, float[]> state() {
        Map<String, float[]> s = new LinkedHashMap<>(lora.snapshot());
        s.putAll(trainer.optimizer().stateSnapshot());
        return s;
    }

    @Override
    public long optimizerSteps() {
        return trainer.optimizer().steps();
    }

    @Override
    public void restore(Map<String, float[]> state, long steps) {
        try (NDManager scratch = NDManager.newBaseManager(lora.device(), "PyTorch")) {
            for (Map.Entry<String, NDArray> p : lora.parameters().entrySet()) {
                float[] values = state.get(p.getKey());
                if (values == null || values.length != p.getValue().size()) {
                    throw new IllegalArgumentException("checkpoint lacks or mis-sizes " + p.getKey());
                }
                NDArray data = p.getValue().stopGradient(); // alias of the leaf's storage, outside autograd
                data.attach(scratch);
                NDArray fresh = scratch.create(values, p.getValue().getShape());
                data.muli(0f).addi(fresh);
            }
        }
        trainer.optimizer().restore(state, steps);
    }

    @Override
    public void saveAdapter(Path folder) {
        lora.save(folder);
    }

    @Override
    public EvalMetrics evaluateAdapter() {
        return EvalMetrics.causal(validation.size(), trainer.evaluate(validation));
    }

    @Override
    public EvalMetrics evaluateBase() {
        double sum = 0;
        long targets = 0;
        try (NoGrad ignored = new NoGrad()) {
            for (int i = 0; i < validation.size(); i += config.batchSize()) {
                TokenBatch mb = TokenBatch.of(validation.subList(i, Math.min(validation.size(), i + config.batchSize())));
                try (NDManager fwd = model.manager().newSubManager(); KvCache cache = model.newCache(mb.batch())) {
                    NDArray logits = model.forward(fwd, mb.tokens(), cache, AdapterHook.NONE, true);
                    sum += CausalLmLoss.sum(logits, mb).getFloat();
                    targets += mb.targetCount();
                }
            }
        }
        return EvalMetrics.causal(validation.size(), targets == 0 ? Double.NaN : sum / targets);
    }

    @Override
    public void close() {
        try {
            trainer.close();
        } finally {
            lora.close();
        }
    }
}
