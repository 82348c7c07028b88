package io.loragate.engine;

/** Measurements the engine reports as it runs (for metrics); called on the engine thread. */
public interface EngineObserver {

    EngineObserver NONE = new EngineObserver() {
    };

    /** A step ran over {@code batch} sequences ({@code prefill}: newly admitted ones). */
    default void step(boolean prefill, int batch, int tokens, long nanos) {
    }

    /** A sequence of {@code tenant} produced its first token {@code nanos} after submission. */
    default void firstToken(String tenant, String adapterId, long nanos) {
    }

    /** A sequence of {@code tenant} was ended because its logits went non-finite (NaN or infinity). */
    default void nonFinite(String tenant, String adapterId) {
    }

    /** A sequence finished with {@code generated} tokens after {@code nanos} of decoding. */
    default void finished(String tenant, String adapterId, String reason, int promptTokens, int generated, long decodeNanos) {
    }
}
