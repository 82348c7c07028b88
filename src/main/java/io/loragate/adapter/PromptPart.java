package io.loragate.adapter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.loragate.model.AdapterHook;
import io.loragate.model.BaseModel;
import io.loragate.common.LoragateException;
import io.loragate.common.ModelFormatException;
import io.loragate.model.TextTokenizer;
import io.loragate.model.safetensors.Dtype;
import io.loragate.model.safetensors.SafetensorsFile;
import io.loragate.model.safetensors.TensorInfo;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Prompt tuning (PEFT {@code PROMPT_TUNING}, Lester et al. 2021): {@code k} virtual token embeddings
 * {@code (k, hidden)} put before every input of the adapter's rows. Whoever builds a row's ids puts
 * {@link AdapterHook#virtualToken}{@code (0..k-1)} first ({@link #prepend}); the forward looks up
 * token 0 for those negative ids and {@link #embeddings} replaces their rows with the prompt's rows
 * ({@code -id-1}), before position and token-type embeddings are added. The virtual tokens take
 * positions {@code 0..k-1} and the real tokens {@code k..}, and every one attends to them, as in
 * PEFT, which concatenates the prompt to {@code inputs_embeds} and extends the attention mask with
 * ones.
 *
 * <p>On disk: {@code adapter_model.safetensors} holds {@value #KEY} {@code (k, token_dim)} under that
 * bare key (PEFT's {@code get_peft_model_state_dict}), and a classification head under
 * {@code base_model.<param>} (a prompt-learning {@code PeftModel} wraps the transformers model
 * directly, without {@code LoraModel}'s {@code .model}).
 *
 * <p>The replacement is a one-hot matmul, so the same code serves (plain array) and trains (a leaf
 * that requires gradients: the prompt gets the gradient of every row that uses it).
 */
public final class PromptPart implements AdapterPart {

    /** The weights' key in {@code adapter_model.safetensors}, as PEFT writes it. */
    public static final String KEY = "prompt_embeddings";

    /** Prefix of the keys of modules_to_save in a prompt-learning adapter: {@code base_model.<param>}. */
    static final String SAVED_PREFIX = "base_model.";

    /** Names of the word-embedding matrix {@code (vocab, hidden)} in the architectures we load, by checkpoint name. */
    static final List<String> WORD_EMBEDDINGS = List.of("model.embed_tokens.weight", "transformer.wte.weight", "wte.weight",
            "bert.embeddings.word_embeddings.weight", "embeddings.word_embeddings.weight");

    private final NDArray prompt; // (k, hidden)
    private final int k;

    PromptPart(NDArray prompt) {
        if (prompt.getShape().dimension() != 2) {
            throw new IllegalArgumentException("prompt embeddings must be (k, hidden), got " + prompt.getShape());
        }
        this.prompt = prompt;
        this.k = Math.toIntExact(prompt.getShape().get(0));
    }

    /** The prompt, {@code (k, hidden)}. */
    public NDArray prompt() {
        return prompt;
    }

    @Override
    public int virtualTokens() {
        return k;
    }

    @Override
    public Map<String, NDArray> tensors() {
        return Map.of(KEY, prompt);
    }

    /**
     * Rows whose id is virtual (negative) take the prompt's row {@code -id-1}; every other row of
     * {@code x} comes back as it was. Ids beyond the prompt (a row built for a longer prompt) are refused.
     */
    @Override
    public NDArray embeddings(NDArray ids, NDArray x) {
        long min = ids.min().getLong();
        if (min >= 0) {
            return x; // decode steps and rows without virtual tokens
        }
        if (-min - 1 >= k) {
            throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "virtual token " + (-min - 1)
                    + " is beyond this adapter's " + k + " virtual tokens");
        }
        NDManager step = x.getManager();
        NDArray slot = ids.neg().sub(1L).expandDims(-1);                             // (batch, t, 1): j for virtual ids
        NDArray js = step.arange(0, k, 1, DataType.INT64).reshape(1, 1, k);         // (1, 1, k)
        NDArray oneHot = slot.eq(js).toType(x.getDataType(), false);                // (batch, t, k)
        NDArray isVirtual = ids.lt(0L).expandDims(-1).toType(x.getDataType(), false); // (batch, t, 1)
        NDArray fromPrompt = oneHot.matMul(prompt);                                 // (batch, t, hidden), in the step
        return x.mul(isVirtual.neg().add(1f)).add(fromPrompt);
    }

    // ---------------------------------------------------------------------------------------------
    // Ids

    /** {@code ids} after the {@code k} virtual ids {@link AdapterHook#virtualToken}{@code (0..k-1)}; {@code ids} itself when k = 0. */
    public static long[] prepend(long[] ids, int k) {
        if (k == 0) {
            return ids;
        }
        long[] out = new long[k + ids.length];
        for (int j = 0; j < k; j++) {
            out[j] = AdapterHook.virtualToken(j);
        }
        System.arraycopy(ids, 0, out, k, ids.length);
        return out;
    }

    /** Every row with the virtual ids in front ({@link #prepend}). */
    public static List<long[]> prepend(List<long[]> rows, int k) {
        return k == 0 ? rows : rows.stream().map(r -> prepend(r, k)).toList();
    }

    // ---------------------------------------------------------------------------------------------
    // Loading

    /** The checkpoint name of the base's word embeddings among {@code shapes}, or null. */
    static String wordEmbeddings(Map<String, long[]> shapes) {
        for (String name : WORD_EMBEDDINGS) {
            if (shapes.containsKey(name)) {
                return name;
            }
        }
        return null;
    }

    /** Checks the file's prompt against the config and the base before anything is read. */
    static void check(PeftConfig config, SafetensorsFile file, Map<String, long[]> baseParamShapes) {
        Path path = file.path();
        TensorInfo t = file.tensors().get(KEY);
        if (t == null) {
            throw new ModelFormatException(path, "a PROMPT_TUNING adapter needs the tensor '" + KEY + "'; the file has "
                    + PeftConfig.quote(file.tensors().keySet()));
        }
        if (t.dtype() != Dtype.F32 && t.dtype() != Dtype.F16 && t.dtype() != Dtype.BF16) {
            throw new ModelFormatException(path, "tensor '" + KEY + "' is " + t.dtype() + "; adapter weights must be F32, F16 or BF16");
        }
        String embeddings = wordEmbeddings(baseParamShapes);
        if (embeddings == null) {
            throw new ModelFormatException(path, "the base model has no word embeddings we know " + WORD_EMBEDDINGS);
        }
        long hidden = baseParamShapes.get(embeddings)[1];
        long[] s = t.shape();
        int k = config.numVirtualTokens();
        if (s.length != 2 || s[0] != k || s[1] != hidden) {
            throw new ModelFormatException(path, "tensor '" + KEY + "' has shape " + Arrays.toString(s) + " but "
                    + PeftConfig.FILE_NAME + " gives num_virtual_tokens=" + k + " and the base's hidden size is " + hidden);
        }
        if (config.tokenDim() != 0 && config.tokenDim() != hidden) {
            throw new ModelFormatException(path.resolveSibling(PeftConfig.FILE_NAME), "token_dim " + config.tokenDim()
                    + " is not the base's hidden size " + hidden + "; the adapter was made for another base model");
        }
    }

    /** Reads the (checked) prompt into {@code manager}. */
    static PromptPart read(SafetensorsFile file, NDManager manager) {
        TensorInfo t = file.tensors().get(KEY);
        return new PromptPart(manager.create(file.readFloats(KEY), new Shape(t.shape())));
    }

    long bytes() {
        return 4L * prompt.size();
    }

    // ---------------------------------------------------------------------------------------------
    // Training

    /**
     * A fresh trainable prompt-tuning adapter (plus a classification head when {@code head} is given)
     * whose prompt starts as rows of the base's word embeddings:
     * <ul>
     * <li>{@code initText} null: the embeddings of {@code k} token ids drawn uniformly from the
     *     vocabulary with the seed (PEFT's {@code SAMPLE_VOCAB}; PEFT's {@code RANDOM} draws
     *     {@code N(0, 1)}, far from the scale of real embeddings);</li>
     * <li>else PEFT's {@code TEXT}: the embeddings of {@code tokenizer.encode(initText)} (with
     *     special tokens, as PEFT calls the tokenizer), repeated or cut to {@code k}.</li>
     * </ul>
     *
     * @param tokenizer the base's tokenizer (needed for a text initialisation only)
     */
    public static TrainableLora trainable(BaseModel base, TextTokenizer tokenizer, int k, String initText, String taskType,
            String baseId, long seed, TrainableLora.HeadSpec head) {
        if (k < 1 || k > AdapterHook.MAX_VIRTUAL_TOKENS) {
            throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "num_virtual_tokens must be in [1, "
                    + AdapterHook.MAX_VIRTUAL_TOKENS + "], was " + k).withParam("num_virtual_tokens");
        }
        String name = wordEmbeddings(base.paramShapes());
        NDArray table = name == null ? null : base.parameter(name);
        if (table == null) {
            throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED, "prompt tuning needs the base's word embeddings "
                    + WORD_EMBEDDINGS + "; " + base.config().architectureName() + " has none of them");
        }
        long vocab = table.getShape().get(0);
        int hidden = Math.toIntExact(table.getShape().get(1));
        long[] textIds = null;
        if (initText != null) {
            if (tokenizer == null) {
                throw new IllegalArgumentException("a text initialisation needs the tokenizer");
            }
            long[] ids = tokenizer.encode(initText);
            if (ids.length == 0) {
                throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "prompt_init_text encodes to no tokens")
                        .withParam("prompt_init_text");
            }
            textIds = new long[k];
            for (int j = 0; j < k; j++) {
                textIds[j] = ids[j % ids.length];
            }
        }
        long[] initIds = textIds;
        PeftConfig config = PeftConfig.promptTuning(k, hidden, base.config().numHeads(), base.config().numLayers(),
                initIds != null ? "TEXT" : "SAMPLE_VOCAB", initText, initIds != null ? baseId : null, taskType, baseId);
        return TrainableLora.ofParts(base, config, seed, head, (manager, rng) -> {
            long[] ids = initIds;
            if (ids == null) {
                ids = new long[k];
                for (int j = 0; j < k; j++) {
                    ids[j] = rng.nextLong(vocab);
                }
            }
            return List.of(new PromptPart(rowsOf(table, ids, manager, hidden)));
        });
    }

    /** Host copy of {@code table}'s rows {@code ids}, as a fresh {@code (ids.length, hidden)} array of {@code manager}. */
    private static NDArray rowsOf(NDArray table, long[] ids, NDManager manager, int hidden) {
        float[] out = new float[ids.length * hidden];
        try (NDManager scratch = manager.newSubManager()) {
            NDArray index = scratch.create(ids);
            NDArray rows = table.get(index);
            rows.attach(scratch);
            float[] v = rows.toType(DataType.FLOAT32, false).toFloatArray();
            System.arraycopy(v, 0, out, 0, out.length);
        }
        return manager.create(out, new Shape(ids.length, hidden));
    }

    @Override
    public String toString() {
        return "PromptPart[k=" + k + ", hidden=" + prompt.getShape().get(1) + "]";
    }
}
