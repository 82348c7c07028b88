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
 * them) get the same OpenAI error shape: today the body-size limit, which Vert.x enforces while it
 * streams a body (multipart uploads to temporary files) and answers with an empty 413.
 */
@ApplicationScoped
public class HttpLimitErrors {

    private static final Logger LOG = Logger.getLogger(HttpLimitErrors.class);

    private final ObjectMapper json;
    private final long maxBodyBytes;

    public HttpLimitErrors(ObjectMapper json, @ConfigProperty(name = "quarkus.http.limits.max-body-size") MemorySize maxBody,
            LoragateConfig config) {
        this.json = json;
        this.maxBodyBytes = maxBody.asLongValue();
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
            if (length != null && exceedsLimit(length)) {
                ctx.response().putHeader("Connection", "close");
                answerTooLarge(ctx);
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

    private boolean exceedsLimit(String contentLength) {
        try {
            return Long.parseLong(contentLength.trim()) > maxBodyBytes;
        } catch (NumberFormatException e) {
            return false; // Vert.x answers malformed lengths itself
        }
    }

    private void answerTooLarge(RoutingContext ctx) {
        Map<String, Object> err = new LinkedHashMap<>();
        err.put("message", "request body too large: the limit is " + maxBodyBytes
                + " bytes (quarkus.http.limits.max-body-size, which follows loragate.adapters.max-upload-bytes)");
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
