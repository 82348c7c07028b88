package io.loragate.api.rest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import io.loragate.api.rest.dto.CommonSchemas;
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
        List<ChatSchemas.ChatChoice> choices = r.choices().stream().map(c -> new ChatSchemas.ChatChoice(c.index(),
                new ChatSchemas.AssistantMessage("assistant", c.text()), logprobs && c.logprobs() != null ? logprobs(c) : null,
                c.finishReason(), tokenIds ? TokenIdArrays.list(c.tokenIds()) : null)).toList();
        List<Long> promptTokenIds = tokenIds && !r.choices().isEmpty() ? TokenIdArrays.list(r.promptTokenIds().get(0)) : null;
        ChatSchemas.ChatCompletion answer = new ChatSchemas.ChatCompletion(r.id().replace("cmpl-", "chatcmpl-"), "chat.completion",
                r.created(), r.model(), choices, promptTokenIds,
                new CommonSchemas.Usage(r.usage().promptTokens(), r.usage().completionTokens(), r.usage().totalTokens()));
        return Response.ok(answer).type(MediaType.APPLICATION_JSON).build();
    }

    private static ChatSchemas.ChatLogprobs logprobs(CompletionResult.Choice c) {
        List<ChatSchemas.TokenLogprob> content = new ArrayList<>();
        for (int i = 0; i < c.logprobs().length; i++) {
            content.add(new ChatSchemas.TokenLogprob(c.tokens().get(i), c.logprobs()[i]));
        }
        return new ChatSchemas.ChatLogprobs(content);
    }

    /** One token; the first chunk also names the role, and with {@code return_token_ids} each token's chunk its id. */
    private String chunk(CompletionChunk c, boolean first, boolean tokenIds) {
        List<Long> ids = tokenIds && c.finishReason() == null ? List.of(c.tokenId()) : null;
        ChatSchemas.ChunkChoice choice = new ChatSchemas.ChunkChoice(c.index(),
                new ChatSchemas.Delta(first ? "assistant" : null, c.text()), c.finishReason(), ids);
        try {
            return json.writeValueAsString(new ChatSchemas.ChatCompletionChunk(c.id().replace("cmpl-", "chatcmpl-"),
                    "chat.completion.chunk", c.created(), c.model(), List.of(choice)));
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
