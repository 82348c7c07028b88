package io.loragate.model;

import io.loragate.common.LoragateException;
import io.loragate.common.ModelFormatException;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * BERT encoders ({@code BertModel}, {@code BertForSequenceClassification}): word + position +
 * token-type embeddings, post-norm layers with bidirectional attention over a padding mask, the
 * tanh pooler and an optional classifier. Gives hidden states, pooled sentence embeddings and
 * class logits.
 */
public final class EncoderModel extends BaseModel {

    /** How token states become one sentence vector. */
    public enum Pooling {
        /** Mean over the attention mask, then L2 normalisation (the sentence-transformers recipe). */
        MEAN,
        /** The first ([CLS]) token's state, L2 normalised. */
        CLS
    }

    private record Layer(String prefix, NDArray qW, NDArray qB, NDArray kW, NDArray kB, NDArray vW, NDArray vB,
            NDArray oW, NDArray oB, NDArray ln1W, NDArray ln1B, NDArray iW, NDArray iB, NDArray outW, NDArray outB,
            NDArray ln2W, NDArray ln2B) {
    }

    private final String root; // "bert." for task checkpoints, "" for a bare BertModel
    private final NDArray wordEmb;   // (vocab, hidden)
    private final NDArray posEmb;    // (positions, hidden)
    private final NDArray typeEmb;   // (types, hidden)
    private final NDArray embLnW;
    private final NDArray embLnB;
    private final Layer[] layers;
    private final NDArray poolerW;   // (hidden, hidden) or null
    private final NDArray poolerB;
    private final NDArray classifierW; // (labels, hidden) or null
    private final NDArray classifierB;
    private final AtomicLong inferenceForwards = new AtomicLong();
    private final AtomicLong largestForward = new AtomicLong();

    private EncoderModel(ModelConfig c, Device device, Loader l, String root, NDArray[] emb, Layer[] layers,
            NDArray[] pooler, NDArray[] classifier) {
        super(c, device, l.manager, l.linears, l.shapes, l.arrays);
        this.root = root;
        this.wordEmb = emb[0];
        this.posEmb = emb[1];
        this.typeEmb = emb[2];
        this.embLnW = emb[3];
        this.embLnB = emb[4];
        this.layers = layers;
        this.poolerW = pooler[0];
        this.poolerB = pooler[1];
        this.classifierW = classifier[0];
        this.classifierB = classifier[1];
    }

    static EncoderModel load(Path folder, ModelConfig c, Device device) {
        try (Loader l = new Loader(folder, device)) {
            String root = l.checkpoint.contains("bert.embeddings.word_embeddings.weight") ? "bert." : "";
            long h = c.hiddenSize();
            String e = root + "embeddings.";
            NDArray[] emb = {
                l.param(e + "word_embeddings.weight", c.vocabSize(), h),
                l.param(e + "position_embeddings.weight", c.maxPositions(), h),
                l.param(e + "token_type_embeddings.weight", c.typeVocabSize(), h),
                l.param(e + "LayerNorm.weight", h),
                l.param(e + "LayerNorm.bias", h)};
            Layer[] layers = new Layer[c.numLayers()];
            for (int i = 0; i < layers.length; i++) {
                String p = root + "encoder.layer." + i;
                String s = p + ".attention.self";
                layers[i] = new Layer(p,
                        l.linear(s + ".query", h, h), l.param(s + ".query.bias", h),
                        l.linear(s + ".key", h, h), l.param(s + ".key.bias", h),
                        l.linear(s + ".value", h, h), l.param(s + ".value.bias", h),
                        l.linear(p + ".attention.output.dense", h, h), l.param(p + ".attention.output.dense.bias", h),
                        l.param(p + ".attention.output.LayerNorm.weight", h), l.param(p + ".attention.output.LayerNorm.bias", h),
                        l.linear(p + ".intermediate.dense", h, c.intermediateSize()),
                        l.param(p + ".intermediate.dense.bias", c.intermediateSize()),
                        l.linear(p + ".output.dense", c.intermediateSize(), h), l.param(p + ".output.dense.bias", h),
                        l.param(p + ".output.LayerNorm.weight", h), l.param(p + ".output.LayerNorm.bias", h));
            }
            NDArray[] pooler = {null, null};
            if (l.checkpoint.contains(root + "pooler.dense.weight")) {
                pooler[0] = l.linear(root + "pooler.dense", h, h);
                pooler[1] = l.param(root + "pooler.dense.bias", h);
            }
            NDArray[] classifier = {null, null};
            if (c.architectureName().equals("BertForSequenceClassification")) {
                int labels = c.labels().size();
                classifier[0] = l.linear("classifier", h, labels);
                classifier[1] = l.param("classifier.bias", labels);
                if (pooler[0] == null) {
                    throw new ModelFormatException(folder, "a sequence classifier needs the pooler weights (" + root + "pooler.dense.weight)");
                }
            }
            EncoderModel model = new EncoderModel(c, device, l, root, emb, layers, pooler, classifier);
            l.finish();
            return model;
        }
    }

    /** The module path prefix of the encoder ("bert." or ""), for adapters and diagnostics. */
    public String root() {
        return root;
    }

    /** True when the checkpoint carries a classification head. */
    public boolean hasClassifier() {
        return classifierW != null;
    }

    /**
     * Host copies of the base's classifier, {@code {weight (labels·hidden, row-major), bias (labels)}},
     * or null when it has none (to start a trainable head from it).
     */
    public float[][] classifierValues() {
        return classifierW == null ? null : new float[][] {classifierW.toFloatArray(), classifierB.toFloatArray()};
    }

    /** True when the checkpoint carries the tanh pooler. */
    public boolean hasPooler() {
        return poolerW != null;
    }

    /** Last hidden states as Java arrays, each row trimmed to its own length (one forward). */
    public float[][][] lastHidden(List<long[]> ids, AdapterHook hook) {
        return lastHidden(ids, hook, Long.MAX_VALUE);
    }

    /**
     * Last hidden states as Java arrays, each row trimmed to its own length, computed in micro-batches
     * of at most {@code batchTokens} padded tokens (see {@link EncoderBatches}).
     */
    public float[][][] lastHidden(List<long[]> ids, AdapterHook hook, long batchTokens) {
        float[][][] result = new float[ids.size()][][];
        int hidden = config.hiddenSize();
        for (int[] group : EncoderBatches.plan(ids, batchTokens)) {
            List<long[]> part = EncoderBatches.rows(ids, group);
            try (NDManager step = weights.newSubManager(device)) {
                NDArray h = inferenceEncode(step, part, hook);
                long maxLen = h.getShape().get(1);
                float[] all = h.toFloatArray();
                for (int r = 0; r < part.size(); r++) {
                    float[][] rows = new float[part.get(r).length][hidden];
                    for (int s = 0; s < rows.length; s++) {
                        System.arraycopy(all, (int) ((r * maxLen + s) * hidden), rows[s], 0, hidden);
                    }
                    result[group[r]] = rows;
                }
            }
        }
        return result;
    }

    /** Sentence embeddings, one L2-normalised vector per sequence (one forward). */
    public float[][] embed(List<long[]> ids, Pooling pooling, AdapterHook hook) {
        return embed(ids, pooling, hook, Long.MAX_VALUE);
    }

    /**
     * Sentence embeddings, one L2-normalised vector per sequence, in input order, computed in
     * micro-batches of at most {@code batchTokens} padded tokens (see {@link EncoderBatches}); only the
     * pooled vectors of a micro-batch outlive its forward.
     */
    public float[][] embed(List<long[]> ids, Pooling pooling, AdapterHook hook, long batchTokens) {
        float[][] result = new float[ids.size()][];
        for (int[] group : EncoderBatches.plan(ids, batchTokens)) {
            List<long[]> part = EncoderBatches.rows(ids, group);
            try (NDManager step = weights.newSubManager(device)) {
                NDArray h = inferenceEncode(step, part, hook);          // (batch, len, hidden)
                NDArray pooled;
                if (pooling == Pooling.CLS) {
                    pooled = h.get(new NDIndex(":, 0, :"));    // (batch, hidden)
                } else {
                    pooled = meanPool(h, part);
                }
                NDArray norm = pooled.square().sum(new int[] {1}, true).sqrt().maximum(1e-12f);
                scatter(toRows(pooled.div(norm)), group, result);
            }
        }
        return result;
    }

    /** Classification logits {@code (batch, labels)} from the base's own head over the pooled [CLS] state. */
    public float[][] classify(List<long[]> ids, AdapterHook hook) {
        return classify(ids, hook, 0);
    }

    /**
     * Classification logits {@code (batch, labels)}: the base's head when it has one (which the hook
     * may replace), else a head of {@code headLabels} outputs that the hook supplies as the
     * {@value #HEAD} module (an adapter's modules_to_save) over the mean-pooled last hidden state.
     *
     * @param headLabels outputs of the hook's head on a base without one; 0: the hook has none
     */
    public float[][] classify(List<long[]> ids, AdapterHook hook, int headLabels) {
        return classify(ids, hook, headLabels, Long.MAX_VALUE);
    }

    /**
     * {@link #classify(List, AdapterHook, int)} in micro-batches of at most {@code batchTokens} padded
     * tokens (see {@link EncoderBatches}), rows in input order; only the logits of a micro-batch
     * outlive its forward.
     */
    public float[][] classify(List<long[]> ids, AdapterHook hook, int headLabels, long batchTokens) {
        float[][] result = new float[ids.size()][];
        for (int[] group : EncoderBatches.plan(ids, batchTokens)) {
            List<long[]> part = EncoderBatches.rows(ids, group);
            try (NDManager step = weights.newSubManager(device)) {
                scatter(toRows(logits(step, part, hook, headLabels, true)), group, result);
            }
        }
        return result;
    }

    /** Inference forwards run so far (one per micro-batch of embed, classify and lastHidden). */
    public long inferenceForwards() {
        return inferenceForwards.get();
    }

    /** The most padded tokens (rows × longest row) any inference forward has held so far. */
    public long largestForwardTokens() {
        return largestForward.get();
    }

    /**
     * Classification logits {@code (batch, labels)} in {@code step}, recorded by autograd when it is on
     * (see {@link #classify(List, AdapterHook, int)} for which head and which features).
     */
    public NDArray logits(NDManager step, List<long[]> ids, AdapterHook hook, int headLabels) {
        return logits(step, ids, hook, headLabels, false);
    }

    private NDArray logits(NDManager step, List<long[]> ids, AdapterHook hook, int headLabels, boolean inference) {
        requireHead(headLabels);
        NDArray h = inference ? inferenceEncode(step, ids, hook) : hidden(step, ids, hook); // (batch, len, hidden)
        NDArray features = classifierW != null ? pool(h, hook) : meanPool(h, ids);          // (batch, hidden)
        return head(step, features, hook, headLabels);
    }

    /**
     * Logits {@code (inputs, labels)} of inputs read in several rows each ({@link InputWindows},
     * sliding windows), recorded by autograd when it is on: the head reads each input's
     * token-weighted average of its rows' head features.
     */
    public NDArray logits(NDManager step, InputWindows windows, AdapterHook hook, int headLabels) {
        requireHead(headLabels);
        List<long[]> rows = windows.rows();
        NDArray h = hidden(step, rows, hook);                                                // (rows, len, hidden)
        NDArray features = classifierW != null ? pool(h, hook) : meanPool(h, rows);          // (rows, hidden)
        NDArray mix = step.create(windows.mix(), new Shape(windows.inputs(), rows.size())); // (inputs, rows)
        NDArray mixed = Scalars.owned(mix);
        mix.close();
        return head(step, mixed.matMul(features), hook, headLabels);
    }

    /**
     * What the classification head reads for each row, {@code (rows, hidden)} as host vectors
     * (inference; the caller micro-batches): the pooler's output or the masked mean, as in
     * {@link #classify(List, AdapterHook, int)}.
     */
    public float[][] headFeatures(List<long[]> ids, AdapterHook hook, int headLabels) {
        requireHead(headLabels);
        try (NDManager step = weights.newSubManager(device)) {
            NDArray h = inferenceEncode(step, ids, hook);
            return toRows(classifierW != null ? pool(h, hook) : meanPool(h, ids));
        }
    }

    /** Logits {@code (n, labels)} of the head over given features {@code (n, hidden)} (inference). */
    public float[][] classifyFeatures(float[][] features, AdapterHook hook, int headLabels) {
        requireHead(headLabels);
        int hidden = config.hiddenSize();
        float[] flat = new float[features.length * hidden];
        for (int r = 0; r < features.length; r++) {
            System.arraycopy(features[r], 0, flat, r * hidden, hidden);
        }
        try (NDManager step = weights.newSubManager(device)) {
            return toRows(head(step, step.create(flat, new Shape(features.length, hidden)), hook, headLabels));
        }
    }

    private void requireHead(int headLabels) {
        if (classifierW == null && headLabels <= 0) {
            throw new LoragateException(LoragateException.Kind.FAILED_PRECONDITION,
                    "base model " + config.architectureName() + " has no classification head");
        }
    }

    /** The base's classifier (which the hook may replace), else the hook's {@value #HEAD} over {@code features}. */
    private NDArray head(NDManager step, NDArray features, AdapterHook hook, int headLabels) {
        if (classifierW != null) {
            return Layers.linear(hook, HEAD, features, classifierW, classifierB);
        }
        NDArray none = step.zeros(new Shape(features.getShape().get(0), headLabels)); // rows the hook leaves alone score 0
        return hook.afterLinear(HEAD, features, none);
    }

    /** The module name of the classification head ({@code BertForSequenceClassification.classifier}). */
    public static final String HEAD = "classifier";

    /**
     * What the classification head reads, {@code (batch, hidden)}: the tanh pooler over [CLS] when the
     * checkpoint carries a classifier (what it was trained on), else the masked mean of the last
     * hidden states without normalisation (sentence-transformers pooling, for sentence encoders).
     */
    public NDArray classifierInput(NDManager step, List<long[]> ids, AdapterHook hook) {
        NDArray h = hidden(step, ids, hook); // (batch, len, hidden)
        return classifierW != null ? pool(h, hook) : meanPool(h, ids);
    }

    /**
     * Last hidden states {@code (batch, len, hidden)}, right-padded to the longest row, computed in
     * {@code step} (recorded by autograd when it is on; the base's weights never require gradients).
     */
    public NDArray hidden(NDManager step, List<long[]> ids, AdapterHook hook) {
        return encode(step, ids, hook, false);
    }

    /**
     * The forward of the inference entry points: each layer's intermediates (attention scores, MLP
     * activations, the previous layer's states) are freed as soon as the layer's output exists, so a
     * forward holds one layer's activations at a time (no autograd: nothing may read them later).
     */
    private NDArray inferenceEncode(NDManager step, List<long[]> ids, AdapterHook hook) {
        inferenceForwards.incrementAndGet();
        largestForward.accumulateAndGet(EncoderBatches.paddedTokens(ids), Math::max);
        return encode(step, ids, hook, true);
    }

    /**
     * Mean of each row's hidden states over its real tokens, {@code (batch, hidden)}, without
     * normalisation. The padding mask is a native copy, so that a backward after the caller's
     * manager has closed the Java-backed original reads no freed memory (see {@link Scalars}).
     */
    public NDArray meanPool(NDArray hidden, List<long[]> ids) {
        NDManager step = hidden.getManager();
        NDArray javaBacked = paddingMask(step, ids);
        NDArray mask = Scalars.owned(javaBacked).expandDims(-1); // (batch, len, 1)
        javaBacked.close();
        NDArray count = mask.sum(new int[] {1}).maximum(1e-9f);  // (batch, 1)
        return hidden.mul(mask).sum(new int[] {1}).div(count);
    }

    /** The BERT pooler: {@code tanh(W·h[CLS] + b)}, {@code (batch, hidden)}. */
    public NDArray pool(NDArray hidden, AdapterHook hook) {
        if (poolerW == null) {
            throw new LoragateException(LoragateException.Kind.FAILED_PRECONDITION, "this checkpoint has no pooler");
        }
        NDArray cls = hidden.get(new NDIndex(":, 0, :"));
        return Layers.linear(hook, root + "pooler.dense", cls, poolerW, poolerB).tanh();
    }

    // One piece on purpose: the layer loop reads top to bottom like HF's BertModel.forward, which is
    // what a parity review compares it with, and each array's lifetime (step manager) stays visible.
    private NDArray encode(NDManager step, List<long[]> ids, AdapterHook hook, boolean freeLayers) {
        int batch = ids.size();
        int len = 0;
        for (long[] row : ids) {
            if (row.length == 0) {
                throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "empty input");
            }
            len = Math.max(len, row.length);
        }
        if (len > config.maxPositions()) {
            throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT,
                    "input of " + len + " tokens exceeds the model's " + config.maxPositions() + " positions");
        }
        long[] flat = new long[batch * len];  // (batch, len), right-padded with 0
        long[] positions = new long[batch * len];
        for (int r = 0; r < batch; r++) {
            long[] row = ids.get(r);
            for (int s = 0; s < len; s++) {
                positions[r * len + s] = s;
                if (s < row.length) {
                    if (row[s] >= config.vocabSize() || row[s] < (hook == AdapterHook.NONE ? 0 : -AdapterHook.MAX_VIRTUAL_TOKENS)) {
                        throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT,
                                "token id " + row[s] + " is outside the vocabulary of " + config.vocabSize());
                    }
                    flat[r * len + s] = row[s];
                }
            }
        }
        NDArray idArray = step.create(flat, new Shape(batch, len));
        NDArray posArray = step.create(positions, new Shape(batch, len));
        NDArray typeArray = step.zeros(new Shape(batch, len), ai.djl.ndarray.types.DataType.INT64);
        NDArray words = hook == AdapterHook.NONE ? lookup(step, wordEmb, idArray)
                : hook.embeddings(idArray, lookup(step, wordEmb, idArray.maximum(0L)));
        NDArray x = words.add(lookup(step, posEmb, posArray)).add(lookup(step, typeEmb, typeArray));
        x = Layers.layerNorm(x, embLnW, embLnB, config.normEps());                      // (batch, len, hidden)
        int heads = config.numHeads();
        Shape scoreShape = new Shape(batch, heads, len, len);
        // native boolean (where() keeps it for a backward), expanded once (a view): DJL's where() does not broadcast
        NDArray real = paddingMask(step, ids).gt(0.5f).reshape(batch, 1, 1, len).broadcast(scoreShape);
        NDArray masked = step.full(scoreShape, CausalModel.MASKED, x.getDataType());
        int d = config.headDim();
        float scale = (float) (1.0 / Math.sqrt(d));
        for (int li = 0; li < layers.length; li++) {
            NDManager layerScope = freeLayers ? step.newSubManager() : null; // closed at the layer's end with all it made
            if (layerScope != null) {
                x.attach(layerScope); // the previous layer's output goes with it; ops on x allocate in x's manager
            }
            Layer L = layers[li];
            String s = L.prefix + ".attention.self";
            NDArray q = heads(Layers.linear(hook, s + ".query", x, L.qW, L.qB), heads, d); // (batch, heads, len, d)
            NDArray k = heads(Layers.linear(hook, s + ".key", x, L.kW, L.kB), heads, d);
            NDArray v = heads(Layers.linear(hook, s + ".value", x, L.vW, L.vB), heads, d);
            // padding is selected away, never added to: a non-finite score or value there cannot leak into the row
            NDArray scores = Scalars.mul(q.matMul(k.transpose(0, 1, 3, 2)), scale);                   // (batch, heads, len, len)
            NDArray probs = NDArrays.where(real, scores, masked).softmax(-1);
            NDArray ctx = probs.matMul(v).transpose(0, 2, 1, 3).reshape(batch, len, (long) heads * d);
            NDArray attnOut = Layers.linear(hook, L.prefix + ".attention.output.dense", ctx, L.oW, L.oB);
            attnOut = hook.afterSublayer(L.prefix + ".attention", attnOut);
            x = Layers.layerNorm(attnOut.add(x), L.ln1W, L.ln1B, config.normEps());
            NDArray inter = Layers.activation(config.hiddenAct(),
                    Layers.linear(hook, L.prefix + ".intermediate.dense", x, L.iW, L.iB));
            NDArray out = Layers.linear(hook, L.prefix + ".output.dense", inter, L.outW, L.outB);
            out = hook.afterSublayer(L.prefix + ".mlp", out);
            x = hook.afterLayer(li, Layers.layerNorm(out.add(x), L.ln2W, L.ln2B, config.normEps()));
            if (layerScope != null) {
                x.attach(step); // only the layer's output survives it
                layerScope.close();
            }
        }
        return x;
    }

    private static NDArray heads(NDArray x, int heads, int d) {
        long batch = x.getShape().get(0);
        long len = x.getShape().get(1);
        return x.reshape(batch, len, heads, d).transpose(0, 2, 1, 3);
    }

    /** 1 for real tokens, 0 for padding: {@code (batch, len)} float. */
    private static NDArray paddingMask(NDManager step, List<long[]> ids) {
        int len = ids.stream().mapToInt(r -> r.length).max().orElse(0);
        float[] m = new float[ids.size() * len];
        for (int r = 0; r < ids.size(); r++) {
            for (int s = 0; s < ids.get(r).length; s++) {
                m[r * len + s] = 1f;
            }
        }
        return step.create(m, new Shape(ids.size(), len));
    }

    private static NDArray lookup(NDManager step, NDArray table, NDArray ids) {
        NDArray e = table.get(ids);
        e.attach(step);
        return e;
    }

    private static void scatter(float[][] rows, int[] group, float[][] into) {
        for (int r = 0; r < group.length; r++) {
            into[group[r]] = rows[r];
        }
    }

    private static float[][] toRows(NDArray m) {
        int rows = (int) m.getShape().get(0);
        int cols = (int) m.getShape().get(1);
        float[] flat = m.toFloatArray();
        float[][] out = new float[rows][cols];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(flat, r * cols, out[r], 0, cols);
        }
        return out;
    }
}
