package io.loragate.model;

import io.loragate.common.ModelFormatException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The parts of a Hugging Face {@code config.json} (and {@code generation_config.json}) that the
 * forward needs, normalised across families (GPT-2 spells them {@code n_embd}, {@code n_layer}...).
 */
public record ModelConfig(
        String architectureName,
        Architecture architecture,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int maxPositions,
        double normEps,
        double ropeTheta,
        boolean tieWordEmbeddings,
        boolean attentionBias,
        String hiddenAct,
        int typeVocabSize,
        List<String> labels,
        Set<Long> eosTokenIds,
        Long bosTokenId,
        Long padTokenId,
        RopeScaling rope,
        AttentionWindows windows,
        ModelFamily family) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Number of query heads sharing one key/value head. */
    public int groups() {
        return numHeads / numKvHeads;
    }

    /** Reads {@code config.json} and, when present, {@code generation_config.json} from a model folder. */
    public static ModelConfig load(Path folder) {
        Path file = folder.resolve("config.json");
        JsonNode c = readJson(file, true);
        JsonNode arch = c.path("architectures");
        if (!arch.isArray() || arch.isEmpty() || !arch.get(0).isTextual()) {
            throw new ModelFormatException(file, "missing 'architectures' (expected one of " + Architecture.SUPPORTED + ")");
        }
        String name = arch.get(0).asText();
        ModelFamily family = ModelFamilies.of(file, name);
        Architecture a = family.forward();
        JsonNode gen = readJson(folder.resolve("generation_config.json"), false);
        Set<Long> eos = new LinkedHashSet<>();
        addIds(eos, gen != null && gen.has("eos_token_id") ? gen.get("eos_token_id") : c.get("eos_token_id"));

        int hidden;
        int layers;
        int heads;
        int kvHeads;
        int inter;
        int maxPos;
        double eps;
        String act;
        switch (a) {
            case GPT2 -> {
                hidden = req(file, c, "n_embd");
                layers = req(file, c, "n_layer");
                heads = req(file, c, "n_head");
                kvHeads = heads;
                inter = c.hasNonNull("n_inner") ? c.get("n_inner").asInt() : 4 * hidden;
                maxPos = req(file, c, "n_positions");
                eps = c.path("layer_norm_epsilon").asDouble(1e-5);
                act = c.path("activation_function").asText("gelu_new");
            }
            case BERT -> {
                hidden = req(file, c, "hidden_size");
                layers = req(file, c, "num_hidden_layers");
                heads = req(file, c, "num_attention_heads");
                kvHeads = heads;
                inter = req(file, c, "intermediate_size");
                maxPos = req(file, c, "max_position_embeddings");
                eps = c.path("layer_norm_eps").asDouble(1e-12);
                act = c.path("hidden_act").asText("gelu");
            }
            default -> {
                hidden = req(file, c, "hidden_size");
                layers = req(file, c, "num_hidden_layers");
                heads = req(file, c, "num_attention_heads");
                kvHeads = c.hasNonNull("num_key_value_heads") ? c.get("num_key_value_heads").asInt() : heads;
                inter = req(file, c, "intermediate_size");
                maxPos = c.path("max_position_embeddings").asInt(4096);
                eps = c.path("rms_norm_eps").asDouble(1e-6);
                act = c.path("hidden_act").asText("silu");
            }
        }
        int vocab = req(file, c, "vocab_size");
        if (hidden <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || vocab <= 0 || inter <= 0) {
            throw new ModelFormatException(file, "sizes must be positive (hidden " + hidden + ", layers " + layers
                    + ", heads " + heads + ", kv heads " + kvHeads + ", vocab " + vocab + ")");
        }
        if (heads % kvHeads != 0) {
            throw new ModelFormatException(file, "num_attention_heads " + heads + " is not a multiple of num_key_value_heads " + kvHeads);
        }
        int headDim = c.hasNonNull("head_dim") ? c.get("head_dim").asInt() : hidden / heads;
        if (!c.hasNonNull("head_dim") && hidden % heads != 0) {
            throw new ModelFormatException(file, "hidden size " + hidden + " is not a multiple of " + heads + " heads");
        }
        RopeScaling rope = null;
        AttentionWindows windows = AttentionWindows.NONE;
        if (a == Architecture.LLAMA) {
            if (headDim <= 0 || headDim % 2 != 0 || headDim > 4096) {
                throw new ModelFormatException(file, "head_dim " + headDim + " must be even and in 2..4096 (rotary embeddings)");
            }
            // transformers 5 writes "rope_parameters"; 4.x wrote "rope_theta" + "rope_scaling"
            rope = RopeScaling.parse(file, c, headDim, maxPos);
            if (rope.dynamic()) {
                // dynamic NTK exists to run past max_position_embeddings; its factor says how far
                maxPos = (int) Math.min(Integer.MAX_VALUE, (long) Math.floor(rope.factor() * maxPos));
            }
            windows = family.windows(file, c, layers);
        }
        boolean tie = c.path("tie_word_embeddings").asBoolean(a == Architecture.GPT2);
        boolean bias = family.attentionBias(c);
        List<String> labels = new ArrayList<>();
        JsonNode id2label = c.get("id2label");
        int numLabels = c.path("num_labels").asInt(id2label != null ? id2label.size() : 0);
        if (id2label != null && id2label.isObject()) {
            for (int i = 0; i < id2label.size(); i++) {
                labels.add(id2label.path(String.valueOf(i)).asText("LABEL_" + i));
            }
        } else {
            for (int i = 0; i < numLabels; i++) {
                labels.add("LABEL_" + i);
            }
        }
        return new ModelConfig(name, a, vocab, hidden, inter, layers, heads, kvHeads, headDim, maxPos, eps,
                ropeTheta(c), tie, bias, act, c.path("type_vocab_size").asInt(2),
                Collections.unmodifiableList(labels), Collections.unmodifiableSet(eos),
                longOrNull(c.get("bos_token_id")), longOrNull(c.get("pad_token_id")), rope, windows, family);
    }

    private static double ropeTheta(JsonNode c) {
        JsonNode params = c.path("rope_parameters");
        if (params.hasNonNull("rope_theta")) {
            return params.get("rope_theta").asDouble();
        }
        return c.path("rope_theta").asDouble(10000.0);
    }

    private static int req(Path file, JsonNode c, String key) {
        JsonNode n = c.get(key);
        if (n == null || !n.canConvertToInt()) {
            throw new ModelFormatException(file, "missing or non-integer '" + key + "'");
        }
        return n.asInt();
    }

    private static Long longOrNull(JsonNode n) {
        return n == null || !n.canConvertToLong() ? null : n.asLong();
    }

    private static void addIds(Set<Long> out, JsonNode n) {
        if (n == null || n.isNull()) {
            return;
        }
        if (n.isArray()) {
            n.forEach(x -> out.add(x.asLong()));
        } else if (n.canConvertToLong()) {
            out.add(n.asLong());
        }
    }

    /** Parses a JSON file; a missing optional file gives null, a malformed one is always an error. */
    static JsonNode readJson(Path file, boolean required) {
        if (!Files.isRegularFile(file)) {
            if (required) {
                throw new ModelFormatException(file, "file not found");
            }
            return null;
        }
        try {
            JsonNode n = JSON.readTree(file.toFile());
            if (n == null || !n.isObject()) {
                throw new ModelFormatException(file, "not a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw new ModelFormatException(file, "malformed JSON: " + e.getMessage().split("\n")[0]);
        }
    }
}
