package io.loragate.api.rest;

import io.loragate.common.LoragateException;
import io.smallrye.mutiny.Uni;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerResponse;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * Waits for a service future: {@link #of} on a worker thread (blocking), {@link #async} without
 * holding any thread (the resource returns the {@link Uni}; RESTEasy Reactive answers when it
 * completes). Failures are rethrown as they were thrown.
 */
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
            Throwable c = unwrap(e.getCause());
            if (c instanceof RuntimeException r) {
                throw r;
            }
            throw new LoragateException(LoragateException.Kind.INTERNAL, String.valueOf(c), c);
        }
    }

    /**
     * The future as a Uni, so that no worker thread waits for the engine. The client going away
     * (its connection closes, or RESTEasy cancels the Uni) cancels the future, which drops the
     * request's sequences from the engine at its next step. The answer is emitted on the request's
     * Vert.x context, never on the engine thread that completed the future.
     */
    static <T> Uni<T> async(CompletableFuture<T> f, HttpServerResponse response) {
        if (response != null) {
            response.closeHandler(v -> f.cancel(false));
            if (response.closed()) {
                f.cancel(false);
            }
        }
        Context context = Vertx.currentContext();
        Uni<T> uni = Uni.createFrom().completionStage(f)
                .onCancellation().invoke(() -> f.cancel(false))
                .onFailure().transform(Await::unwrap);
        return context == null ? uni : uni.emitOn(r -> context.runOnContext(v -> r.run()));
    }

    static Throwable unwrap(Throwable c) {
        while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        if (c instanceof CancellationException) {
            return new LoragateException(LoragateException.Kind.INTERNAL, "the request was cancelled: the client went away");
        }
        return c;
    }
}
