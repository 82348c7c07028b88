package io.loragate.common;

/**
 * Root of loragate's exception hierarchy. Every error a user can cause carries a {@link Kind} that
 * each transport maps to its own status (HTTP code, gRPC status), and a message that names the bad
 * value (a file, a field, an id).
 */
public class LoragateException extends RuntimeException {

    /** What went wrong, independent of the transport. */
    public enum Kind {
        /** The caller sent something malformed or out of range. */
        INVALID_ARGUMENT,
        /** A named thing (model file, adapter, tensor) does not exist. */
        NOT_FOUND,
        /** The request is valid but cannot be served in the current state (e.g. generation on an encoder). */
        FAILED_PRECONDITION,
        /** A limit was hit (queue full, quota). */
        RESOURCE_EXHAUSTED,
        /** Data on disk is corrupt or inconsistent with what it claims to be. */
        DATA_LOSS,
        /** Requested feature is not supported (architecture, adapter type). */
        UNIMPLEMENTED,
        /** A bug or an unexpected failure of the engine. */
        INTERNAL,
        /** The caller presented no credentials or ones that are not valid (a missing, wrong or revoked API key). */
        UNAUTHENTICATED,
        /** Something the request needs cannot be reached now (the metadata database is down); retrying later may succeed. */
        UNAVAILABLE
    }

    private final Kind kind;
    private String param;
    private long retryAfterSeconds;

    public LoragateException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    /** Names the request field at fault (OpenAI's {@code param}). */
    public LoragateException withParam(String param) {
        this.param = param;
        return this;
    }

    /** For {@link Kind#RESOURCE_EXHAUSTED} and {@link Kind#UNAVAILABLE}: when the caller may try again. */
    public LoragateException retryAfter(long seconds) {
        this.retryAfterSeconds = seconds;
        return this;
    }

    /** The request field at fault, or null. */
    public String param() {
        return param;
    }

    /** Seconds before a retry may succeed (0: unknown). */
    public long retryAfterSeconds() {
        return retryAfterSeconds;
    }

    public LoragateException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
