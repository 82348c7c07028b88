package io.loragate.model;

import io.loragate.common.ModelFormatException;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * A model's {@code tokenizer.json}, run by the Hugging Face tokenizers library through DJL (offline:
 * the file is read from the model folder, nothing is downloaded). Encoding adds the special tokens
 * the tokenizer's post-processor defines (BOS, CLS/SEP), as transformers does by default.
 */
public final class TextTokenizer implements AutoCloseable {

    private final HuggingFaceTokenizer tokenizer;
    private final Path file;
    private volatile InputWindows.Frame frame;

    private TextTokenizer(Path file, HuggingFaceTokenizer tokenizer) {
        this.file = file;
        this.tokenizer = tokenizer;
    }

    /** Loads {@code tokenizer.json} from a file or a model folder. */
    public static TextTokenizer load(Path fileOrFolder) {
        Path file = Files.isDirectory(fileOrFolder) ? fileOrFolder.resolve("tokenizer.json") : fileOrFolder;
        if (!Files.isRegularFile(file)) {
            throw new ModelFormatException(file, "file not found (a model folder needs tokenizer.json)");
        }
        try {
            HuggingFaceTokenizer t = HuggingFaceTokenizer.newInstance(file, Map.of(
                    "addSpecialTokens", "true",
                    "padding", "false",
                    "truncation", "false",
                    "maxLength", "1000000"));
            return new TextTokenizer(file, t);
        } catch (IOException | RuntimeException e) {
            throw new ModelFormatException(file, "cannot load tokenizer: " + e.getMessage(), e);
        }
    }

    public Path file() {
        return file;
    }

    /** Token ids with the post-processor's special tokens. */
    public long[] encode(String text) {
        return encode(text, true);
    }

    public long[] encode(String text, boolean addSpecialTokens) {
        Encoding e = tokenizer.encode(text, addSpecialTokens, false);
        return e.getIds();
    }

    /**
     * Ids with the character span of each token in {@code text} (Java {@code String} indices,
     * end exclusive); special tokens the post-processor added have the span {@code (-1, -1)}.
     * Training uses the spans to tell which tokens belong to a completion.
     */
    public Encoded encodeWithSpans(String text) {
        Encoding e = tokenizer.encode(text, true, false);
        long[] ids = e.getIds();
        long[] special = e.getSpecialTokenMask();
        ai.djl.huggingface.tokenizers.jni.CharSpan[] spans = e.getCharTokenSpans();
        // the library reports code-point offsets; Java strings index UTF-16 units
        int points = text.codePointCount(0, text.length());
        int[] unit = new int[points + 1]; // code point index → UTF-16 index
        for (int cp = 0, u = 0; cp <= points; cp++) {
            unit[cp] = u;
            if (u < text.length()) {
                u += Character.charCount(text.codePointAt(u));
            }
        }
        int[] starts = new int[ids.length];
        int[] ends = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            boolean added = special[i] != 0 || spans[i] == null;
            starts[i] = added ? -1 : unit[Math.min(points, spans[i].getStart())];
            ends[i] = added ? -1 : unit[Math.min(points, spans[i].getEnd())];
        }
        return new Encoded(ids, starts, ends);
    }

    /** Token ids and their character spans: {@code starts[i]..ends[i]} of the text, or -1 for an added special token. */
    public record Encoded(long[] ids, int[] starts, int[] ends) {
    }

    /**
     * The special tokens the post-processor puts before and after every text ([CLS] and [SEP] for
     * BERT), counted on a one-word text; sliding windows repeat them around each window.
     */
    public InputWindows.Frame frame() {
        InputWindows.Frame f = frame;
        if (f == null) {
            int[] starts = encodeWithSpans("a").starts();
            int head = 0;
            while (head < starts.length && starts[head] < 0) {
                head++;
            }
            int tail = 0;
            while (tail < starts.length - head && starts[starts.length - 1 - tail] < 0) {
                tail++;
            }
            f = new InputWindows.Frame(head, tail);
            frame = f;
        }
        return f;
    }

    /** Decodes ids to text, dropping special tokens. */
    public String decode(long[] ids) {
        return tokenizer.decode(ids, true);
    }

    /** Decodes ids to text, keeping special tokens (needed for exact stop-string matching). */
    public String decodeRaw(long[] ids) {
        return tokenizer.decode(ids, false);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
