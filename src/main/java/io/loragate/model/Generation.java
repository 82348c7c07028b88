package io.loragate.model;

import java.util.List;

/**
 * What one sequence generated.
 *
 * @param tokens       the generated ids (a stop token is not included)
 * @param logprobs     the log-probability of each generated token
 * @param text         the decoded text, cut before a stop string (null without a tokenizer)
 * @param finishReason "stop" (EOS, stop token or stop string) or "length"
 */
public record Generation(long[] tokens, double[] logprobs, String text, String finishReason) {

    public List<Long> tokenList() {
        return java.util.Arrays.stream(tokens).boxed().toList();
    }
}
