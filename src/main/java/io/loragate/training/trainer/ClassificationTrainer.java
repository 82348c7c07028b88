package io.loragate.training.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.loragate.adapter.LoraAdapter;
import io.loragate.adapter.PeftConfig;
import io.loragate.adapter.TrainableLora;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.model.EncoderModel;
import io.loragate.model.InputPooling;
import io.loragate.model.InputWindows;
import io.loragate.common.LoragateException;
import io.loragate.model.Scalars;
import io.loragate.training.data.ClassificationExample;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/**
 * Trains a LoRA plus a classification head (saved like PEFT's {@code modules_to_save}) for sequence
 * classification, with the loop of {@link TrainingLoop}: the loss of a step is the mean
 * cross-entropy (log-softmax, stable) over its examples.
 *
 * <p>Where the head sits:
 * <ul>
 * <li>an encoder with a classifier ({@code BertForSequenceClassification}): the head
 *     {@code classifier} over the tanh pooler's [CLS] output, starting from the base's classifier
 *     when the label counts match, else fresh;</li>
 * <li>an encoder without one (a sentence encoder such as all-MiniLM-L6-v2): a new head
 *     {@code classifier} {@code (labels, hidden)} with bias over the mean of the last hidden states
 *     (masked by padding, not normalised: sentence-transformers pooling);</li>
 * <li>a decoder: {@code score} {@code (labels, hidden)} without bias over each sequence's last
 *     hidden state (transformers' {@code LlamaForSequenceClassification}).</li>
 * </ul>
 * A fresh head is drawn like PyTorch's {@code nn.Linear} default, {@code U(-1/√hidden, 1/√hidden)}
 * for weight and bias, from the run's seed.
 *
 * <p>Labels are the sorted distinct labels of the training examples (so the same data always gives
 * the same head layout), saved in {@code adapter_config.json} under {@code loragate_labels}.
 * Validation examples whose label is not among them are counted as errors
 * ({@link ClassificationMetrics}). {@link StepMetrics#targetTokens()} counts a step's examples.
 *
 * <p>{@link #evaluateBase()} is the untrained adapter: the LoRA as made (a fresh one has {@code B = 0},
 * so the base's features) with the initial head; {@link #evaluateAdapter()} is the current one.
 */
public final class ClassificationTrainer extends TrainingLoop<ClassificationExample, ClassificationTrainer.Batch> {

    /** A micro-batch: ids, label indices and real tokens. */
    record Batch(List<long[]> ids, int[] labels, long tokens) {
    }

    private final BaseModel model;
    private final List<String> labels;
    private final Map<String, Integer> index = new HashMap<>();
    private final Map<String, float[]> initial; // the adapter as constructed, for evaluateBase
    private final boolean ownsLora;
    private final InputWindows.Policy inputs;

    /**
     * A run of {@code lora}, which must carry the head for {@code model} ({@link #headSpec}); the
     * caller owns {@code lora} and {@code model}.
     */
    public ClassificationTrainer(BaseModel model, TrainableLora lora, TrainingConfig config,
            List<ClassificationExample> train, List<ClassificationExample> validation) {
        this(model, lora, config, train, validation, InputWindows.Policy.TRUNCATE);
    }

    /**
     * As above, reading examples longer than the window as {@code inputs} says: under
     * {@code sliding_window} (encoders only) each example's windows are encoded and the head reads
     * their token-weighted average ({@link EncoderModel#logits(NDManager, InputWindows, io.loragate.model.AdapterHook, int)}),
     * as serving does for an adapter trained so.
     */
    public ClassificationTrainer(BaseModel model, TrainableLora lora, TrainingConfig config,
            List<ClassificationExample> train, List<ClassificationExample> validation, InputWindows.Policy inputs) {
        this(model, lora, config, train, validation, false, inputs);
    }

    private ClassificationTrainer(BaseModel model, TrainableLora lora, TrainingConfig config,
            List<ClassificationExample> train, List<ClassificationExample> validation, boolean ownsLora, InputWindows.Policy inputs) {
        super(lora, Objects.requireNonNull(model, "model").device(), config, train, validation);
        this.model = model;
        this.ownsLora = ownsLora;
        this.inputs = Objects.requireNonNull(inputs, "inputs");
        try {
            TrainableLora.Head head = lora.head();
            String expected = headModule(model);
            if (head == null || !head.module().equals(expected)) {
                throw new IllegalArgumentException("the LoRA must carry the classification head '" + expected + "' for "
                        + model.config().architectureName() + ", has " + (head == null ? "none" : "'" + head.module() + "'"));
            }
            this.labels = head.labels();
            for (int i = 0; i < labels.size(); i++) {
                index.put(labels.get(i), i);
            }
            for (ClassificationExample e : Objects.requireNonNull(train, "train")) {
                if (!index.containsKey(e.label())) {
                    throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "training label '" + e.label()
                            + "' is not one of the head's labels " + labels).withParam("label");
                }
            }
            this.initial = lora.snapshot();
        } catch (RuntimeException e) {
            super.close();
            throw e;
        }
    }

    /**
     * A run with a fresh LoRA ({@code peft}: rank, alpha, targets, dropout; no modules_to_save) and a
     * head for the sorted distinct labels of {@code train}, both seeded by {@code config.seed()}. The
     * run owns the adapter and frees it on {@link #close()}.
     */
    public static ClassificationTrainer create(BaseModel model, PeftConfig peft, TrainingConfig config,
            List<ClassificationExample> train, List<ClassificationExample> validation) {
        TrainableLora lora = TrainableLora.create(model, peft, config.seed(), headSpec(model, labelSet(train)));
        try {
            return new ClassificationTrainer(model, lora, config, train, validation, true, InputWindows.Policy.TRUNCATE);
        } catch (RuntimeException e) {
            lora.close();
            throw e;
        }
    }

    /** The sorted distinct labels of {@code examples}. */
    public static List<String> labelSet(List<ClassificationExample> examples) {
        TreeSet<String> set = new TreeSet<>();
        examples.forEach(e -> set.add(e.label()));
        if (set.size() < 2) {
            throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "classification needs at least 2 distinct"
                    + " labels in the training data, got " + set).withParam("label");
        }
        return new ArrayList<>(set);
    }

    /** The head a classifier for {@code labels} trains on {@code model} (see the class comment). */
    public static TrainableLora.HeadSpec headSpec(BaseModel model, List<String> labels) {
        int hidden = model.config().hiddenSize();
        if (model instanceof EncoderModel encoder) {
            float[][] base = encoder.classifierValues();
            boolean fromBase = base != null && encoder.config().labels().size() == labels.size();
            return new TrainableLora.HeadSpec(EncoderModel.HEAD, hidden, labels, true, fromBase ? base[0] : null,
                    fromBase ? base[1] : null);
        }
        return new TrainableLora.HeadSpec(LoraAdapter.SEQUENCE_HEAD, hidden, labels, false, null, null);
    }

    private static String headModule(BaseModel model) {
        if (model instanceof EncoderModel) {
            return EncoderModel.HEAD;
        }
        if (model instanceof CausalModel) {
            return LoraAdapter.SEQUENCE_HEAD;
        }
        throw new IllegalArgumentException("unsupported base " + model.getClass().getSimpleName());
    }

    /** The head's labels, in output order. */
    public List<String> labels() {
        return labels;
    }

    /** The index of {@code label}, or -1 when the head does not know it. */
    public int labelIndex(String label) {
        return index.getOrDefault(label, -1);
    }

    @Override
    protected Batch batch(List<ClassificationExample> examples) {
        List<long[]> ids = new ArrayList<>();
        int[] y = new int[examples.size()];
        long tokens = 0;
        for (int i = 0; i < y.length; i++) {
            ids.add(examples.get(i).ids());
            y[i] = labelIndex(examples.get(i).label());
            tokens += examples.get(i).ids().length;
        }
        return new Batch(ids, y, tokens);
    }

    @Override
    protected long lossWeight(Batch batch) {
        return batch.labels().length;
    }

    @Override
    protected long tokenCount(Batch batch) {
        return batch.tokens();
    }

    @Override
    protected NDArray lossSum(NDManager fwd, Batch batch) {
        return crossEntropySum(logits(fwd, batch.ids()), batch.labels());
    }

    /**
     * Head logits {@code (batch, labels)} with the LoRA as hook, in {@code fwd}. With prompt tuning
     * the adapter's virtual tokens go first (cut to the model's positions): a BERT classifier's
     * pooler then reads the first virtual token where [CLS] was, as in PEFT.
     */
    private NDArray logits(NDManager fwd, List<long[]> rows) {
        int k = lora.virtualTokens();
        if (inputs.pooling() == InputPooling.SLIDING_WINDOW && model instanceof EncoderModel encoder) {
            InputWindows w = InputWindows.capped(rows, inputs.pooling(), inputs.frame(), model.config().maxPositions() - k,
                    inputs.maxWindows());
            if (!w.oneRowEach()) {
                InputWindows framed = new InputWindows(io.loragate.adapter.PromptPart.prepend(w.rows(), k), w.owner(), w.inputs(),
                        w.cut());
                return encoder.logits(fwd, framed, lora, encoder.hasClassifier() ? 0 : labels.size());
            }
        }
        List<long[]> ids = rows;
        if (k > 0) {
            int room = model.config().maxPositions() - k;
            ids = io.loragate.adapter.PromptPart.prepend(rows.stream().map(r -> ClassificationExample.fit(r, room)).toList(), k);
        }
        if (model instanceof EncoderModel encoder) {
            return encoder.logits(fwd, ids, lora, encoder.hasClassifier() ? 0 : labels.size());
        }
        CausalModel causal = (CausalModel) model;
        NDArray h = causal.lastHidden(fwd, ids.toArray(long[][]::new), lora); // (batch, hidden)
        return lora.afterLinear(LoraAdapter.SEQUENCE_HEAD, h, fwd.zeros(new Shape(ids.size(), labels.size())));
    }

    /**
     * {@code Σ_i −log softmax(logits_i)[y_i]}: a scalar in the logits' manager.
     *
     * @param logits (batch, labels)
     * @param y      (batch) label indices, all known
     */
    static NDArray crossEntropySum(NDArray logits, int[] y) {
        NDManager m = logits.getManager();
        long b = logits.getShape().get(0);
        long[] targets = new long[y.length];
        for (int i = 0; i < y.length; i++) {
            targets[i] = y[i];
        }
        NDArray logp = logits.logSoftmax(-1);                                                // (batch, labels)
        NDArray javaBacked = m.create(targets, new Shape(b, 1));
        NDArray t = Scalars.owned(javaBacked); // gather keeps it for backward (see Scalars)
        javaBacked.close();
        return logp.gather(t, 1).sum().neg();
    }

    /** Logits {@code (n, labels)} of the current adapter for {@code ids}: no dropout, no gradients. */
    public float[][] logits(List<long[]> ids) {
        float[][] out = new float[ids.size()][];
        lora.eval();
        try (NoGrad ignored = new NoGrad()) {
            for (int i = 0; i < ids.size(); i += config.batchSize()) {
                List<long[]> part = ids.subList(i, Math.min(ids.size(), i + config.batchSize()));
                try (NDManager fwd = manager.newSubManager()) {
                    float[] flat = logits(fwd, part).toFloatArray();
                    int k = labels.size();
                    for (int r = 0; r < part.size(); r++) {
                        out[i + r] = java.util.Arrays.copyOfRange(flat, r * k, (r + 1) * k);
                    }
                }
            }
        }
        return out;
    }

    /** Metrics of the current adapter on {@code examples} (an unknown label counts as an error). */
    public EvalMetrics evaluate(List<ClassificationExample> examples) {
        float[][] logits = logits(examples.stream().map(ClassificationExample::ids).toList());
        int[] truth = examples.stream().mapToInt(e -> labelIndex(e.label())).toArray();
        return ClassificationMetrics.of(logits, truth);
    }

    @Override
    public EvalMetrics evaluateAdapter() {
        return evaluate(validation);
    }

    @Override
    public EvalMetrics evaluateBase() {
        Map<String, float[]> current = lora.snapshot();
        lora.restore(initial);
        try {
            return evaluate(validation);
        } finally {
            lora.restore(current);
        }
    }

    @Override
    public void close() {
        super.close();
        if (ownsLora) {
            lora.close();
        }
    }
}
