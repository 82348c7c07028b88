package io.loragate.api.rest.dto;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

/** Bodies shared by several endpoint groups. */
public final class CommonSchemas {

    private CommonSchemas() {
    }

    @Schema(name = "Usage")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Usage(@Schema(name = "prompt_tokens", required = true) int promptTokens,
            @JsonInclude(JsonInclude.Include.NON_NULL)
            @Schema(name = "completion_tokens", description = "Absent for embeddings and classifications") Integer completionTokens,
            @Schema(name = "total_tokens", required = true) int totalTokens) {
    }

    @Schema(name = "DeletedObject", description = "The answer to a DELETE")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record DeletedObject(@Schema(required = true) String id, @Schema(required = true) String object,
            @Schema(required = true) boolean deleted) {
    }
}
