package io.loragate.api.rest;

import io.loragate.model.LoragateException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/** Waits for a service future on a worker thread, rethrowing its failure as it was thrown. */
final class Await {

    private Await() {
    }

    static <T> T of(CompletableFuture<T> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LoragateException(LoragateException.Kind.INTERNAL, "interrupted while waiting for the engine");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            while (c instanceof java.util.concurrent.CompletionException && c.getCause() != null) {
                c = c.getCause();
            }
            if (c instanceof RuntimeException r) {
                throw r;
            }
            throw new LoragateException(LoragateException.Kind.INTERNAL, String.valueOf(c), c);
        }
    }
}
