package io.loragate.service;

import java.util.List;

/**
 * A finished completion.
 *
 * @param model          the id that served it: the base id, or the resolved {@code name@version}
 * @param promptTokenIds the token ids of each prompt
 */
public record CompletionResult(String id, String model, long created, List<Choice> choices, List<long[]> promptTokenIds,
        Usage usage) {

    /** One prompt's generated text. */
    public record Choice(int index, String text, long[] tokenIds, double[] logprobs, List<String> tokens,
            String finishReason) {
    }

    public record Usage(int promptTokens, int completionTokens) {
        public int totalTokens() {
            return promptTokens + completionTokens;
        }
    }
}
