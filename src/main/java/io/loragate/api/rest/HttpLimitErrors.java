package io.loragate.api.rest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.loragate.config.LoragateConfig;
import io.quarkus.runtime.configuration.MemorySize;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.util.LinkedHashMap;
import java.util.Map;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Failures that happen in Vert.x before a request reaches JAX-RS (so {@link ErrorMapper} never sees
 * them) get the same OpenAI error shape: the body-size limit, which Vert.x enforces while it
 * streams a body (multipart uploads to temporary files) and answers with an empty 413, and the
 * smaller limit on JSON bodies ({@code loragate.limits.max-json-bytes}: every body but multipart).
 */
@ApplicationScoped
public class HttpLimitErrors {

    private static final Logger LOG = Logger.getLogger(HttpLimitErrors.class);

    private final ObjectMapper json;
    private final long maxBodyBytes;
    private final long maxJsonBytes;

    public HttpLimitErrors(ObjectMapper json, @ConfigProperty(name = "quarkus.http.limits.max-body-size") MemorySize maxBody,
            LoragateConfig config) {
        this.json = json;
        this.maxBodyBytes = maxBody.asLongValue();
        this.maxJsonBytes = config.limits().maxJsonBytes().asLongValue();
        long files = config.files().maxBytes().asLongValue();
        if (files >= maxBodyBytes) {
            // a dataset near its own limit would be cut off by the HTTP layer, with a less precise error
            LOG.warnf("loragate.files.max-bytes (%d) is not below quarkus.http.limits.max-body-size (%d): REST uploads"
                    + " near the file limit get the HTTP body limit's 413 instead; raise the body limit", files, maxBodyBytes);
        }
    }

    void install(@Observes Router router) {
        // Before Quarkus's own Content-Length check (order -2), which answers an empty 413.
        router.route().order(-3).handler(ctx -> {
            String length = ctx.request().getHeader("Content-Length");
            if (length != null && exceedsLimit(length, maxBodyBytes)) {
                ctx.response().putHeader("Connection", "close");
                answerTooLarge(ctx);
            } else if (length != null && !isMultipart(ctx) && exceedsLimit(length, maxJsonBytes)) {
                // JSON bodies are read whole into memory: they get their own, smaller cap than uploads
                ctx.response().putHeader("Connection", "close");
                answer(ctx, "request body too large: a JSON body is at most " + maxJsonBytes
                        + " bytes (loragate.limits.max-json-bytes); upload large data with multipart /v1/files");
            } else {
                ctx.next();
            }
        });
        // Chunked bodies are counted while they stream; the body handler fails the request with 413.
        router.route().failureHandler(ctx -> {
            if (ctx.statusCode() == 413 && !ctx.response().ended()) {
                answerTooLarge(ctx);
            } else {
                ctx.next();
            }
        });
    }

    /** Bodies that stream (multipart uploads, gRPC messages, raw bytes) keep the larger body limit. */
    private static boolean isMultipart(RoutingContext ctx) {
        String type = ctx.request().getHeader("Content-Type");
        String t = type == null ? "" : type.toLowerCase(java.util.Locale.ROOT);
        return t.startsWith("multipart/") || t.startsWith("application/grpc") || t.startsWith("application/octet-stream");
    }

    private static boolean exceedsLimit(String contentLength, long limit) {
        try {
            return Long.parseLong(contentLength.trim()) > limit;
        } catch (NumberFormatException e) {
            return false; // Vert.x answers malformed lengths itself
        }
    }

    private void answerTooLarge(RoutingContext ctx) {
        answer(ctx, "request body too large: the limit is " + maxBodyBytes
                + " bytes (quarkus.http.limits.max-body-size, which follows loragate.adapters.max-upload-bytes)");
    }

    private void answer(RoutingContext ctx, String message) {
        Map<String, Object> err = new LinkedHashMap<>();
        err.put("message", message);
        err.put("type", "invalid_request_error");
        err.put("param", null);
        err.put("code", "http_413");
        String body;
        try {
            body = json.writeValueAsString(Map.of("error", err));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        ctx.response().setStatusCode(413).putHeader("Content-Type", "application/json").end(body);
    }
}
