package io.loragate.training.data;

import io.loragate.common.LoragateException;
import java.util.concurrent.Semaphore;
import java.util.function.Supplier;

/**
 * Bounds the dataset validations running at once in the process
 * ({@code loragate.files.max-concurrent-validations}): one more is refused at once with
 * RESOURCE_EXHAUSTED (429 with {@code Retry-After}, gRPC RESOURCE_EXHAUSTED) rather than queued, so
 * that hostile uploads cannot multiply the memory one validation may take and nobody waits behind
 * them without knowing.
 */
public final class ValidationGate {

    /** Seconds a refused client is told to wait. */
    public static final long RETRY_AFTER_SECONDS = 5;

    private final int permits;
    private final Semaphore running;

    public ValidationGate(int permits) {
        if (permits < 1) {
            throw new IllegalArgumentException("loragate.files.max-concurrent-validations must be at least 1, got " + permits);
        }
        this.permits = permits;
        this.running = new Semaphore(permits);
    }

    /** Runs {@code validation} holding one permit, or refuses it when all are held. */
    public <T> T run(Supplier<T> validation) {
        if (!running.tryAcquire()) {
            throw new LoragateException(LoragateException.Kind.RESOURCE_EXHAUSTED, "too many dataset validations running ("
                    + permits + ", loragate.files.max-concurrent-validations); retry later")
                    .withParam("file").retryAfter(RETRY_AFTER_SECONDS);
        }
        try {
            return validation.get();
        } finally {
            running.release();
        }
    }

    /** Validations running now. */
    public int running() {
        return permits - running.availablePermits();
    }
}
