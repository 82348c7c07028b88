package io.loragate.api.rest.dto;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;
import org.eclipse.microprofile.openapi.annotations.enums.SchemaType;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

/** {@code /v1/adapters}: register (multipart), list, get, activate, pin, load, delete. */
public final class AdapterSchemas {

    private AdapterSchemas() {
    }

    @Schema(name = "AdapterUpload", description = "multipart/form-data; at most loragate.adapters.max-upload-bytes (512M) in all")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record AdapterUpload(
            @Schema(required = true, pattern = "^[a-z0-9][a-z0-9._-]{0,63}$", minLength = 1, maxLength = 64,
                    description = "Adapter name; each upload adds a version") String name,
            @Schema(required = true, type = SchemaType.STRING, format = "binary", description = "adapter_config.json (PEFT)")
            String config,
            @Schema(required = true, type = SchemaType.STRING, format = "binary",
                    description = "adapter_model.safetensors; rank at most loragate.adapters.max-rank (64)") String weights) {
    }

    @Schema(name = "ActivateRequest")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record ActivateRequest(@Schema(required = true, minimum = "1", description = "The version to serve under the name")
            int version) {
    }

    @Schema(name = "AdapterList")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record AdapterList(@Schema(required = true, enumeration = "list") String object,
            @Schema(required = true) List<Adapter> data) {
    }

    @Schema(name = "Adapter")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Adapter(@Schema(required = true) String id, @Schema(required = true, enumeration = "adapter") String object,
            @Schema(required = true) String name, @Schema(name = "active_version", required = true) int activeVersion,
            @Schema(name = "active_id", required = true, description = "name@active_version") String activeId,
            @Schema(required = true) boolean pinned, @Schema(required = true) List<AdapterVersion> versions,
            @Schema(name = "recent_requests", required = true, description = "Requests for this name (any version) in this"
                    + " process over the last five minutes") RecentRequests recentRequests) {
    }

    @Schema(name = "RecentRequests")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record RecentRequests(@Schema(name = "bucket_seconds", required = true) int bucketSeconds,
            @Schema(required = true, description = "Requests per bucket, oldest first") List<Integer> counts,
            @Schema(required = true) int total, @Schema(name = "per_minute", required = true) double perMinute) {
    }

    @Schema(name = "AdapterVersion")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record AdapterVersion(@Schema(required = true, description = "name@version") String id,
            @Schema(required = true, enumeration = "adapter.version") String object,
            @Schema(required = true) String name, @Schema(required = true, minimum = "1") int version,
            @Schema(required = true) boolean active, @Schema(name = "active_version", required = true) int activeVersion,
            @Schema(name = "peft_type", required = true, description = "LORA, IA3, PROMPT_TUNING, ...") String peftType,
            @Schema(required = true) int rank, @Schema(required = true) long bytes, @Schema(required = true) String sha256,
            @Schema(name = "created_at", required = true, description = "Unix seconds") long createdAt,
            @Schema(required = true, description = "ready, loading, failed, deleted, ...") String state,
            @JsonInclude(JsonInclude.Include.NON_NULL) @Schema(description = "Why the version failed to load") String error,
            @Schema(required = true, description = "Pinned itself, or as the active version of a pinned alias") boolean pinned,
            @Schema(name = "version_pinned", required = true, description = "Pinned itself (not through the alias)")
            boolean versionPinned,
            @Schema(required = true, description = "Resident in the adapter cache") boolean loaded) {
    }
}
