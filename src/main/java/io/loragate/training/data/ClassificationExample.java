package io.loragate.training.data;

import io.loragate.model.TextTokenizer;
import java.util.Arrays;
import java.util.Objects;

/**
 * One tokenized classification example: the ids of its text and its label as the dataset writes it.
 *
 * @param ids   token ids with the tokenizer's special tokens, {@code (length)}
 * @param label the label string
 */
public record ClassificationExample(long[] ids, String label) {

    public ClassificationExample {
        Objects.requireNonNull(ids, "ids");
        Objects.requireNonNull(label, "label");
        if (ids.length == 0) {
            throw new IllegalArgumentException("an example needs at least one token");
        }
    }

    /**
     * Tokenizes {@code text} with special tokens; a text longer than {@code maxLength} tokens keeps
     * its first {@code maxLength - 1} and its last token (BERT's [SEP], a decoder's final token,
     * which is what the head of a decoder reads).
     */
    public static ClassificationExample of(TextTokenizer tokenizer, String text, String label, int maxLength) {
        if (maxLength < 2) {
            throw new IllegalArgumentException("maxLength must be at least 2, was " + maxLength);
        }
        return new ClassificationExample(fit(tokenizer.encode(text), maxLength), label);
    }

    /**
     * {@code ids} in {@code room} positions: itself when it fits, else its first {@code room - 1}
     * and its last token (the cut of {@link #of}; also how room is made for prompt tuning's virtual tokens).
     */
    public static long[] fit(long[] ids, int room) {
        if (ids.length <= room) {
            return ids;
        }
        long[] out = Arrays.copyOf(ids, room);
        out[room - 1] = ids[ids.length - 1];
        return out;
    }
}
