package io.loragate.common;

import java.util.List;
import java.util.Set;

/**
 * How to pick each next token and when to stop.
 *
 * @param maxTokens    tokens to generate at most (finish reason "length")
 * @param temperature  0 = greedy; otherwise logits are divided by it before sampling
 * @param topK         keep the k most likely tokens (0 = all)
 * @param topP         nucleus: keep the smallest set of tokens whose probability reaches p (1 = all)
 * @param seed         random seed; the same seed gives the same tokens (null = unseeded)
 * @param stopTokenIds extra token ids that end generation (the model's EOS ids always do)
 * @param stopStrings  strings that end generation; the text is cut before the match
 * @param ignoreEos    generate past EOS (benchmarks)
 */
public record SamplingParams(int maxTokens, double temperature, int topK, double topP, Long seed,
        Set<Long> stopTokenIds, List<String> stopStrings, boolean ignoreEos) {

    public SamplingParams {
        if (maxTokens < 1) {
            throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "max_tokens must be at least 1, got " + maxTokens);
        }
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "temperature must be >= 0, got " + temperature);
        }
        if (topK < 0) {
            throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "top_k must be >= 0, got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "top_p must be in (0, 1], got " + topP);
        }
        stopTokenIds = stopTokenIds == null ? Set.of() : Set.copyOf(stopTokenIds);
        stopStrings = stopStrings == null ? List.of() : List.copyOf(stopStrings);
    }

    /** Greedy decoding of up to {@code maxTokens} tokens. */
    public static SamplingParams greedy(int maxTokens) {
        return new SamplingParams(maxTokens, 0, 0, 1, null, Set.of(), List.of(), false);
    }

    public boolean isGreedy() {
        return temperature == 0;
    }

    /** Where the earliest stop string starts in {@code text} at or after {@code from}, or -1. */
    public int firstStop(String text, int from) {
        int best = -1;
        for (String s : stopStrings) {
            int i = s.isEmpty() ? -1 : text.indexOf(s, Math.max(0, from));
            if (i >= 0 && (best < 0 || i < best)) {
                best = i;
            }
        }
        return best;
    }
}
