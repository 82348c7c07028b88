package io.loragate.model;

import io.loragate.common.LoragateException;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.Map;

/**
 * A decoder that generates text. One {@link #forward} call runs a block of new tokens for every row
 * of a batch (rows may have different numbers of new tokens: they are left-padded to the longest and
 * masked), appends their keys and values to the {@link KvCache}, and returns logits. Prefill is a
 * forward of the whole prompt; decode is a forward of one token per row that attends to the cache.
 */
public abstract class CausalModel extends BaseModel {

    /**
     * What a forbidden attention score is replaced with (a select, never an add: a NaN or infinite
     * score in a masked column must not survive); finite so a fully masked (padding) row stays NaN-free.
     */
    static final float MASKED = -1e9f;

    static final ai.djl.ndarray.types.DataType FLOAT = ai.djl.ndarray.types.DataType.FLOAT32;

    // constants every layer uses, made once as native 0-d arrays: a constant made at each use costs
    // an engine call to make and one to free, at every layer of every step
    private final NDArray scoreScale;  // () 1/√headDim
    private final NDArray maskedScore; // () MASKED

    protected CausalModel(ModelConfig config, Device device, NDManager weights, Map<String, LinearShape> linears,
            Map<String, long[]> paramShapes, Map<String, NDArray> params) {
        this(config, device, weights, linears, paramShapes, params, Map.of());
    }

    protected CausalModel(ModelConfig config, Device device, NDManager weights, Map<String, LinearShape> linears,
            Map<String, long[]> paramShapes, Map<String, NDArray> params, Map<String, LinearWeight> stored) {
        super(config, device, weights, linears, paramShapes, params, stored);
        this.scoreScale = weights.full(new Shape(), (float) (1.0 / Math.sqrt(config.headDim())), FLOAT);
        this.maskedScore = weights.full(new Shape(), MASKED, FLOAT);
    }

    /** An empty cache for {@code batch} sequences that all take part in every forward. */
    public KvCache newCache(int batch) {
        return new KvCache(weights, config.numLayers(), batch, batch, config.numKvHeads(), config.headDim());
    }

    /** An empty slot cache for continuous batching: rows are added with {@link KvCache#adopt}. */
    public KvCache newSlots(int rows) {
        return new KvCache(weights, config.numLayers(), rows, 0, config.numKvHeads(), config.headDim());
    }

    /**
     * Runs new tokens through the model.
     *
     * @param out     manager that receives the returned logits (the caller closes it)
     * @param tokens  new token ids per row; rows may differ in length (0 is allowed: the row idles)
     * @param cache   the rows' cache, extended in place
     * @param hook    the adapters of the batch's rows ({@link AdapterHook#NONE} for the base)
     * @param allPositions true: logits for every new position {@code (batch, t, vocab)}, left-padded;
     *                false: logits of each row's last position {@code (batch, vocab)}
     */
    public NDArray forward(NDManager out, long[][] tokens, KvCache cache, AdapterHook hook, boolean allPositions) {
        try (NDManager step = out.newSubManager(device)) {
            NDArray h = hidden(step, tokens, cache, hook);                  // (batch, t, hidden)
            if (!allPositions) {
                h = h.get(new NDIndex(":, -1, :"));                          // (batch, hidden)
            }
            NDArray logits = lmHead(h, hook);
            logits.attach(out);
            return logits;
        }
    }

    /** The block's final hidden states {@code (batch, t, hidden)} in {@code step}; extends the cache. */
    private NDArray hidden(NDManager step, long[][] tokens, KvCache cache, AdapterHook hook) {
        int batch = tokens.length;
        if (cache.batch() != batch) {
            throw new IllegalArgumentException("cache holds " + cache.batch() + " rows, batch has " + batch);
        }
        int t = 0;
        int[] newReal = new int[batch];
        for (int r = 0; r < batch; r++) {
            newReal[r] = tokens[r].length;
            t = Math.max(t, newReal[r]);
        }
        if (t == 0) {
            throw new IllegalArgumentException("no new tokens in any row");
        }
        int past = cache.columns();
        long[] ids = new long[batch * t];      // (batch, t), left-padded with 0
        long[] positions = new long[batch * t]; // (batch, t)
        for (int r = 0; r < batch; r++) {
            int pad = t - newReal[r];
            for (int s = 0; s < newReal[r]; s++) {
                long id = tokens[r][s];
                if (id >= config.vocabSize() || id < (hook == AdapterHook.NONE ? 0 : -AdapterHook.MAX_VIRTUAL_TOKENS)) {
                    throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT,
                            "token id " + id + " is outside the vocabulary of " + config.vocabSize());
                }
                ids[r * t + pad + s] = id;
                positions[r * t + pad + s] = cache.length(r) + s;
            }
            if (cache.length(r) + newReal[r] > config.maxPositions()) {
                throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "sequence of "
                        + (cache.length(r) + newReal[r]) + " tokens exceeds the model's " + config.maxPositions() + " positions");
            }
        }
        cache.extend(t, newReal);
        int columns = cache.columns();
        boolean[] mask = new boolean[batch * t * columns]; // (batch, 1, t, columns): true where attention may look
        for (int r = 0; r < batch; r++) {
            for (int s = 0; s < t; s++) {
                int q = past + s;
                int base = (r * t + s) * columns;
                for (int j = 0; j < columns; j++) {
                    mask[base + j] = j <= q && cache.isReal(r, j);
                }
            }
        }
        NDArray idArray = step.create(ids, new Shape(batch, t));
        NDArray posArray = step.create(positions, new Shape(batch, t));
        NDArray maskArray = maskArray(step, mask, batch, t, columns);
        AttentionWindows w = config.windows();
        NDArray windowMask = w.any() ? maskArray(step, slidingMask(cache, mask, batch, t, past, w.window()), batch, t,
                columns) : null;
        return decode(step, idArray, posArray, maskArray, windowMask, cache, hook);
    }

    /**
     * The mask in the scores' shape {@code (batch, kvHeads, groups·t, columns)}, made once per
     * forward: where() needs its condition in the scores' shape (DJL checks), and in native memory
     * (a copy of the Java array), as a backward may keep it (see Scalars).
     */
    private NDArray maskArray(NDManager step, boolean[] mask, int batch, int t, int columns) {
        int kvHeads = config.numKvHeads();
        int g = config.groups();
        try (NDArray javaMask = step.create(mask, new Shape(batch, 1, 1, t, columns));
                NDArray owned = javaMask.duplicate();
                NDArray expanded = owned.broadcast(new Shape(batch, kvHeads, g, t, columns))) {
            return expanded.reshape(batch, kvHeads, (long) g * t, columns);
        }
    }

    /**
     * The causal mask {@code (batch, t, columns)} narrowed to the last {@code window} positions of
     * each query. Positions, not columns: a row's real columns need not be contiguous (left padding),
     * so each column's position is the number of the row's real columns before it.
     */
    private static boolean[] slidingMask(KvCache cache, boolean[] causal, int batch, int t, int past, int window) {
        int columns = cache.columns();
        boolean[] out = causal.clone();
        int[] position = new int[columns];
        for (int r = 0; r < batch; r++) {
            int n = 0;
            for (int j = 0; j < columns; j++) {
                position[j] = n;
                if (cache.isReal(r, j)) {
                    n++;
                }
            }
            for (int s = 0; s < t; s++) {
                int q = position[past + s];
                int base = (r * t + s) * columns;
                for (int j = 0; j < columns; j++) {
                    out[base + j] &= q - position[j] < window;
                }
            }
        }
        return out;
    }

    /**
     * Final hidden state of each row's last token, {@code (batch, hidden)} attached to {@code out}
     * (sequence classification heads read it). No cache is kept.
     */
    public NDArray lastHidden(NDManager out, long[][] tokens, AdapterHook hook) {
        try (KvCache cache = newCache(tokens.length); NDManager step = out.newSubManager(device)) {
            NDArray h = hidden(step, tokens, cache, hook).get(new NDIndex(":, -1, :")); // (batch, hidden)
            h.attach(out);
            return h;
        }
    }

    /** Convenience: the whole sequence in one row, all positions' logits {@code (t, vocab)}, no cache kept. */
    public NDArray logits(NDManager out, long[] ids, AdapterHook hook) {
        try (KvCache cache = newCache(1)) {
            NDArray l = forward(out, new long[][] {ids}, cache, hook, true);
            NDArray row = l.get(0);
            row.attach(out);
            l.close();
            return row;
        }
    }

    /** Embeddings, the decoder layers and the final norm: {@code (batch, t, hidden)}. */
    protected abstract NDArray decode(NDManager step, NDArray ids, NDArray positions, NDArray mask, KvCache cache,
            AdapterHook hook);

    /**
     * As {@link #decode(NDManager, NDArray, NDArray, NDArray, KvCache, AdapterHook)}, with the mask of
     * the layers that use a sliding window ({@link ModelConfig#windows()}; null when none does).
     */
    protected NDArray decode(NDManager step, NDArray ids, NDArray positions, NDArray mask, NDArray windowMask,
            KvCache cache, AdapterHook hook) {
        return decode(step, ids, positions, mask, cache, hook);
    }

    /** Hidden states to vocabulary logits. */
    protected abstract NDArray lmHead(NDArray h, AdapterHook hook);

    /** Token embedding lookup, attached to the step (a lookup's result would otherwise belong to the weights). */
    protected static NDArray embed(NDManager step, NDArray table, NDArray ids) {
        NDArray e = table.get(ids);
        e.attach(step);
        return e;
    }

    /**
     * Word embeddings of {@code ids} through the hook: virtual (negative) ids look up token 0 and
     * the hook replaces them (prompt tuning).
     */
    protected static NDArray embedWords(NDManager step, NDArray table, NDArray ids, AdapterHook hook) {
        if (hook == AdapterHook.NONE) {
            return embed(step, table, ids);
        }
        NDArray real = ids.maximum(0L);
        NDArray e = embed(step, table, real);
        real.close();
        return hook.embeddings(ids, e);
    }

    /** As {@link #embedWords(NDManager, NDArray, NDArray, AdapterHook)}, the table held in its {@link WeightFormat}. */
    protected static NDArray embedWords(NDManager step, LinearWeight table, NDArray ids, AdapterHook hook) {
        if (hook == AdapterHook.NONE) {
            return table.rows(ids, step);
        }
        NDArray real = ids.maximum(0L);
        NDArray e = table.rows(real, step);
        real.close();
        return hook.embeddings(ids, e);
    }

    /**
     * Scaled dot-product attention against the cache, grouped-query aware without copying keys:
     * the query heads that share a key/value head are folded into the sequence axis.
     *
     * @param q (batch, t, heads·headDim)
     * @param k (batch, t, kvHeads·headDim) new keys (positions already encoded)
     * @param v (batch, t, kvHeads·headDim)
     * @param mask (batch, kvHeads, groups·t, L) boolean: true where a query may look
     * @return (batch, t, heads·headDim)
     */
    protected NDArray attention(int layer, NDArray q, NDArray k, NDArray v, NDArray mask, KvCache cache) {
        int heads = config.numHeads();
        int kvHeads = config.numKvHeads();
        int d = config.headDim();
        int g = config.groups();
        Shape m = mask.getShape(); // known since the mask was made: no engine call, where q's shape would be one
        long batch = m.get(0);
        long t = m.get(2) / g;
        // for one new token (decode) the transposes move nothing: a reshape gives the same layout,
        // one engine call instead of two or three
        boolean one = t == 1;
        NDArray kNew = one ? k.reshape(batch, kvHeads, 1, d)
                : k.reshape(batch, t, kvHeads, d).transpose(0, 2, 1, 3);           // (batch, kvHeads, t, d)
        NDArray vNew = one ? v.reshape(batch, kvHeads, 1, d)
                : v.reshape(batch, t, kvHeads, d).transpose(0, 2, 1, 3);           // (batch, kvHeads, t, d)
        NDArray[] kv = cache.write(layer, kNew, vNew, t);                         // (batch, kvHeads, L, d) each
        NDArray qh = one ? q.reshape(batch, kvHeads, g, d)
                : q.reshape(batch, t, kvHeads, g, d).transpose(0, 2, 3, 1, 4)
                        .reshape(batch, kvHeads, g * t, d);                     // (batch, kvHeads, g·t, d)
        NDArray scores = qh.matMul(kv[0].transpose(0, 1, 3, 2)).mul(scoreScale); // (batch, kvHeads, g·t, L)
        // select, not add: whatever a masked column's score is (NaN or ±Inf included) is replaced, so its
        // probability is exactly 0 (exp(-1e9 - max) underflows); the cache keeps masked columns zeroed
        // (KvCache), so 0·value is 0 too
        NDArray probs = NDArrays.where(mask, scores, maskedScore).softmax(-1);   // (batch, kvHeads, g·t, L)
        NDArray out = probs.matMul(kv[1]);                                       // (batch, kvHeads, g·t, d)
        return one ? out.reshape(batch, 1, (long) heads * d)
                : out.reshape(batch, kvHeads, g, t, d)
                        .transpose(0, 3, 1, 2, 4)                                // (batch, t, kvHeads, g, d)
                        .reshape(batch, t, (long) heads * d);
    }
}
