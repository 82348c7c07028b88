package io.loragate.api.rest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.common.SamplingParams;
import io.loragate.service.ChatMessage;
import io.loragate.service.CompletionChunk;
import io.loragate.service.CompletionCommand;
import io.loragate.service.CompletionResult;
import io.loragate.service.GenerationService;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import io.vertx.core.http.HttpServerResponse;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.ArrayList;
import java.util.List;
import io.loragate.api.rest.dto.ChatSchemas;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;

/**
 * {@code POST /v1/chat/completions}: the messages are rendered with the base model's chat template
 * ({@code tokenizer_config.json}, or the documented fallback) and completed like a prompt.
 */
@Path("/v1/chat/completions")
public class ChatCompletionsResource {

    private final GenerationService generation;
    private final TenantResolver tenants;
    private final ObjectMapper json;

    public ChatCompletionsResource(GenerationService generation, TenantResolver tenants, ObjectMapper json) {
        this.generation = generation;
        this.tenants = tenants;
        this.json = json;
    }

    @POST
    @Blocking
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces({MediaType.APPLICATION_JSON, MediaType.SERVER_SENT_EVENTS})
    @RequestBody(required = true,
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = ChatSchemas.ChatCompletionRequest.class)))
    @APIResponse(responseCode = "200", description = "The answer; with stream: server-sent events of chunks, then [DONE]", content = {
            @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ChatSchemas.ChatCompletion.class)),
            @Content(mediaType = MediaType.SERVER_SENT_EVENTS, schema = @Schema(implementation = ChatSchemas.ChatCompletionChunk.class))})
    public Uni<Response> create(JsonNode body, @Context HttpServerResponse response) {
        Requests.object(body);
        String model = Requests.string(body, "model", true);
        JsonNode msgs = body.get("messages");
        if (msgs == null || !msgs.isArray() || msgs.isEmpty()) {
            throw Requests.bad("messages", "'messages' must be a non-empty array of {role, content}");
        }
        List<ChatMessage> messages = new ArrayList<>();
        for (int i = 0; i < msgs.size(); i++) {
            JsonNode m = msgs.get(i);
            JsonNode r = m.get("role");
            String role = r != null && r.isTextual() ? r.asText() : null; // checked by the service, as for gRPC
            JsonNode content = m.get("content");
            String text;
            if (content != null && content.isTextual()) {
                text = content.asText();
            } else if (content != null && content.isArray()) {
                StringBuilder sb = new StringBuilder();
                for (JsonNode part : content) {
                    if (!"text".equals(part.path("type").asText())) {
                        throw Requests.bad("messages[" + i + "].content", "only text content parts are supported");
                    }
                    sb.append(part.path("text").asText());
                }
                text = sb.toString();
            } else {
                throw Requests.bad("messages[" + i + "].content", "messages[" + i + "].content must be a string");
            }
            messages.add(new ChatMessage(role, text));
        }
        String maxField = body.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        SamplingParams params = Requests.sampling(body, maxField, 256);
        boolean logprobs = Requests.bool(body, "logprobs");
        boolean tokenIds = Requests.bool(body, "return_token_ids");
        CompletionCommand command = generation.chat(model, messages, params, logprobs);
        String tenant = tenants.tenant();
        if (Requests.bool(body, "stream")) {
            boolean[] first = {true};
            Multi<String> events = generation.stream(tenant, command).map(c -> {
                String s = chunk(c, first[0], tokenIds);
                first[0] = false;
                return s;
            }).onFailure().recoverWithItem(e -> "{\"error\":{\"message\":" + quote(e.getMessage()) + ",\"type\":\"server_error\"}}");
            return Uni.createFrom().item(SseStream.of(events, response));
        }
        // no worker waits for the engine; a client that disconnects cancels the request
        return Await.async(generation.complete(tenant, command), response).map(r -> answer(r, logprobs, tokenIds));
    }

    private Response answer(CompletionResult r, boolean logprobs, boolean tokenIds) {
        ObjectNode o = json.createObjectNode();
        o.put("id", r.id().replace("cmpl-", "chatcmpl-"));
        o.put("object", "chat.completion");
        o.put("created", r.created());
        o.put("model", r.model());
        ArrayNode choices = o.putArray("choices");
        for (CompletionResult.Choice c : r.choices()) {
            ObjectNode ch = choices.addObject();
            ch.put("index", c.index());
            ObjectNode msg = ch.putObject("message");
            msg.put("role", "assistant");
            msg.put("content", c.text());
            if (logprobs && c.logprobs() != null) {
                ArrayNode content = ch.putObject("logprobs").putArray("content");
                for (int i = 0; i < c.logprobs().length; i++) {
                    ObjectNode t = content.addObject();
                    t.put("token", c.tokens().get(i));
                    t.put("logprob", c.logprobs()[i]);
                }
            } else {
                ch.putNull("logprobs");
            }
            ch.put("finish_reason", c.finishReason());
            if (tokenIds) {
                TokenIdArrays.addAll(ch.putArray("token_ids"), c.tokenIds());
                TokenIdArrays.addAll(o.putArray("prompt_token_ids"), r.promptTokenIds().get(0));
            }
        }
        ObjectNode u = o.putObject("usage");
        u.put("prompt_tokens", r.usage().promptTokens());
        u.put("completion_tokens", r.usage().completionTokens());
        u.put("total_tokens", r.usage().totalTokens());
        return Response.ok(o).type(MediaType.APPLICATION_JSON).build();
    }

    private String chunk(CompletionChunk c, boolean first, boolean tokenIds) {
        ObjectNode o = json.createObjectNode();
        o.put("id", c.id().replace("cmpl-", "chatcmpl-"));
        o.put("object", "chat.completion.chunk");
        o.put("created", c.created());
        o.put("model", c.model());
        ObjectNode ch = o.putArray("choices").addObject();
        ch.put("index", c.index());
        ObjectNode delta = ch.putObject("delta");
        if (first) {
            delta.put("role", "assistant");
        }
        delta.put("content", c.text());
        if (c.finishReason() == null) {
            ch.putNull("finish_reason");
            if (tokenIds) {
                ch.putArray("token_ids").add(c.tokenId());
            }
        } else {
            ch.put("finish_reason", c.finishReason());
        }
        try {
            return json.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private String quote(String s) {
        try {
            return json.writeValueAsString(s);
        } catch (JsonProcessingException e) {
            return "\"error\"";
        }
    }
}
