package io.loragate.api.rest;

import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.subscription.Cancellable;
import io.vertx.core.http.HttpServerResponse;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.StreamingOutput;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * Writes a stream of JSON strings as server-sent events ({@code data: ...\n\n}), flushing each,
 * and ending with {@code data: [DONE]}. A client that goes away cancels the subscription, which
 * removes the request from the engine at its next step: as soon as the connection closes (its close
 * handler), or at the latest when the next write fails.
 */
final class SseStream {

    private static final Object END = new Object();
    private static final Object GONE = new Object();

    private SseStream() {
    }

    /** The resource method must run on a worker thread ({@code @Blocking}): the writes block. */
    static Response of(Multi<String> events, HttpServerResponse response) {
        StreamingOutput body = os -> {
            BlockingQueue<Object> queue = new LinkedBlockingQueue<>();
            Cancellable subscription = events.subscribe().with(queue::add, queue::add, () -> queue.add(END));
            // Without this, a disconnect is only noticed by the next write, and a request still
            // waiting in the engine's queue writes nothing.
            response.closeHandler(v -> {
                subscription.cancel();
                queue.add(GONE);
            });
            if (response.closed()) {
                subscription.cancel();
                queue.add(GONE);
            }
            try {
                while (true) {
                    Object o = queue.take();
                    if (o == GONE) {
                        throw new IOException("the client closed the connection");
                    }
                    if (o == END) {
                        break;
                    }
                    if (o instanceof Throwable) {
                        break; // the transport already turned failures into an error event
                    }
                    os.write(("data: " + o + "\n\n").getBytes(StandardCharsets.UTF_8));
                    os.flush();
                }
                os.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
                os.flush();
            } catch (IOException | RuntimeException e) {
                subscription.cancel();
                throw e;
            } catch (InterruptedException e) {
                subscription.cancel();
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("stream interrupted");
            }
        };
        return Response.ok(body).type(MediaType.SERVER_SENT_EVENTS).header("Cache-Control", "no-cache")
                .header("X-Accel-Buffering", "no").build();
    }
}
