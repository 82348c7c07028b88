package io.loragate.service;

/**
 * One streamed step of a completion: a token of choice {@code index}, or (with a non-null
 * {@code finishReason}) the end of that choice.
 *
 * @param text    the text this token adds (may be empty while a multi-byte character is incomplete)
 * @param tokenId the token, or -1 on the final chunk of a choice
 */
public record CompletionChunk(String id, String model, long created, int index, String text, long tokenId,
        double logprob, String finishReason) {
}
