package io.loragate.api.rest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.common.LoragateException;
import io.loragate.common.SamplingParams;
import io.loragate.service.CompletionChunk;
import io.loragate.service.CompletionCommand;
import io.loragate.service.CompletionResult;
import io.loragate.service.GenerationService;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.common.annotation.Blocking;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import io.vertx.core.http.HttpServerResponse;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.List;
import io.loragate.api.rest.dto.CompletionSchemas;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;

/** {@code POST /v1/completions}, OpenAI-compatible, with vLLM's {@code return_token_ids} extension. */
@Path("/v1/completions")
public class CompletionsResource {

    private final GenerationService generation;
    private final TenantResolver tenants;
    private final ObjectMapper json;

    public CompletionsResource(GenerationService generation, TenantResolver tenants, ObjectMapper json) {
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
                    schema = @Schema(implementation = CompletionSchemas.CompletionRequest.class)))
    @APIResponse(responseCode = "200", description = "The completion; with stream: server-sent events (one chunk per token), then [DONE]", content = {
            @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = CompletionSchemas.Completion.class)),
            @Content(mediaType = MediaType.SERVER_SENT_EVENTS, schema = @Schema(implementation = CompletionSchemas.Completion.class))})
    public Uni<Response> create(JsonNode body, @Context HttpServerResponse response) {
        Requests.object(body);
        String model = Requests.string(body, "model", true);
        List<String> prompts = Requests.strings(body, "prompt", true);
        SamplingParams params = Requests.sampling(body, "max_tokens", 16);
        boolean logprobs = body.hasNonNull("logprobs") && !(body.get("logprobs").isBoolean() && !body.get("logprobs").asBoolean());
        if (body.hasNonNull("logprobs") && body.get("logprobs").isIntegralNumber() && body.get("logprobs").asInt() > 0) {
            // the chosen token's log-probability is returned; alternatives (top_logprobs) are not
            logprobs = true;
        }
        boolean tokenIds = Requests.bool(body, "return_token_ids");
        CompletionCommand command = new CompletionCommand(model, prompts, params, logprobs);
        String tenant = tenants.tenant();
        if (Requests.bool(body, "stream")) {
            Multi<String> events = generation.stream(tenant, command)
                    .map(c -> chunkJson(c, tokenIds))
                    .onFailure().recoverWithItem(e -> errorJson(e));
            return Uni.createFrom().item(SseStream.of(events, response));
        }
        // no worker waits for the engine; a client that disconnects cancels the request
        boolean withLogprobs = logprobs;
        return Await.async(generation.complete(tenant, command), response)
                .map(r -> Response.ok(resultJson(r, tokenIds, withLogprobs)).type(MediaType.APPLICATION_JSON).build());
    }

    ObjectNode resultJson(CompletionResult r, boolean tokenIds, boolean logprobs) {
        ObjectNode o = json.createObjectNode();
        o.put("id", r.id());
        o.put("object", "text_completion");
        o.put("created", r.created());
        o.put("model", r.model());
        ArrayNode choices = o.putArray("choices");
        for (CompletionResult.Choice c : r.choices()) {
            ObjectNode ch = choices.addObject();
            ch.put("index", c.index());
            ch.put("text", c.text());
            if (logprobs && c.logprobs() != null) {
                ObjectNode lp = ch.putObject("logprobs");
                ArrayNode toks = lp.putArray("tokens");
                c.tokens().forEach(toks::add);
                ArrayNode vals = lp.putArray("token_logprobs");
                for (double d : c.logprobs()) {
                    vals.add(d);
                }
                lp.putNull("top_logprobs");
            } else {
                ch.putNull("logprobs");
            }
            ch.put("finish_reason", c.finishReason());
            if (tokenIds) {
                TokenIdArrays.addAll(ch.putArray("token_ids"), c.tokenIds());
                TokenIdArrays.addAll(ch.putArray("prompt_token_ids"), r.promptTokenIds().get(c.index()));
            }
        }
        if (tokenIds) {
            ArrayNode p = o.putArray("prompt_token_ids");
            r.promptTokenIds().forEach(ids -> TokenIdArrays.addAll(p.addArray(), ids));
        }
        ObjectNode u = o.putObject("usage");
        u.put("prompt_tokens", r.usage().promptTokens());
        u.put("completion_tokens", r.usage().completionTokens());
        u.put("total_tokens", r.usage().totalTokens());
        return o;
    }

    String chunkJson(CompletionChunk c, boolean tokenIds) {
        ObjectNode o = json.createObjectNode();
        o.put("id", c.id());
        o.put("object", "text_completion");
        o.put("created", c.created());
        o.put("model", c.model());
        ObjectNode ch = o.putArray("choices").addObject();
        ch.put("index", c.index());
        ch.put("text", c.text());
        ch.putNull("logprobs");
        if (c.finishReason() == null) {
            ch.putNull("finish_reason");
            if (tokenIds) {
                ch.putArray("token_ids").add(c.tokenId());
            }
        } else {
            ch.put("finish_reason", c.finishReason());
            if (tokenIds) {
                ch.putArray("token_ids");
            }
        }
        return write(o);
    }

    String errorJson(Throwable e) {
        ObjectNode o = json.createObjectNode();
        ObjectNode err = o.putObject("error");
        err.put("message", e.getMessage());
        err.put("type", e instanceof LoragateException le && le.kind() == LoragateException.Kind.RESOURCE_EXHAUSTED
                ? "rate_limit_error" : "server_error");
        err.put("code", e instanceof LoragateException le ? le.kind().name().toLowerCase() : "internal");
        return write(o);
    }

    private String write(ObjectNode o) {
        try {
            return json.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

}
