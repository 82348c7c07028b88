package io.loragate.recommend;

import io.loragate.training.data.DatasetReport;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the recommender knows about a dataset, from its stored preflight report.
 *
 * @param format       the detected format ({@code chat}, {@code prompt_completion}, {@code text},
 *                     {@code classification})
 * @param examples     valid examples
 * @param tokens       tokens over all valid examples (base tokenizer)
 * @param meanTokens   mean tokens per example
 * @param labels       classification: distinct labels (0 otherwise)
 * @param labelCounts  classification: examples per label
 * @param majorityRate classification: share of the most common label (what always guessing it
 *                     scores); null otherwise
 */
public record DatasetFacts(String format, int examples, long tokens, double meanTokens, int labels,
        Map<String, Integer> labelCounts, Double majorityRate) {

    public DatasetFacts {
        labelCounts = labelCounts == null ? Map.of() : new TreeMap<>(labelCounts);
    }

    public static DatasetFacts of(DatasetReport r) {
        Map<String, Integer> counts = r.labelCounts();
        Double majority = null;
        if (!counts.isEmpty() && r.examples() > 0) {
            int max = counts.values().stream().mapToInt(Integer::intValue).max().orElse(0);
            majority = (double) max / r.examples();
        }
        return new DatasetFacts(r.format() == null ? null : r.format().wireName(), r.examples(), r.tokens().total(),
                r.tokens().mean(), counts.size(), counts, majority);
    }

    /** Synthetic facts (tests, what-if): {@code examples} of {@code meanTokens} tokens each. */
    public static DatasetFacts synthetic(String format, int examples, double meanTokens, int labels) {
        return new DatasetFacts(format, examples, Math.round(examples * meanTokens), meanTokens, labels, Map.of(),
                labels > 0 ? 1.0 / labels : null);
    }
}
