package io.loragate.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * The gateway's REST API over java.net.http: JSON in and out, multipart uploads, server-sent
 * events. Every failure becomes a {@link CliException} carrying the server's own message (the
 * {@code error.message} of its JSON body) and the exit code of its class.
 */
public final class Api {

    static final ObjectMapper JSON = new ObjectMapper();
    /** Long enough for a classification of a large batch or a big upload's validation. */
    private static final Duration REQUEST_TIMEOUT = Duration.ofMinutes(30);

    private final String base;
    private final String apiKey;
    private final HttpClient http;

    public Api(String url, String apiKey) {
        this.base = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
        this.apiKey = apiKey == null || apiKey.isBlank() ? null : apiKey;
        // HTTP/1.1: the gateway serves gRPC on the same port, and an h2c upgrade buys nothing here
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
    }

    public String url() {
        return base;
    }

    public JsonNode get(String path) {
        return send(request(path).GET().build());
    }

    public JsonNode delete(String path) {
        return send(request(path).DELETE().build());
    }

    public JsonNode post(String path, JsonNode body) {
        return send(request(path).header("Content-Type", "application/json")
                .POST(body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body.toString()))
                .build());
    }

    public JsonNode put(String path, JsonNode body) {
        return send(request(path).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(body.toString())).build());
    }

    /** A multipart upload; {@code progress} hears the bytes of the file parts as they are sent. */
    public JsonNode upload(String path, Multipart body) {
        return send(request(path).header("Content-Type", body.contentType()).POST(body.publisher()).build());
    }

    /**
     * POSTs a streaming request and hands each server-sent event's data (without {@code data: }) to
     * {@code onEvent} as it arrives, up to {@code [DONE]}. An error event ({@code {"error": ...}})
     * ends the stream with its message.
     */
    public void stream(String path, JsonNode body, Consumer<JsonNode> onEvent) {
        HttpRequest req = request(path).header("Content-Type", "application/json").header("Accept", "text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build();
        HttpResponse<InputStream> res = call(req, HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream in = res.body()) {
            if (res.statusCode() >= 300) {
                throw failure(res.statusCode(), new String(in.readAllBytes(), StandardCharsets.UTF_8));
            }
            BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line; (line = lines.readLine()) != null; ) {
                if (!line.startsWith("data:")) {
                    continue; // blank separators, comments, event names
                }
                String data = line.substring(5).trim();
                if (data.equals("[DONE]")) {
                    return;
                }
                JsonNode event = parse(data, res.statusCode());
                if (event.has("error")) {
                    throw new CliException(ExitCodes.SERVER_ERROR, event.path("error").path("message").asText("the stream failed"));
                }
                onEvent.accept(event);
            }
            throw new CliException(ExitCodes.SERVER_ERROR, "the server closed the stream before its end");
        } catch (IOException e) {
            throw unreachable(e);
        }
    }

    // ---------------------------------------------------------------------------------------------

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder b;
        try {
            b = HttpRequest.newBuilder(URI.create(base + path));
        } catch (IllegalArgumentException e) {
            throw CliException.usage("bad URL '" + base + path + "': " + e.getMessage());
        }
        b.timeout(REQUEST_TIMEOUT).header("Accept", "application/json");
        if (apiKey != null) {
            b.header("Authorization", "Bearer " + apiKey);
        }
        return b;
    }

    private JsonNode send(HttpRequest req) {
        HttpResponse<String> res = call(req, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        if (res.statusCode() >= 300) {
            throw failure(res.statusCode(), res.body());
        }
        return parse(res.body(), res.statusCode());
    }

    private <T> HttpResponse<T> call(HttpRequest req, HttpResponse.BodyHandler<T> handler) {
        try {
            return http.send(req, handler);
        } catch (IOException e) {
            throw unreachable(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException(ExitCodes.FAILED, "interrupted");
        } catch (IllegalArgumentException e) {
            throw CliException.usage("bad URL '" + base + "': " + e.getMessage());
        }
    }

    private JsonNode parse(String body, int status) {
        if (body == null || body.isBlank()) {
            return JSON.nullNode();
        }
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            throw new CliException(ExitCodes.SERVER_ERROR, base + " answered HTTP " + status + " with something that is not JSON: "
                    + excerpt(body) + " (is --url the gateway?)");
        }
    }

    /** The server's message from its OpenAI-shaped error body, else an excerpt of what it sent. */
    static CliException failure(int status, String body) {
        String message = null;
        try {
            JsonNode n = JSON.readTree(body == null ? "" : body);
            if (n != null && n.path("error").path("message").isTextual()) {
                message = n.path("error").path("message").asText();
            }
        } catch (IOException e) {
            // not JSON: below
        }
        if (message == null) {
            message = body == null || body.isBlank() ? "(no message)" : excerpt(body);
        }
        int code = status >= 500 ? ExitCodes.SERVER_ERROR : ExitCodes.CLIENT_ERROR;
        return new CliException(code, message + " (HTTP " + status + ")");
    }

    private CliException unreachable(IOException e) {
        String why;
        if (e instanceof HttpConnectTimeoutException) {
            why = "connection timed out";
        } else if (e instanceof HttpTimeoutException) {
            why = "no answer within " + REQUEST_TIMEOUT.toMinutes() + " minutes";
        } else if (e instanceof ConnectException) {
            why = e.getCause() instanceof UnresolvedAddressException ? "unknown host" : "connection refused";
        } else {
            why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        }
        return new CliException(ExitCodes.UNREACHABLE, "cannot reach " + base + ": " + why);
    }

    private static String excerpt(String body) {
        String s = body.strip().replaceAll("\\s+", " ");
        return s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }
}
