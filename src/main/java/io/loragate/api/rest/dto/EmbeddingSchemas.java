package io.loragate.api.rest.dto;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;
import java.util.Map;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

/** {@code POST /v1/embeddings}, {@code POST /v1/classifications} and {@code GET /v1/models}. */
public final class EmbeddingSchemas {

    private EmbeddingSchemas() {
    }

    @Schema(name = "EmbeddingRequest")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record EmbeddingRequest(@Schema(required = true, description = "A base model id, an adapter name or name@version")
            String model,
            @Schema(required = true, description = "One text or several", oneOf = {String.class, String[].class}, maxItems = 64)
            Object input,
            @Schema(name = "encoding_format", enumeration = {"float", "base64"}, defaultValue = "float") String encodingFormat,
            @Schema(enumeration = {"truncate", "sliding_window"}, description = "How an input longer than the model's window"
                    + " is read: 'truncate' (its first tokens and its closing special token) or 'sliding_window' (overlapping"
                    + " windows, their vectors averaged weighted by tokens; at most loragate.limits.max-windows-per-input"
                    + " windows per input, else 400). Default: the pooling the adapter was trained with, else 'truncate'")
            String pooling) {
    }

    @Schema(name = "EmbeddingList")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record EmbeddingList(@Schema(required = true, enumeration = "list") String object,
            @Schema(required = true) List<Embedding> data, @Schema(required = true) String model,
            @Schema(required = true) CommonSchemas.Usage usage) {
    }

    @Schema(name = "Embedding")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Embedding(@Schema(required = true, enumeration = "embedding") String object, @Schema(required = true) int index,
            @Schema(required = true, description = "The vector; with encoding_format 'base64', a string: base64 of its"
                    + " little-endian float32 values", oneOf = {Float[].class, String.class}) Object embedding) {
    }

    @Schema(name = "ClassificationRequest")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record ClassificationRequest(@Schema(required = true, description = "A classifier adapter (name or name@version)")
            String model,
            @Schema(required = true, description = "One text or several", oneOf = {String.class, String[].class}, maxItems = 64)
            Object input,
            @Schema(enumeration = {"truncate", "sliding_window"}, description = "How an input longer than the model's window"
                    + " is read: 'truncate' (its first tokens and its closing special token) or 'sliding_window' (overlapping"
                    + " windows, their vectors averaged weighted by tokens; at most loragate.limits.max-windows-per-input"
                    + " windows per input, else 400). Default: the pooling the adapter was trained with, else 'truncate'; an adapter trained with one refuses another (400). Decoder bases: 'truncate' only")
            String pooling) {
    }

    @Schema(name = "ClassificationList")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record ClassificationList(@Schema(required = true, enumeration = "list") String object,
            @Schema(required = true) String model, @Schema(required = true) List<Classification> data,
            @Schema(required = true) CommonSchemas.Usage usage) {
    }

    @Schema(name = "Classification")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Classification(@Schema(required = true) int index, @Schema(required = true) String label,
            @Schema(required = true, description = "Probability of every label") Map<String, Double> scores) {
    }

    @Schema(name = "ModelList")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record ModelList(@Schema(required = true, enumeration = "list") String object, @Schema(required = true) List<Model> data) {
    }

    @Schema(name = "Model", description = "The base model or one of the caller's adapters")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Model(@Schema(required = true) String id, @Schema(required = true, enumeration = "model") String object,
            @Schema(required = true) long created, @Schema(name = "owned_by", required = true) String ownedBy,
            @Schema(required = true) String root, @Schema(required = true, nullable = true, description = "Adapters: the base model")
            String parent,
            @JsonInclude(JsonInclude.Include.NON_NULL)
            @Schema(name = "active_version", description = "Adapters only") Integer activeVersion) {
    }
}
