package io.loragate.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Path;

/**
 * The Llama family (Llama, Mistral, Qwen2, Qwen3, Phi-3): pre-norm decoder layers with RMSNorm,
 * rotary position embeddings ({@link RopeScaling}), grouped-query attention (optional q/k/v biases,
 * Qwen3's per-head q/k RMSNorm, sliding windows) and a SwiGLU MLP. Phi-3 stores q/k/v as one
 * {@code qkv_proj} and gate/up as one {@code gate_up_proj}: they run (and adapters apply) as one
 * linear, whose output is then split.
 */
public final class LlamaModel extends CausalModel {

    /** One decoder layer; q/k/v or gate/up are null when fused (qkv, gateUp); the q/k norms are Qwen3's. */
    private record Layer(String prefix, NDArray inputNorm, LinearWeight q, NDArray qb, LinearWeight k, NDArray kb,
            LinearWeight v, NDArray vb, LinearWeight o, NDArray postNorm, LinearWeight gate, LinearWeight up,
            LinearWeight down, LinearWeight qkv, LinearWeight gateUp, NDArray qNorm, NDArray kNorm) {
    }

    private final LinearWeight embedTokens; // (vocab, hidden)
    private final Layer[] layers;
    private final NDArray norm;        // (hidden)
    private final LinearWeight lmHead; // (vocab, hidden), the embedding itself when tied
    private final NDArray invFreq;     // (1, 1, headDim / 2); per forward instead when the rope is dynamic
    private final NDArray rotate;      // (headDim, headDim): x·R = rotate_half(x) = (-x₂, x₁), exact (entries 0, ±1)

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
                LinearWeight qkv = fused ? l.weight(a + ".qkv_proj", h, qOut + 2 * kvOut) : null;
                layers[i] = new Layer(p, inputNorm,
                        fused ? null : l.weight(a + ".q_proj", h, qOut), fused ? null : bias(l, c, a + ".q_proj", qOut),
                        fused ? null : l.weight(a + ".k_proj", h, kvOut), fused ? null : bias(l, c, a + ".k_proj", kvOut),
                        fused ? null : l.weight(a + ".v_proj", h, kvOut), fused ? null : bias(l, c, a + ".v_proj", kvOut),
                        l.weight(a + ".o_proj", qOut, h),
                        l.param(p + ".post_attention_layernorm.weight", h),
                        fused ? null : l.weight(m + ".gate_proj", h, inter),
                        fused ? null : l.weight(m + ".up_proj", h, inter),
                        l.weight(m + ".down_proj", inter, h),
                        qkv,
                        fused ? l.weight(m + ".gate_up_proj", h, 2 * inter) : null,
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

    private static NDArray bias(Loader l, ModelConfig c, String module, long out) {
        return c.attentionBias() ? l.param(module + ".bias", out) : l.optional(module + ".bias", out);
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
        long qOut = (long) config.numHeads() * config.headDim();
        long kvOut = (long) config.numKvHeads() * config.headDim();
        NDArray x = embedWords(step, embedTokens, ids, hook); // (batch, t, hidden)
        for (int i = 0; i < layers.length; i++) {
            Layer L = layers[i];
            String a = L.prefix + ".self_attn";
            NDArray hn = Layers.rmsNorm(x, L.inputNorm, config.normEps());
            NDArray q;
            NDArray k;
            NDArray v;
            if (L.qkv != null) {
                NDArray qkv = Layers.linear(hook, a + ".qkv_proj", hn, L.qkv, null); // (batch, t, (heads + 2·kvHeads)·d)
                q = qkv.get(new NDIndex("..., :{}", qOut));
                k = qkv.get(new NDIndex("..., {}:{}", qOut, qOut + kvOut));
                v = qkv.get(new NDIndex("..., {}:", qOut + kvOut));
            } else {
                q = Layers.linear(hook, a + ".q_proj", hn, L.q, L.qb); // (batch, t, heads·d)
                k = Layers.linear(hook, a + ".k_proj", hn, L.k, L.kb); // (batch, t, kvHeads·d)
                v = Layers.linear(hook, a + ".v_proj", hn, L.v, L.vb); // (batch, t, kvHeads·d)
            }
            if (L.qNorm != null) {
                q = headNorm(q, L.qNorm, config.numHeads());
                k = headNorm(k, L.kNorm, config.numKvHeads());
            }
            q = rope(q, cos, sin, config.numHeads());
            k = rope(k, cos, sin, config.numKvHeads());
            NDArray attn = attention(i, q, k, v, config.windows().slides(i) ? windowMask : mask, cache);
            NDArray o = Layers.linear(hook, a + ".o_proj", attn, L.o, null);
            x = x.add(hook.afterSublayer(a, o));
            String m = L.prefix + ".mlp";
            NDArray hm = Layers.rmsNorm(x, L.postNorm, config.normEps());
            NDArray gate;
            NDArray up;
            if (L.gateUp != null) {
                NDArray gu = Layers.linear(hook, m + ".gate_up_proj", hm, L.gateUp, null); // (batch, t, 2·inter): gate, up
                long inter = config.intermediateSize();
                gate = gu.get(new NDIndex("..., :{}", inter));
                up = gu.get(new NDIndex("..., {}:", inter));
            } else {
                gate = Layers.linear(hook, m + ".gate_proj", hm, L.gate, null);
                up = Layers.linear(hook, m + ".up_proj", hm, L.up, null);
            }
            NDArray down = Layers.linear(hook, m + ".down_proj", Layers.silu(gate).mul(up), L.down, null);
            x = hook.afterLayer(i, x.add(hook.afterSublayer(m, down)));
        }
        return Layers.rmsNorm(x, norm, config.normEps());
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
        return Layers.rmsNorm(x.reshape(batch, t, heads, config.headDim()), w, config.normEps())
                .reshape(batch, t, (long) heads * config.headDim());
    }

    /**
     * Rotary embedding on (batch, t, heads·d), returned in the same layout:
     * {@code x·cos + rotate_half(x)·sin}, with rotate_half as one exact matmul (fewer engine calls
     * than slicing and concatenating, which matters at decode where every op's overhead counts).
     */
    private NDArray rope(NDArray x, NDArray cos, NDArray sin, int heads) {
        long batch = x.getShape().get(0);
        long t = x.getShape().get(1);
        int d = config.headDim();
        NDArray xh = x.reshape(batch, t, heads, d);                     // (batch, t, heads, d)
        NDArray rotated = xh.mul(cos).add(xh.matMul(rotate).mul(sin));  // cos, sin: (batch, t, 1, d)
        return rotated.reshape(batch, t, (long) heads * d);
    }

    @Override
    protected NDArray lmHead(NDArray h, AdapterHook hook) {
        return Layers.linear(hook, "lm_head", h, lmHead, null);
    }

}
