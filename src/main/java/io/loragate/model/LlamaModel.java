package io.loragate.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Path;

/**
 * The Llama family (Llama, Mistral, Qwen2): pre-norm decoder layers with RMSNorm, rotary position
 * embeddings, grouped-query attention (optional q/k/v biases) and a SwiGLU MLP.
 */
public final class LlamaModel extends CausalModel {

    private record Layer(String prefix, NDArray inputNorm, NDArray q, NDArray qb, NDArray k, NDArray kb, NDArray v,
            NDArray vb, NDArray o, NDArray postNorm, NDArray gate, NDArray up, NDArray down) {
    }

    private final NDArray embedTokens; // (vocab, hidden)
    private final Layer[] layers;
    private final NDArray norm;        // (hidden)
    private final NDArray lmHead;      // (vocab, hidden), the embedding itself when tied
    private final NDArray invFreq;     // (headDim / 2)
    private final NDArray rotate;      // (headDim, headDim): x·R = rotate_half(x) = (-x₂, x₁), exact (entries 0, ±1)

    private LlamaModel(ModelConfig c, Device device, Loader l, NDArray embedTokens, Layer[] layers, NDArray norm,
            NDArray lmHead) {
        super(c, device, l.manager, l.linears, l.shapes, l.arrays);
        this.embedTokens = embedTokens;
        this.layers = layers;
        this.norm = norm;
        this.lmHead = lmHead;
        int half = c.headDim() / 2;
        float[] f = new float[half];
        for (int i = 0; i < half; i++) {
            // float32 exponent as transformers computes it: base ** (arange(0, dim, 2).float() / dim)
            f[i] = (float) (1.0 / Math.pow(c.ropeTheta(), (float) (2 * i) / (float) c.headDim()));
        }
        this.invFreq = l.manager.create(f, new Shape(1, 1, half));
        int d = c.headDim();
        float[] r = new float[d * d];
        for (int j = 0; j < half; j++) {
            r[(j + half) * d + j] = -1f; // out[j] = -x[j + half]
            r[j * d + j + half] = 1f;    // out[j + half] = x[j]
        }
        this.rotate = l.manager.create(r, new Shape(d, d));
    }

    static LlamaModel load(Path folder, ModelConfig c, Device device) {
        try (Loader l = new Loader(folder, device)) {
            long h = c.hiddenSize();
            long qOut = (long) c.numHeads() * c.headDim();
            long kvOut = (long) c.numKvHeads() * c.headDim();
            NDArray embed = l.param("model.embed_tokens.weight", c.vocabSize(), h);
            Layer[] layers = new Layer[c.numLayers()];
            for (int i = 0; i < layers.length; i++) {
                String p = "model.layers." + i;
                String a = p + ".self_attn";
                String m = p + ".mlp";
                layers[i] = new Layer(p,
                        l.param(p + ".input_layernorm.weight", h),
                        l.linear(a + ".q_proj", h, qOut), bias(l, c, a + ".q_proj", qOut),
                        l.linear(a + ".k_proj", h, kvOut), bias(l, c, a + ".k_proj", kvOut),
                        l.linear(a + ".v_proj", h, kvOut), bias(l, c, a + ".v_proj", kvOut),
                        l.linear(a + ".o_proj", qOut, h),
                        l.param(p + ".post_attention_layernorm.weight", h),
                        l.linear(m + ".gate_proj", h, c.intermediateSize()),
                        l.linear(m + ".up_proj", h, c.intermediateSize()),
                        l.linear(m + ".down_proj", c.intermediateSize(), h));
            }
            NDArray norm = l.param("model.norm.weight", h);
            NDArray head;
            if (c.tieWordEmbeddings() && !l.checkpoint.contains("lm_head.weight")) {
                head = embed;
            } else {
                head = l.linear("lm_head", h, c.vocabSize());
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
        long batch = ids.getShape().get(0);
        long t = ids.getShape().get(1);
        NDArray angles = positions.toType(CausalModel.FLOAT, false).reshape(batch, t, 1).mul(invFreq); // (batch, t, d/2)
        NDArray freqs = angles.concat(angles, -1).reshape(batch, t, 1, config.headDim());             // (batch, t, 1, d)
        NDArray cos = freqs.cos();
        NDArray sin = freqs.sin();
        NDArray x = embedWords(step, embedTokens, ids, hook); // (batch, t, hidden)
        for (int i = 0; i < layers.length; i++) {
            Layer L = layers[i];
            String a = L.prefix + ".self_attn";
            NDArray hn = Layers.rmsNorm(x, L.inputNorm, config.normEps());
            NDArray q = Layers.linear(hook, a + ".q_proj", hn, L.q, L.qb); // (batch, t, heads·d)
            NDArray k = Layers.linear(hook, a + ".k_proj", hn, L.k, L.kb); // (batch, t, kvHeads·d)
            NDArray v = Layers.linear(hook, a + ".v_proj", hn, L.v, L.vb); // (batch, t, kvHeads·d)
            q = rope(q, cos, sin, config.numHeads());
            k = rope(k, cos, sin, config.numKvHeads());
            NDArray attn = attention(i, q, k, v, mask, cache);
            NDArray o = Layers.linear(hook, a + ".o_proj", attn, L.o, null);
            x = x.add(hook.afterSublayer(a, o));
            String m = L.prefix + ".mlp";
            NDArray hm = Layers.rmsNorm(x, L.postNorm, config.normEps());
            NDArray gate = Layers.silu(Layers.linear(hook, m + ".gate_proj", hm, L.gate, null));
            NDArray up = Layers.linear(hook, m + ".up_proj", hm, L.up, null);
            NDArray down = Layers.linear(hook, m + ".down_proj", gate.mul(up), L.down, null);
            x = hook.afterLayer(i, x.add(hook.afterSublayer(m, down)));
        }
        return Layers.rmsNorm(x, norm, config.normEps());
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
