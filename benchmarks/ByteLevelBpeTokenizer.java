import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * A synthetic GPT-2-style byte-level BPE {@code tokenizer.json} for the random benchmark model, in the
 * layout of SmolLM2's own (special tokens 0-2, byte-level alphabet, BPE merges, a Digits + ByteLevel
 * pre-tokenizer) with exactly the model's vocabulary size. Jlama will not load a Llama folder without
 * a tokenizer it understands; loragate (Hugging Face tokenizers through DJL) loads it too. The
 * benchmarks feed every engine token ids, so the merges only need to be valid, not meaningful: they
 * are drawn deterministically (seed 1), each joining a vocabulary token with one byte symbol.
 */
final class ByteLevelBpeTokenizer {

    static final List<String> SPECIAL = List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>");

    private ByteLevelBpeTokenizer() {
    }

    /** Writes {@code dir/tokenizer.json} with {@code vocabSize} tokens (special + 256 bytes + merges). */
    static Path write(Path dir, int vocabSize) throws IOException {
        if (vocabSize < SPECIAL.size() + 256) {
            throw new IllegalArgumentException("a byte-level vocabulary needs at least " + (SPECIAL.size() + 256) + " tokens");
        }
        List<String> tokens = new ArrayList<>(SPECIAL);
        List<String> bytes = byteSymbols();
        tokens.addAll(bytes);
        Set<String> seen = new HashSet<>(tokens);
        List<String> merges = new ArrayList<>();
        SplittableRandom rnd = new SplittableRandom(1);
        while (tokens.size() < vocabSize) {
            // left: any non-special token; right: one byte symbol (keeps tokens short, as real merges are)
            String left = tokens.get(SPECIAL.size() + rnd.nextInt(tokens.size() - SPECIAL.size()));
            String right = bytes.get(rnd.nextInt(bytes.size()));
            if (seen.add(left + right)) {
                tokens.add(left + right);
                merges.add(left + " " + right); // byte-level symbols never contain a space (it is 'Ġ')
            }
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode().put("version", "1.0").putNull("truncation").putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < SPECIAL.size(); i++) {
            added.addObject().put("id", i).put("content", SPECIAL.get(i)).put("single_word", false).put("lstrip", false)
                    .put("rstrip", false).put("normalized", false).put("special", true);
        }
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer").put("type", "Sequence");
        ArrayNode steps = pre.putArray("pretokenizers");
        steps.addObject().put("type", "Digits").put("individual_digits", true);
        steps.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true).put("use_regex", true);
        root.putObject("post_processor").put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", false)
                .put("use_regex", true);
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", true)
                .put("use_regex", true);
        ObjectNode model = root.putObject("model").put("type", "BPE").putNull("dropout").putNull("unk_token")
                .putNull("continuing_subword_prefix").putNull("end_of_word_suffix").put("fuse_unk", false)
                .put("byte_fallback", false).put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < tokens.size(); i++) {
            vocab.put(tokens.get(i), i);
        }
        ArrayNode m = model.putArray("merges");
        merges.forEach(m::add);
        Path file = dir.resolve("tokenizer.json");
        json.writeValue(file.toFile(), root);
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"tokenizer_class": "GPT2Tokenizer", "bos_token": "<|im_start|>", "eos_token": "<|im_end|>",
                 "unk_token": "<|endoftext|>", "model_max_length": 8192, "add_prefix_space": false}""");
        return file;
    }

    /** GPT-2's byte-to-unicode table: printable bytes map to themselves, the rest to code points from 256 on. */
    static List<String> byteSymbols() {
        List<String> symbols = new ArrayList<>();
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            symbols.add(Character.toString(printable ? b : next++));
        }
        return symbols;
    }
}
