package io.loragate.api.rest.dto;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

/**
 * {@code POST /v1/completions}. Limits: {@code max_tokens} at most {@code loragate.limits.max-tokens},
 * prompts per request at most {@code loragate.limits.max-inputs} (the document shows the configured values).
 */
public final class CompletionSchemas {

    private CompletionSchemas() {
    }

    @Schema(name = "CompletionRequest")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record CompletionRequest(
            @Schema(required = true, description = "A base model id, an adapter name (its active version) or name@version")
            String model,
            @Schema(required = true, description = "One prompt or several (each gets one choice)",
                    oneOf = {String.class, String[].class}, maxItems = 64) Object prompt,
            @Schema(name = "max_tokens", minimum = "1", maximum = "2048", defaultValue = "16") Integer maxTokens,
            @Schema(minimum = "0", defaultValue = "1", description = "0 = greedy") Double temperature,
            @Schema(name = "top_p", minimum = "0", exclusiveMinimum = true, maximum = "1", defaultValue = "1") Double topP,
            @Schema(name = "top_k", minimum = "-1", defaultValue = "0", description = "0 or -1 = all tokens") Integer topK,
            @Schema(minimum = "1", maximum = "1", defaultValue = "1", description = "Only 1 is supported") Integer n,
            @Schema(description = "One stop string or at most 16", oneOf = {String.class, String[].class}, maxItems = 16)
            Object stop,
            @Schema(format = "int64") Long seed,
            @Schema(name = "ignore_eos", defaultValue = "false") Boolean ignoreEos,
            @Schema(description = "true or a positive integer: the chosen token's log-probability (no alternatives)",
                    oneOf = {Boolean.class, Integer.class}) Object logprobs,
            @Schema(name = "return_token_ids", defaultValue = "false", description = "vLLM's extension: token ids of prompt and output")
            Boolean returnTokenIds,
            @Schema(defaultValue = "false", description = "Server-sent events of Completion objects, one per token, then [DONE]")
            Boolean stream) {
    }

    @Schema(name = "Completion", description = "Also the shape of each streamed chunk (one token of one choice per chunk)")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Completion(@Schema(required = true) String id,
            @Schema(required = true, enumeration = "text_completion") String object,
            @Schema(required = true, description = "Unix seconds") long created,
            @Schema(required = true) String model,
            @Schema(required = true) List<CompletionChoice> choices,
            @JsonInclude(JsonInclude.Include.NON_NULL)
            @Schema(name = "prompt_token_ids", description = "With return_token_ids: per prompt") List<List<Long>> promptTokenIds,
            @JsonInclude(JsonInclude.Include.NON_NULL)
            @Schema(description = "Absent in streamed chunks") CommonSchemas.Usage usage) {
    }

    @Schema(name = "CompletionChoice")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record CompletionChoice(@Schema(required = true) int index, @Schema(required = true) String text,
            @Schema(nullable = true) CompletionLogprobs logprobs,
            @Schema(name = "finish_reason", required = true, nullable = true, description = "stop or length; null while streaming")
            String finishReason,
            @JsonInclude(JsonInclude.Include.NON_NULL)
            @Schema(name = "token_ids", description = "With return_token_ids") List<Long> tokenIds,
            @JsonInclude(JsonInclude.Include.NON_NULL)
            @Schema(name = "prompt_token_ids", description = "With return_token_ids") List<Long> promptTokenIds) {
    }

    @Schema(name = "CompletionLogprobs")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record CompletionLogprobs(@Schema(required = true) List<String> tokens,
            @Schema(name = "token_logprobs", required = true) List<Double> tokenLogprobs,
            @Schema(name = "top_logprobs", nullable = true, description = "Always null: alternatives are not returned")
            List<Object> topLogprobs) {
    }
}
