package io.loragate.api.rest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import io.loragate.common.LoragateException;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/**
 * The one REST error mapper: every failure becomes OpenAI's error shape
 * {@code {"error": {"message", "type", "param", "code"}}} with a matching HTTP status. Clients
 * never see a stack trace; unexpected failures are logged here with theirs.
 */
public class ErrorMapper {

    private static final Logger LOG = Logger.getLogger(ErrorMapper.class);

    @ServerExceptionMapper
    public Response loragate(LoragateException e) {
        int status = switch (e.kind()) {
            case INVALID_ARGUMENT, FAILED_PRECONDITION, UNIMPLEMENTED -> 400;
            case NOT_FOUND -> 404;
            case UNAUTHENTICATED -> 401;
            case RESOURCE_EXHAUSTED -> 429;
            case DATA_LOSS, INTERNAL -> 500;
            case UNAVAILABLE -> 503;
        };
        String type = switch (e.kind()) {
            case NOT_FOUND -> "not_found_error";
            case UNAUTHENTICATED -> "authentication_error";
            case RESOURCE_EXHAUSTED -> "rate_limit_error";
            case DATA_LOSS, INTERNAL, UNAVAILABLE -> "server_error";
            default -> "invalid_request_error";
        };
        if (status == 500) {
            LOG.error("request failed", e);
        }
        Response.ResponseBuilder r = body(status, e.getMessage(), type, e.param(), e.kind().name().toLowerCase());
        if (e.kind() == LoragateException.Kind.RESOURCE_EXHAUSTED || e.kind() == LoragateException.Kind.UNAVAILABLE) {
            r.header("Retry-After", String.valueOf(Math.max(1, e.retryAfterSeconds())));
        }
        if (e.kind() == LoragateException.Kind.UNAUTHENTICATED) {
            r.header("WWW-Authenticate", "Bearer realm=\"loragate\"");
        }
        return r.build();
    }

    @ServerExceptionMapper
    public Response json(JsonProcessingException e) {
        String msg = e instanceof MismatchedInputException m && !m.getPath().isEmpty()
                ? "invalid value for '" + m.getPathReference().replaceAll(".*\\[\"", "").replaceAll("\"\\]", "") + "': " + e.getOriginalMessage()
                : "malformed JSON body: " + e.getOriginalMessage();
        return body(400, msg.split("\n")[0], "invalid_request_error", null, "invalid_json").build();
    }

    @ServerExceptionMapper
    public Response web(WebApplicationException e, jakarta.ws.rs.core.HttpHeaders headers, jakarta.ws.rs.core.UriInfo uri) {
        if (e.getResponse().getStatus() == 415) {
            String sent = headers == null ? null : headers.getHeaderString("Content-Type");
            String path = uri == null ? "" : uri.getPath();
            boolean upload = (path.endsWith("/v1/files") || path.endsWith("/v1/adapters"));
            return body(415, "unsupported content type " + (sent == null ? "(none sent)" : "'" + sent + "'") + ": send "
                    + (upload ? "Content-Type: multipart/form-data (an upload: curl -F field=@file)"
                            : "Content-Type: application/json with a JSON body"),
                    "invalid_request_error", null, "http_415").build();
        }
        return web(e);
    }

    private Response web(WebApplicationException e) {
        for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
            if (c instanceof JsonProcessingException j) {
                return json(j); // a body Jackson could not read
            }
        }
        int status = e.getResponse().getStatus();
        String msg = switch (status) {
            case 404 -> "no such endpoint";
            case 405 -> "method not allowed on this endpoint";
            case 413 -> "request body too large";
            case 406 -> "cannot produce the requested content type";
            case 400 -> "malformed request: " + e.getMessage();
            default -> e.getMessage();
        };
        return body(status, msg, status >= 500 ? "server_error" : "invalid_request_error", null, "http_" + status).build();
    }

    @ServerExceptionMapper
    public Response unexpected(RuntimeException e) {
        if (e instanceof WebApplicationException w) {
            return web(w, null, null);
        }
        if (e instanceof IllegalArgumentException) {
            return body(400, e.getMessage(), "invalid_request_error", null, "invalid_argument").build();
        }
        LOG.error("unexpected failure", e);
        return body(500, "internal error: " + e.getClass().getSimpleName(), "server_error", null, "internal").build();
    }

    static Response.ResponseBuilder body(int status, String message, String type, String param, String code) {
        Map<String, Object> err = new LinkedHashMap<>();
        err.put("message", io.loragate.config.ErrorText.redact(message)); // never a server path
        err.put("type", type);
        err.put("param", param);
        err.put("code", code);
        return Response.status(status).type(MediaType.APPLICATION_JSON).entity(Map.of("error", err));
    }
}
