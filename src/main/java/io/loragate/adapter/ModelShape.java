package io.loragate.adapter;

import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.model.LinearShape;
import io.loragate.model.ModelConfig;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The base model's sizes that the methods' cost estimates ({@link AdapterMethod#cost}) need.
 *
 * @param layers            transformer layers
 * @param hidden            hidden size
 * @param intermediate      MLP width
 * @param kvHidden          key/value width ({@code kv heads × head dim})
 * @param vocab             vocabulary size
 * @param decoder           a causal LM (its classification head has no bias; it reads the last token)
 * @param layerLinearParams per layer: weights of every linear layer ({@code Σ in·out})
 * @param layerLoraInOut    per layer: {@code Σ (in + out)} over the default LoRA targets (LoRA
 *                          params per unit of rank)
 * @param layerLoraOut      per layer: {@code Σ out} over the default LoRA targets (DoRA magnitudes)
 * @param layerLoraModules  per layer: default LoRA target modules
 * @param headParams        weights of linear layers outside the layers (e.g. {@code lm_head})
 */
public record ModelShape(int layers, int hidden, int intermediate, int kvHidden, int vocab, boolean decoder,
        long[] layerLinearParams, long[] layerLoraInOut, long[] layerLoraOut, int[] layerLoraModules, long headParams) {

    private static final Pattern LAYER = Pattern.compile("\\.(\\d+)\\.");

    /** The resident base's shape; {@code loraTargets} are the architecture's default LoRA targets. */
    public static ModelShape of(BaseModel model, List<String> loraTargets) {
        ModelConfig c = model.config();
        int layers = c.numLayers();
        long[] linear = new long[layers];
        long[] inOut = new long[layers];
        long[] out = new long[layers];
        int[] modules = new int[layers];
        long head = 0;
        for (LinearShape s : model.linears().values()) {
            Matcher m = LAYER.matcher(s.module());
            int layer = m.find() ? Integer.parseInt(m.group(1)) : -1;
            if (layer < 0 || layer >= layers) {
                head += s.in() * s.out();
                continue;
            }
            linear[layer] += s.in() * s.out();
            String leaf = s.module().substring(s.module().lastIndexOf('.') + 1);
            if (loraTargets.contains(leaf)) {
                inOut[layer] += s.in() + s.out();
                out[layer] += s.out();
                modules[layer]++;
            }
        }
        return new ModelShape(layers, c.hiddenSize(), c.intermediateSize(), c.numKvHeads() * c.headDim(), c.vocabSize(),
                model instanceof CausalModel, linear, inOut, out, modules, head);
    }

    /**
     * A Llama-shaped model (q, k, v, o, gate, up, down per layer; LoRA on q, k, v, o; an untied
     * {@code lm_head}): for tests and what-if estimates.
     */
    public static ModelShape llama(int layers, int hidden, int intermediate, int kvHidden, int vocab) {
        long[] linear = new long[layers];
        long[] inOut = new long[layers];
        long[] out = new long[layers];
        int[] modules = new int[layers];
        for (int l = 0; l < layers; l++) {
            linear[l] = 2L * hidden * hidden + 2L * hidden * kvHidden + 3L * hidden * intermediate;
            inOut[l] = 2L * (hidden + hidden) + 2L * (hidden + kvHidden);
            out[l] = 2L * hidden + 2L * kvHidden;
            modules[l] = 4;
        }
        return new ModelShape(layers, hidden, intermediate, kvHidden, vocab, true, linear, inOut, out, modules,
                (long) hidden * vocab);
    }

    /** Weights of every linear layer inside the layers. */
    public long layerParams() {
        long n = 0;
        for (long p : layerLinearParams) {
            n += p;
        }
        return n;
    }
}
