package io.loragate.api.rest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.util.Arrays;
import java.util.List;
import io.loragate.api.rest.dto.CommonSchemas;
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

    static CompletionSchemas.Completion resultJson(CompletionResult r, boolean tokenIds, boolean logprobs) {
        List<CompletionSchemas.CompletionChoice> choices = r.choices().stream().map(c -> new CompletionSchemas.CompletionChoice(
                c.index(), c.text(), logprobs && c.logprobs() != null ? logprobs(c) : null, c.finishReason(),
                tokenIds ? TokenIdArrays.list(c.tokenIds()) : null,
                tokenIds ? TokenIdArrays.list(r.promptTokenIds().get(c.index())) : null)).toList();
        List<List<Long>> promptTokenIds = tokenIds ? r.promptTokenIds().stream().map(ids -> TokenIdArrays.list(ids)).toList() : null;
        return new CompletionSchemas.Completion(r.id(), "text_completion", r.created(), r.model(), choices, promptTokenIds,
                new CommonSchemas.Usage(r.usage().promptTokens(), r.usage().completionTokens(), r.usage().totalTokens()));
    }

    /** The chosen tokens' log-probabilities; alternatives ({@code top_logprobs}) are not returned. */
    private static CompletionSchemas.CompletionLogprobs logprobs(CompletionResult.Choice c) {
        return new CompletionSchemas.CompletionLogprobs(c.tokens(), Arrays.stream(c.logprobs()).boxed().toList(), null);
    }

    /**
     * One token of one choice; with {@code return_token_ids}, its id ({@code []} on the last chunk, which
     * only says why the choice ended).
     */
    String chunkJson(CompletionChunk c, boolean tokenIds) {
        List<Long> ids = !tokenIds ? null : c.finishReason() == null ? List.of(c.tokenId()) : List.of();
        CompletionSchemas.CompletionChoice choice = new CompletionSchemas.CompletionChoice(c.index(), c.text(), null,
                c.finishReason(), ids, null);
        return write(new CompletionSchemas.Completion(c.id(), "text_completion", c.created(), c.model(), List.of(choice), null, null));
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

    private String write(Object o) {
        try {
            return json.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

}
