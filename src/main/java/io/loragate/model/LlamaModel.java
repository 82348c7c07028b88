package io.loragate.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Path;

/**
 * The Llama family (Llama, Mistral, Qwen2, Qwen3, Phi-3): pre-norm decoder layers with RMSNorm,
 * rotary position embeddings ({@link RopeScaling}), grouped-query attention (optional q/k/v biases,
 * Qwen3's per-head q/k RMSNorm, sliding windows) and a SwiGLU MLP. q/k/v and gate/up each run as
 * one matmul over weights concatenated at load ({@link FusedLinear}); adapters still see q_proj,
 * k_proj, ... with their own slices. Phi-3 stores them fused already ({@code qkv_proj},
 * {@code gate_up_proj}): there adapters see the fused module, whose output is then split.
 */
public final class LlamaModel extends CausalModel {

    /**
     * One decoder layer: q/k/v and gate/up each as one matrix ({@link FusedLinear}, whatever the
     * checkpoint's layout), every linear weight in the base's {@link WeightFormat}; the q/k norms are Qwen3's.
     */
    private record Layer(String prefix, NDArray inputNorm, FusedLinear qkv, LinearWeight o, NDArray postNorm,
            FusedLinear gateUp, LinearWeight down, NDArray qNorm, NDArray kNorm) {
    }

    private final LinearWeight embedTokens; // (vocab, hidden)
    private final Layer[] layers;
    private final NDArray norm;        // (hidden)
    private final LinearWeight lmHead; // (vocab, hidden), the embedding itself when tied
    private final NDArray invFreq;     // (1, 1, headDim / 2); per forward instead when the rope is dynamic
    private final NDArray rotate;      // (headDim, headDim): x·R = rotate_half(x) = (-x₂, x₁), exact (entries 0, ±1)
    private final NDArray identity;    // (headDim, headDim)
    private final NDArray eps;         // () the RMSNorms' epsilon

    private LlamaModel(ModelConfig c, Device device, Loader l, LinearWeight embedTokens, Layer[] layers, NDArray norm,
            LinearWeight lmHead) {
        super(c, device, l.manager, l.linears, l.shapes, l.arrays, l.held);
        this.embedTokens = embedTokens;
        this.layers = layers;
        this.norm = norm;
        this.lmHead = lmHead;
        int half = c.headDim() / 2;
        this.invFreq = l.manager.create(c.rope().inverseFrequencies(0), new Shape(1, 1, half));
        int d = c.headDim();
        float[] r = new float[d * d];
        for (int j = 0; j < half; j++) {
            r[(j + half) * d + j] = -1f; // out[j] = -x[j + half]
            r[j * d + j + half] = 1f;    // out[j + half] = x[j]
        }
        this.rotate = l.manager.create(r, new Shape(d, d));
        float[] one = new float[d * d];
        for (int j = 0; j < d; j++) {
            one[j * d + j] = 1f;
        }
        this.identity = l.manager.create(one, new Shape(d, d));
        this.eps = l.manager.full(new Shape(), (float) c.normEps(), CausalModel.FLOAT);
    }

    static LlamaModel load(Path folder, ModelConfig c, Device device, WeightFormat format) {
        try (Loader l = new Loader(folder, device, format)) {
            long h = c.hiddenSize();
            long qOut = (long) c.numHeads() * c.headDim();
            long kvOut = (long) c.numKvHeads() * c.headDim();
            long inter = c.intermediateSize();
            boolean fused = c.family().fusedProjections().containsKey("qkv_proj");
            boolean qkNorm = c.family().qkNorm();
            LinearWeight embed = l.table("model.embed_tokens.weight", c.vocabSize(), h);
            Layer[] layers = new Layer[c.numLayers()];
            for (int i = 0; i < layers.length; i++) {
                String p = "model.layers." + i;
                String a = p + ".self_attn";
                String m = p + ".mlp";
                NDArray inputNorm = l.param(p + ".input_layernorm.weight", h);
                FusedLinear qkv = fused
                        ? l.stored(a + ".qkv_proj", h, qOut + 2 * kvOut, new long[] {qOut, qOut + kvOut})
                        : l.fused(h, new String[] {a + ".q_proj", a + ".k_proj", a + ".v_proj"},
                                new long[] {qOut, kvOut, kvOut}, c.attentionBias());
                LinearWeight o = l.weight(a + ".o_proj", qOut, h);
                NDArray postNorm = l.param(p + ".post_attention_layernorm.weight", h);
                FusedLinear gateUp = fused
                        ? l.stored(m + ".gate_up_proj", h, 2 * inter, new long[] {inter})
                        : l.fused(h, new String[] {m + ".gate_proj", m + ".up_proj"}, new long[] {inter, inter}, null);
                layers[i] = new Layer(p, inputNorm, qkv, o, postNorm, gateUp, l.weight(m + ".down_proj", inter, h),
                        qkNorm ? l.param(a + ".q_norm.weight", c.headDim()) : null,
                        qkNorm ? l.param(a + ".k_norm.weight", c.headDim()) : null);
            }
            NDArray norm = l.param("model.norm.weight", h);
            LinearWeight head;
            if (c.tieWordEmbeddings() && !l.checkpoint.contains("lm_head.weight")) {
                head = embed;
            } else {
                head = l.weight("lm_head", h, c.vocabSize());
            }
            l.linears.putIfAbsent("lm_head", new LinearShape("lm_head", h, c.vocabSize()));
            LlamaModel model = new LlamaModel(c, device, l, embed, layers, norm, head);
            l.finish();
            return model;
        }
    }

    @Override
    protected NDArray decode(NDManager step, NDArray ids, NDArray positions, NDArray mask, KvCache cache,
            AdapterHook hook) {
        return decode(step, ids, positions, mask, null, cache, hook);
    }

    // One piece on purpose: the layer loop reads top to bottom like HF's LlamaDecoderLayer.forward,
    // which is what a parity review compares it with, with every hook point in its place.
    @Override
    protected NDArray decode(NDManager step, NDArray ids, NDArray positions, NDArray mask, NDArray windowMask,
            KvCache cache, AdapterHook hook) {
        long batch = ids.getShape().get(0);
        long t = ids.getShape().get(1);
        NDArray angles = positions.toType(CausalModel.FLOAT, false).reshape(batch, t, 1)
                .mul(inverseFrequencies(step, positions));                                             // (batch, t, d/2)
        NDArray freqs = angles.concat(angles, -1).reshape(batch, t, 1, config.headDim());             // (batch, t, 1, d)
        NDArray cos = freqs.cos();
        NDArray sin = freqs.sin();
        float scale = (float) config.rope().attentionScale();
        if (scale != 1f) {
            cos = Scalars.mul(cos, scale); // yarn: transformers scales cos and sin, so q and k each by the factor
            sin = Scalars.mul(sin, scale);
        }
        // one new token per row (decode): the rotation as one matrix per row, x·M = x·cos + rotate_half(x)·sin
        // with M = diag(cos) + R·diag(sin), so that q and k take one matmul each instead of four ops
        NDArray turn = t == 1 ? cos.mul(identity).add(sin.mul(rotate)) : null;                  // (batch, 1, d, d)
        NDArray x = embedWords(step, embedTokens, ids, hook); // (batch, t, hidden)
        for (int i = 0; i < layers.length; i++) {
            Layer L = layers[i];
            String a = L.prefix + ".self_attn";
            NDArray hn = Layers.rmsNorm(x, L.inputNorm, eps);
            NDArray[] qkv = L.qkv.apply(hook, hn); // (batch, t, heads·d), (batch, t, kvHeads·d) twice
            NDArray q = qkv[0];
            NDArray k = qkv[1];
            NDArray v = qkv[2];
            if (L.qNorm != null) {
                q = headNorm(q, L.qNorm, config.numHeads());
                k = headNorm(k, L.kNorm, config.numKvHeads());
            }
            q = rope(q, cos, sin, turn, config.numHeads());
            k = rope(k, cos, sin, turn, config.numKvHeads());
            NDArray attn = attention(i, q, k, v, config.windows().slides(i) ? windowMask : mask, cache);
            NDArray o = Layers.linear(hook, a + ".o_proj", attn, L.o, null);
            x = x.add(hook.afterSublayer(a, o));
            String m = L.prefix + ".mlp";
            NDArray hm = Layers.rmsNorm(x, L.postNorm, eps);
            NDArray[] gateUp = L.gateUp.apply(hook, hm); // (batch, t, inter) each: gate, up
            NDArray gate = gateUp[0];
            NDArray up = gateUp[1];
            NDArray down = Layers.linear(hook, m + ".down_proj", Layers.silu(gate).mul(up), L.down, null);
            x = hook.afterLayer(i, x.add(hook.afterSublayer(m, down)));
        }
        return Layers.rmsNorm(x, norm, eps);
    }

    /**
     * The inverse frequencies, {@code (1, 1, d/2)}, or {@code (batch, 1, d/2)} for dynamic NTK:
     * transformers recomputes them in every forward from the longest position it sees, and the keys
     * already cached keep the rotation they were written with. Here each row uses its own longest
     * position, which is what transformers does for a batch of one.
     */
    private NDArray inverseFrequencies(NDManager step, NDArray positions) {
        if (!config.rope().dynamic()) {
            return invFreq;
        }
        long batch = positions.getShape().get(0);
        long[] maxPosition = positions.max(new int[] {1}).toLongArray(); // (batch)
        int half = config.headDim() / 2;
        float[] f = new float[(int) batch * half];
        for (int r = 0; r < batch; r++) {
            System.arraycopy(config.rope().inverseFrequencies((int) maxPosition[r] + 1), 0, f, r * half, half);
        }
        return Scalars.owned(step.create(f, new Shape(batch, 1, half)));
    }

    /** Qwen3's RMSNorm of each head on its own, {@code (batch, t, heads·d)} in and out. */
    private NDArray headNorm(NDArray x, NDArray w, int heads) {
        long batch = x.getShape().get(0);
        long t = x.getShape().get(1);
        return Layers.rmsNorm(x.reshape(batch, t, heads, config.headDim()), w, eps)
                .reshape(batch, t, (long) heads * config.headDim());
    }

    /**
     * Rotary embedding on (batch, t, heads·d), returned in the same layout:
     * {@code x·cos + rotate_half(x)·sin}, with rotate_half as one exact matmul (fewer engine calls
     * than slicing and concatenating, which matters at decode where every op's overhead counts);
     * with {@code turn} (one token per row) it is all one matmul, {@code x·turn}.
     *
     * @param turn null, or {@code (batch, 1, d, d)}: {@code diag(cos) + R·diag(sin)}
     */
    private NDArray rope(NDArray x, NDArray cos, NDArray sin, NDArray turn, int heads) {
        long batch = cos.getShape().get(0); // cos's shape is known once asked: x's would be an engine call per layer
        long t = cos.getShape().get(1);
        int d = config.headDim();
        NDArray xh = x.reshape(batch, t, heads, d);                     // (batch, t, heads, d)
        NDArray rotated = turn != null ? xh.matMul(turn)                // (batch, 1, heads, d)
                : xh.mul(cos).add(xh.matMul(rotate).mul(sin));          // cos, sin: (batch, t, 1, d)
        return rotated.reshape(batch, t, (long) heads * d);
    }

    @Override
    protected NDArray lmHead(NDArray h, AdapterHook hook) {
        return Layers.linear(hook, "lm_head", h, lmHead, null);
    }

}
