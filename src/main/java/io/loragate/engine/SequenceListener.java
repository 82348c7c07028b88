package io.loragate.engine;

/**
 * Receives one sequence's output, on the engine thread: keep implementations short and
 * non-blocking (hand off to the transport's own threads).
 */
public interface SequenceListener {

    /**
     * A generated token.
     *
     * @param text the text it adds to the output (held back while it could still start a stop
     *             string or completes no character yet; released on finish)
     */
    void onToken(long token, double logprob, String text);

    /**
     * The sequence ended: {@code stop}, {@code length}, {@code cancelled}, {@code timeout} or
     * {@code error} (then {@code error} is set).
     *
     * @param text any held-back text not yet delivered through {@link #onToken}
     */
    void onFinish(String reason, String text, RuntimeException error);
}
