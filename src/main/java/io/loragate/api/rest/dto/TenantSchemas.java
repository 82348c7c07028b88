package io.loragate.api.rest.dto;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

/** {@code /v1/admin/tenants}: admin key only. */
public final class TenantSchemas {

    private TenantSchemas() {
    }

    @Schema(name = "TenantCreateRequest")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record TenantCreateRequest(@Schema(required = true, pattern = "^[a-z0-9][a-z0-9._-]{0,63}$") String id,
            @Schema(description = "Overrides of loragate.quotas.*, as in PUT .../quotas") QuotaOverrides quotas) {
    }

    @Schema(name = "QuotaOverrides", description = "A field absent or null falls back to loragate.quotas.*; 0 = unlimited")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record QuotaOverrides(@Schema(name = "requests_per_second", minimum = "0", nullable = true) Double requestsPerSecond,
            @Schema(name = "tokens_per_minute", minimum = "0", nullable = true, format = "int64") Long tokensPerMinute,
            @Schema(name = "max_concurrent_streams", minimum = "0", nullable = true) Integer maxConcurrentStreams,
            @Schema(name = "max_adapters", minimum = "0", nullable = true) Integer maxAdapters,
            @Schema(name = "max_stored_bytes", minimum = "0", nullable = true, format = "int64") Long maxStoredBytes,
            @Schema(name = "max_concurrent_jobs", minimum = "0", nullable = true) Integer maxConcurrentJobs) {
    }

    @Schema(name = "Quotas", description = "The effective quotas; 0 = unlimited")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Quotas(@Schema(name = "requests_per_second", required = true) double requestsPerSecond,
            @Schema(name = "tokens_per_minute", required = true) long tokensPerMinute,
            @Schema(name = "max_concurrent_streams", required = true) int maxConcurrentStreams,
            @Schema(name = "max_adapters", required = true) int maxAdapters,
            @Schema(name = "max_stored_bytes", required = true) long maxStoredBytes,
            @Schema(name = "max_concurrent_jobs", required = true) int maxConcurrentJobs) {
    }

    @Schema(name = "TenantUsage")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record TenantUsage(@Schema(required = true) int adapters, @Schema(name = "stored_bytes", required = true) long storedBytes) {
    }

    @Schema(name = "Tenant")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Tenant(@Schema(required = true) String id, @Schema(required = true, enumeration = "tenant") String object,
            @Schema(name = "created_at", required = true) long createdAt,
            @Schema(name = "key_rotated_at", required = true) long keyRotatedAt,
            @Schema(name = "key_id", required = true, description = "Identifies the key without revealing it") String keyId,
            @Schema(name = "quota_overrides", required = true) QuotaOverrides quotaOverrides,
            @JsonInclude(JsonInclude.Include.NON_NULL) @Schema(description = "GET one tenant and PUT quotas only") Quotas quotas,
            @JsonInclude(JsonInclude.Include.NON_NULL)
            @Schema(description = "GET one tenant and PUT quotas only") TenantUsage usage,
            @JsonInclude(JsonInclude.Include.NON_NULL)
            @Schema(name = "api_key", description = "Create and rotate only: the only time the key is shown") String apiKey) {
    }

    @Schema(name = "TenantList")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record TenantList(@Schema(required = true, enumeration = "list") String object, @Schema(required = true) List<Tenant> data) {
    }
}
