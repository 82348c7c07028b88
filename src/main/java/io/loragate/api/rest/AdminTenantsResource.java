package io.loragate.api.rest;

import com.fasterxml.jackson.databind.JsonNode;
import io.loragate.service.TenantQuotas;
import io.loragate.service.TenantService;
import io.loragate.service.TenantView;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.util.List;
import io.loragate.api.rest.dto.TenantSchemas;
import io.loragate.api.rest.dto.CommonSchemas;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;

/**
 * Tenant management, admin key only ({@link AuthFilter}): create (answers the API key, the only
 * time it is shown), list, get, rotate the key, delete, set quotas.
 */
@Path(AuthFilter.ADMIN_PATH + "/tenants")
@Produces(MediaType.APPLICATION_JSON)
public class AdminTenantsResource {

    private final TenantService tenants;

    public AdminTenantsResource(TenantService tenants) {
        this.tenants = tenants;
    }

    /** Body: {@code {"id": "acme", "quotas": {...}}} ({@code quotas} optional, as in {@code PUT .../quotas}). */
    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @RequestBody(required = true,
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = TenantSchemas.TenantCreateRequest.class)))
    @APIResponse(responseCode = "200", description = "The tenant with its API key (shown only here and on rotate)",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = TenantSchemas.Tenant.class)))
    public TenantSchemas.Tenant create(JsonNode body) {
        Requests.object(body);
        String id = Requests.string(body, "id", true);
        TenantService.checkId(id);
        TenantQuotas q = body.hasNonNull("quotas") ? overrides(body.get("quotas")) : null;
        return view(tenants.create(id, q));
    }

    @GET
    @APIResponse(responseCode = "200", description = "Every tenant",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = TenantSchemas.TenantList.class)))
    public TenantSchemas.TenantList list() {
        return new TenantSchemas.TenantList("list", tenants.list().stream().map(t -> view(t)).toList());
    }

    /** The tenant with its effective quotas and what it stores. */
    @GET
    @Path("{id}")
    @APIResponse(responseCode = "200", description = "The tenant with its effective quotas and usage",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = TenantSchemas.Tenant.class)))
    public TenantSchemas.Tenant get(@PathParam("id") String id) {
        return view(tenants.get(id));
    }

    /** A new key; the old one stops working at once. */
    @POST
    @Path("{id}/rotate")
    @APIResponse(responseCode = "200", description = "The tenant with its new API key",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = TenantSchemas.Tenant.class)))
    public TenantSchemas.Tenant rotate(@PathParam("id") String id) {
        return view(tenants.rotate(id));
    }

    @DELETE
    @Path("{id}")
    @APIResponse(responseCode = "200", description = "The deleted tenant",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = CommonSchemas.DeletedObject.class)))
    public CommonSchemas.DeletedObject delete(@PathParam("id") String id) {
        tenants.delete(id);
        return new CommonSchemas.DeletedObject(id, "tenant", true);
    }

    /** Replaces the tenant's overrides: a field absent or null falls back to {@code loragate.quotas.*}; 0 = unlimited. */
    @PUT
    @Path("{id}/quotas")
    @Consumes(MediaType.APPLICATION_JSON)
    @RequestBody(required = true,
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = TenantSchemas.QuotaOverrides.class)))
    @APIResponse(responseCode = "200", description = "The tenant with its effective quotas and usage",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = TenantSchemas.Tenant.class)))
    public TenantSchemas.Tenant quotas(@PathParam("id") String id, JsonNode body) {
        Requests.object(body);
        tenants.checkExists(id);
        return view(tenants.setQuotas(id, overrides(body)));
    }

    // ---------------------------------------------------------------------------------------------

    private static TenantQuotas overrides(JsonNode q) {
        if (!q.isObject()) {
            throw Requests.bad("quotas", "'quotas' must be an object");
        }
        for (var it = q.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!List.of("requests_per_second", "tokens_per_minute", "max_concurrent_streams", "max_adapters",
                    "max_stored_bytes", "max_concurrent_jobs").contains(f)) {
                throw Requests.bad(f, "unknown quota '" + f + "'");
            }
        }
        JsonNode rps = q.get("requests_per_second");
        if (rps != null && !rps.isNull() && !rps.isNumber()) {
            throw Requests.bad("requests_per_second", "'requests_per_second' must be a number, got " + rps);
        }
        return new TenantQuotas(rps == null || rps.isNull() ? null : rps.asDouble(), Requests.optionalLong(q, "tokens_per_minute"),
                Requests.optionalInt(q, "max_concurrent_streams"), Requests.optionalInt(q, "max_adapters"),
                Requests.optionalLong(q, "max_stored_bytes"), Requests.optionalInt(q, "max_concurrent_jobs"));
    }

    private static TenantSchemas.Tenant view(TenantView t) {
        TenantView.Usage u = t.usage();
        return new TenantSchemas.Tenant(t.id(), "tenant", t.created().getEpochSecond(), t.keyRotated().getEpochSecond(), t.keyId(),
                overridesRecord(t.quotaOverrides()), t.quotas() == null ? null : quotasRecord(t.quotas()),
                u == null ? null : new TenantSchemas.TenantUsage(u.adapters(), u.storedBytes()), t.apiKey());
    }

    /** The tenant's own settings: a null field falls back to {@code loragate.quotas.*} (and is answered as null). */
    private static TenantSchemas.QuotaOverrides overridesRecord(TenantQuotas q) {
        return new TenantSchemas.QuotaOverrides(q.requestsPerSecond(), q.tokensPerMinute(), q.maxConcurrentStreams(), q.maxAdapters(),
                q.maxStoredBytes(), q.maxConcurrentJobs());
    }

    /** The quotas in force: every field set. */
    private static TenantSchemas.Quotas quotasRecord(TenantQuotas q) {
        return new TenantSchemas.Quotas(q.requestsPerSecond(), q.tokensPerMinute(), q.maxConcurrentStreams(), q.maxAdapters(),
                q.maxStoredBytes(), q.maxConcurrentJobs());
    }
}
