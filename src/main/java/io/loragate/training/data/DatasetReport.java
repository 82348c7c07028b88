package io.loragate.training.data;

import java.util.List;
import java.util.Map;

/**
 * The preflight validation of a dataset file against the base model's tokenizer.
 *
 * @param format      the format most valid lines have; null when no line is valid
 * @param examples    valid examples (lines of the detected format)
 * @param tokens      tokens per valid example: chat rendered with the base's chat template (no
 *                    generation prompt), prompt + completion concatenated, the text otherwise; the
 *                    tokenizer's special tokens are counted
 * @param maxLength   the length {@code truncated} refers to
 * @param truncated   examples longer than {@code maxLength} tokens
 * @param duplicates  examples whose content (not their JSON spelling) repeats an earlier example's
 * @param labelCounts classification: examples per label (sorted by label); empty otherwise
 * @param errors      bad lines in file order, the first {@link DatasetParser#MAX_REPORTED_ERRORS}
 * @param errorCount  all bad lines (may exceed the size of {@code errors})
 */
public record DatasetReport(DatasetFormat format, int examples, TokenStats tokens, int maxLength, int truncated,
        int duplicates, Map<String, Integer> labelCounts, List<LineError> errors, int errorCount) {

    public DatasetReport {
        labelCounts = labelCounts == null ? Map.of() : labelCounts;
        errors = errors == null ? List.of() : List.copyOf(errors);
    }

    /** Token count distribution (all zero without examples). */
    public record TokenStats(int min, int max, double mean, int p50, int p95, long total) {

        public static final TokenStats NONE = new TokenStats(0, 0, 0, 0, 0, 0);
    }

    /** One bad line: its 1-based number and why it cannot be used. */
    public record LineError(int line, String reason) {

        @Override
        public String toString() {
            return "line " + line + ": " + reason;
        }
    }

    /** True when the file has at least one valid example. */
    public boolean hasExamples() {
        return examples > 0;
    }
}
