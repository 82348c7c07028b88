package io.loragate.model;

/**
 * What one sequence generated.
 *
 * @param tokens       the generated ids (a stop token is not included)
 * @param logprobs     the log-probability of each generated token
 * @param text         the decoded text, cut before a stop string (null without a tokenizer)
 * @param finishReason "stop" (EOS, stop token or stop string) or "length"
 */
public record Generation(long[] tokens, double[] logprobs, String text, String finishReason) {
}
