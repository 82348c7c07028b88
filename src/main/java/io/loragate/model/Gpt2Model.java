package io.loragate.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import java.nio.file.Path;

/**
 * GPT-2: learned absolute positions, pre-norm LayerNorm blocks, fused q/k/v projection, GELU (tanh)
 * MLP and an LM head tied to the token embedding. Checkpoints store Conv1D weights {@code (in, out)};
 * they are transposed once at load so every linear is {@code x·Wᵀ + b} with W {@code (out, in)}.
 */
public final class Gpt2Model extends CausalModel {

    private record Layer(String prefix, NDArray ln1w, NDArray ln1b, NDArray attnW, NDArray attnB, NDArray projW,
            NDArray projB, NDArray ln2w, NDArray ln2b, NDArray fcW, NDArray fcB, NDArray mlpProjW, NDArray mlpProjB) {
    }

    private final NDArray wte; // (vocab, hidden)
    private final NDArray wpe; // (positions, hidden)
    private final Layer[] layers;
    private final NDArray lnfW;
    private final NDArray lnfB;
    private final NDArray lmHead; // (vocab, hidden)

    private Gpt2Model(ModelConfig c, Device device, Loader l, NDArray wte, NDArray wpe, Layer[] layers, NDArray lnfW,
            NDArray lnfB, NDArray lmHead) {
        super(c, device, l.manager, l.linears, l.shapes, l.arrays);
        this.wte = wte;
        this.wpe = wpe;
        this.layers = layers;
        this.lnfW = lnfW;
        this.lnfB = lnfB;
        this.lmHead = lmHead;
    }

    static Gpt2Model load(Path folder, ModelConfig c, Device device) {
        try (Loader l = new Loader(folder, device)) {
            // GPT2LMHeadModel checkpoints prefix with "transformer."; bare GPT2Model ones do not
            String root = l.checkpoint.contains("transformer.wte.weight") ? "transformer." : "";
            long h = c.hiddenSize();
            NDArray wte = l.param(root + "wte.weight", c.vocabSize(), h);
            NDArray wpe = l.param(root + "wpe.weight", c.maxPositions(), h);
            Layer[] layers = new Layer[c.numLayers()];
            for (int i = 0; i < layers.length; i++) {
                String p = root + "h." + i;
                layers[i] = new Layer(p,
                        l.param(p + ".ln_1.weight", h), l.param(p + ".ln_1.bias", h),
                        l.conv1d(p + ".attn.c_attn", h, 3 * h), l.param(p + ".attn.c_attn.bias", 3 * h),
                        l.conv1d(p + ".attn.c_proj", h, h), l.param(p + ".attn.c_proj.bias", h),
                        l.param(p + ".ln_2.weight", h), l.param(p + ".ln_2.bias", h),
                        l.conv1d(p + ".mlp.c_fc", h, c.intermediateSize()), l.param(p + ".mlp.c_fc.bias", c.intermediateSize()),
                        l.conv1d(p + ".mlp.c_proj", c.intermediateSize(), h), l.param(p + ".mlp.c_proj.bias", h));
            }
            NDArray lnfW = l.param(root + "ln_f.weight", h);
            NDArray lnfB = l.param(root + "ln_f.bias", h);
            NDArray head = l.checkpoint.contains("lm_head.weight") && !c.tieWordEmbeddings()
                    ? l.linear("lm_head", h, c.vocabSize()) : wte;
            l.linears.putIfAbsent("lm_head", new LinearShape("lm_head", h, c.vocabSize()));
            Gpt2Model model = new Gpt2Model(c, device, l, wte, wpe, layers, lnfW, lnfB, head);
            l.finish();
            return model;
        }
    }

    @Override
    protected NDArray decode(NDManager step, NDArray ids, NDArray positions, NDArray mask, KvCache cache,
            AdapterHook hook) {
        long h = config.hiddenSize();
        NDArray x = embedWords(step, wte, ids, hook).add(embed(step, wpe, positions)); // (batch, t, hidden)
        for (int i = 0; i < layers.length; i++) {
            Layer L = layers[i];
            String a = L.prefix + ".attn";
            NDArray hn = Layers.layerNorm(x, L.ln1w, L.ln1b, config.normEps());
            NDArray qkv = Layers.linear(hook, a + ".c_attn", hn, L.attnW, L.attnB); // (batch, t, 3·hidden)
            NDArray q = qkv.get(new NDIndex("..., :{}", h));
            NDArray k = qkv.get(new NDIndex("..., {}:{}", h, 2 * h));
            NDArray v = qkv.get(new NDIndex("..., {}:", 2 * h));
            NDArray attn = attention(i, q, k, v, mask, cache);
            NDArray o = Layers.linear(hook, a + ".c_proj", attn, L.projW, L.projB);
            x = x.add(hook.afterSublayer(a, o));
            String m = L.prefix + ".mlp";
            NDArray hm = Layers.layerNorm(x, L.ln2w, L.ln2b, config.normEps());
            NDArray fc = Layers.activation(config.hiddenAct(), Layers.linear(hook, m + ".c_fc", hm, L.fcW, L.fcB));
            NDArray down = Layers.linear(hook, m + ".c_proj", fc, L.mlpProjW, L.mlpProjB);
            x = hook.afterLayer(i, x.add(hook.afterSublayer(m, down)));
        }
        return Layers.layerNorm(x, lnfW, lnfB, config.normEps());
    }

    @Override
    protected NDArray lmHead(NDArray h, AdapterHook hook) {
        return Layers.linear(hook, "lm_head", h, lmHead, null);
    }
}
