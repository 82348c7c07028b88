package io.loragate.api.rest.dto;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

/** {@code POST /v1/chat/completions}: the messages are rendered with the base model's chat template. */
public final class ChatSchemas {

    private ChatSchemas() {
    }

    @Schema(name = "ChatCompletionRequest")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record ChatCompletionRequest(
            @Schema(required = true, description = "A base model id, an adapter name (its active version) or name@version")
            String model,
            @Schema(required = true, minItems = 1) List<ChatMessage> messages,
            @Schema(name = "max_tokens", minimum = "1", maximum = "2048", defaultValue = "256") Integer maxTokens,
            @Schema(name = "max_completion_tokens", minimum = "1", maximum = "2048",
                    description = "OpenAI's newer name of max_tokens; wins when both are sent") Integer maxCompletionTokens,
            @Schema(minimum = "0", defaultValue = "1", description = "0 = greedy") Double temperature,
            @Schema(name = "top_p", minimum = "0", exclusiveMinimum = true, maximum = "1", defaultValue = "1") Double topP,
            @Schema(name = "top_k", minimum = "-1", defaultValue = "0", description = "0 or -1 = all tokens") Integer topK,
            @Schema(minimum = "1", maximum = "1", defaultValue = "1", description = "Only 1 is supported") Integer n,
            @Schema(description = "One stop string or at most 16", oneOf = {String.class, String[].class}, maxItems = 16)
            Object stop,
            @Schema(format = "int64") Long seed,
            @Schema(name = "ignore_eos", defaultValue = "false") Boolean ignoreEos,
            @Schema(defaultValue = "false", description = "The chosen tokens' log-probabilities") Boolean logprobs,
            @Schema(name = "return_token_ids", defaultValue = "false") Boolean returnTokenIds,
            @Schema(defaultValue = "false", description = "Server-sent events of ChatCompletionChunk objects, then [DONE]")
            Boolean stream) {
    }

    @Schema(name = "ChatMessage")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record ChatMessage(@Schema(required = true, enumeration = {"system", "developer", "user", "assistant", "tool"}) String role,
            @Schema(required = true, description = "Text, or an array of text parts", oneOf = {String.class, ContentPart[].class})
            Object content) {
    }

    @Schema(name = "ContentPart", description = "Only text parts are supported")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record ContentPart(@Schema(required = true, enumeration = "text") String type, @Schema(required = true) String text) {
    }

    @Schema(name = "ChatCompletion")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record ChatCompletion(@Schema(required = true) String id,
            @Schema(required = true, enumeration = "chat.completion") String object,
            @Schema(required = true, description = "Unix seconds") long created,
            @Schema(required = true) String model,
            @Schema(required = true) List<ChatChoice> choices,
            @JsonInclude(JsonInclude.Include.NON_NULL)
            @Schema(name = "prompt_token_ids", description = "With return_token_ids") List<Long> promptTokenIds,
            @Schema(required = true) CommonSchemas.Usage usage) {
    }

    @Schema(name = "ChatChoice")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record ChatChoice(@Schema(required = true) int index, @Schema(required = true) AssistantMessage message,
            @Schema(nullable = true) ChatLogprobs logprobs,
            @Schema(name = "finish_reason", required = true, description = "stop or length") String finishReason,
            @JsonInclude(JsonInclude.Include.NON_NULL)
            @Schema(name = "token_ids", description = "With return_token_ids") List<Long> tokenIds) {
    }

    @Schema(name = "AssistantMessage")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record AssistantMessage(@Schema(required = true, enumeration = "assistant") String role,
            @Schema(required = true) String content) {
    }

    @Schema(name = "ChatLogprobs")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record ChatLogprobs(@Schema(required = true) List<TokenLogprob> content) {
    }

    @Schema(name = "TokenLogprob")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record TokenLogprob(@Schema(required = true) String token, @Schema(required = true) double logprob) {
    }

    @Schema(name = "ChatCompletionChunk", description = "One streamed event (the data of one server-sent event)")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record ChatCompletionChunk(@Schema(required = true) String id,
            @Schema(required = true, enumeration = "chat.completion.chunk") String object,
            @Schema(required = true) long created, @Schema(required = true) String model,
            @Schema(required = true) List<ChunkChoice> choices) {
    }

    @Schema(name = "ChatChunkChoice")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record ChunkChoice(@Schema(required = true) int index, @Schema(required = true) Delta delta,
            @Schema(name = "finish_reason", required = true, nullable = true) String finishReason,
            @JsonInclude(JsonInclude.Include.NON_NULL)
            @Schema(name = "token_ids", description = "With return_token_ids") List<Long> tokenIds) {
    }

    @Schema(name = "ChatDelta")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Delta(@JsonInclude(JsonInclude.Include.NON_NULL)
            @Schema(description = "In the first chunk only", enumeration = "assistant") String role,
            @Schema(required = true) String content) {
    }
}
