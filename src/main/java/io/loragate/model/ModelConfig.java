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
        String name = architectureName(file, c);
        ModelFamily family = ModelFamilies.of(file, name);
        Architecture a = family.forward();
        JsonNode gen = readJson(folder.resolve("generation_config.json"), false);
        Set<Long> eos = eosTokenIds(c, gen);

        Sizes s = sizes(file, c, a);
        int vocab = req(file, c, "vocab_size");
        checkSizes(file, s, vocab);
        int headDim = headDim(file, c, s.hidden(), s.heads());
        int maxPos = s.maxPos();
        RopeScaling rope = null;
        AttentionWindows windows = AttentionWindows.NONE;
        if (a == Architecture.LLAMA) {
            checkRotaryHeadDim(file, headDim);
            // transformers 5 writes "rope_parameters"; 4.x wrote "rope_theta" + "rope_scaling"
            rope = RopeScaling.parse(file, c, headDim, maxPos);
            if (rope.dynamic()) {
                // dynamic NTK exists to run past max_position_embeddings; its factor says how far
                maxPos = (int) Math.min(Integer.MAX_VALUE, (long) Math.floor(rope.factor() * maxPos));
            }
            windows = family.windows(file, c, s.layers());
        }
        boolean tie = c.path("tie_word_embeddings").asBoolean(a == Architecture.GPT2);
        boolean bias = family.attentionBias(c);
        List<String> labels = labels(c);
        return new ModelConfig(name, a, vocab, s.hidden(), s.inter(), s.layers(), s.heads(), s.kvHeads(), headDim, maxPos,
                s.eps(), ropeTheta(c), tie, bias, s.act(), c.path("type_vocab_size").asInt(2),
                Collections.unmodifiableList(labels), Collections.unmodifiableSet(eos),
                longOrNull(c.get("bos_token_id")), longOrNull(c.get("pad_token_id")), rope, windows, family);
    }

    /** The sizes each forward spells its own way, before validation. */
    private record Sizes(int hidden, int layers, int heads, int kvHeads, int inter, int maxPos, double eps, String act) {
    }

    private static String architectureName(Path file, JsonNode c) {
        JsonNode arch = c.path("architectures");
        if (!arch.isArray() || arch.isEmpty() || !arch.get(0).isTextual()) {
            throw new ModelFormatException(file, "missing 'architectures' (expected one of " + Architecture.SUPPORTED + ")");
        }
        return arch.get(0).asText();
    }

    /** generation_config.json's end tokens win over config.json's when it names any. */
    private static Set<Long> eosTokenIds(JsonNode c, JsonNode gen) {
        Set<Long> eos = new LinkedHashSet<>();
        addIds(eos, gen != null && gen.has("eos_token_id") ? gen.get("eos_token_id") : c.get("eos_token_id"));
        return eos;
    }

    /** Reads the sizes under the key names (and defaults) of the given forward. */
    private static Sizes sizes(Path file, JsonNode c, Architecture a) {
        return switch (a) {
            case GPT2 -> gpt2Sizes(file, c);
            case BERT -> bertSizes(file, c);
            default -> llamaSizes(file, c);
        };
    }

    private static Sizes gpt2Sizes(Path file, JsonNode c) {
        int hidden = req(file, c, "n_embd");
        int layers = req(file, c, "n_layer");
        int heads = req(file, c, "n_head");
        int inter = c.hasNonNull("n_inner") ? c.get("n_inner").asInt() : 4 * hidden;
        int maxPos = req(file, c, "n_positions");
        return new Sizes(hidden, layers, heads, heads, inter, maxPos, c.path("layer_norm_epsilon").asDouble(1e-5),
                c.path("activation_function").asText("gelu_new"));
    }

    private static Sizes bertSizes(Path file, JsonNode c) {
        int hidden = req(file, c, "hidden_size");
        int layers = req(file, c, "num_hidden_layers");
        int heads = req(file, c, "num_attention_heads");
        int inter = req(file, c, "intermediate_size");
        int maxPos = req(file, c, "max_position_embeddings");
        return new Sizes(hidden, layers, heads, heads, inter, maxPos, c.path("layer_norm_eps").asDouble(1e-12),
                c.path("hidden_act").asText("gelu"));
    }

    private static Sizes llamaSizes(Path file, JsonNode c) {
        int hidden = req(file, c, "hidden_size");
        int layers = req(file, c, "num_hidden_layers");
        int heads = req(file, c, "num_attention_heads");
        int kvHeads = c.hasNonNull("num_key_value_heads") ? c.get("num_key_value_heads").asInt() : heads;
        int inter = req(file, c, "intermediate_size");
        int maxPos = c.path("max_position_embeddings").asInt(4096);
        return new Sizes(hidden, layers, heads, kvHeads, inter, maxPos, c.path("rms_norm_eps").asDouble(1e-6),
                c.path("hidden_act").asText("silu"));
    }

    private static void checkSizes(Path file, Sizes s, int vocab) {
        if (s.hidden() <= 0 || s.layers() <= 0 || s.heads() <= 0 || s.kvHeads() <= 0 || vocab <= 0 || s.inter() <= 0) {
            throw new ModelFormatException(file, "sizes must be positive (hidden " + s.hidden() + ", layers " + s.layers()
                    + ", heads " + s.heads() + ", kv heads " + s.kvHeads() + ", vocab " + vocab + ")");
        }
        if (s.heads() % s.kvHeads() != 0) {
            throw new ModelFormatException(file, "num_attention_heads " + s.heads() + " is not a multiple of num_key_value_heads "
                    + s.kvHeads());
        }
    }

    /** An explicit head_dim may differ from hidden / heads; without one the division must be exact. */
    private static int headDim(Path file, JsonNode c, int hidden, int heads) {
        int headDim = c.hasNonNull("head_dim") ? c.get("head_dim").asInt() : hidden / heads;
        if (!c.hasNonNull("head_dim") && hidden % heads != 0) {
            throw new ModelFormatException(file, "hidden size " + hidden + " is not a multiple of " + heads + " heads");
        }
        return headDim;
    }

    private static void checkRotaryHeadDim(Path file, int headDim) {
        if (headDim <= 0 || headDim % 2 != 0 || headDim > 4096) {
            throw new ModelFormatException(file, "head_dim " + headDim + " must be even and in 2..4096 (rotary embeddings)");
        }
    }

    /** Label names from id2label in id order, else LABEL_i for num_labels. */
    private static List<String> labels(JsonNode c) {
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
        return labels;
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
