package io.loragate.api.rest.dto;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

/** OpenAI's error shape, the body of every 4xx and 5xx answer ({@code ErrorMapper}). */
public final class ErrorSchemas {

    private ErrorSchemas() {
    }

    @Schema(name = "ErrorResponse", description = "Every error answer: {\"error\": {...}}")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record ErrorResponse(@Schema(required = true) Error error) {
    }

    @Schema(name = "Error")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Error(
            @Schema(required = true, description = "What went wrong and what to send instead") String message,
            @Schema(required = true, description = "invalid_request_error, authentication_error, permission_error, "
                    + "not_found_error, rate_limit_error or server_error") String type,
            @Schema(nullable = true, description = "The request field at fault, e.g. method.hyperparameters.learning_rate")
            String param,
            @Schema(nullable = true, description = "Machine-readable code, e.g. invalid_argument, not_found, http_415") String code) {
    }
}
