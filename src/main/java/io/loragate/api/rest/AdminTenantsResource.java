package io.loragate.api.rest;

import com.fasterxml.jackson.databind.JsonNode;
import io.loragate.registry.Tenants;
import io.loragate.registry.Tenants.QuotaOverrides;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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

    private final Tenants tenants;

    public AdminTenantsResource(Tenants tenants) {
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
    public Map<String, Object> create(JsonNode body) {
        Requests.object(body);
        String id = Requests.string(body, "id", true);
        Tenants.checkId(id);
        QuotaOverrides q = body.hasNonNull("quotas") ? overrides(body.get("quotas")) : null;
        if (q != null) {
            Tenants.validate(q);
        }
        Tenants.Issued issued = tenants.create(id);
        Tenants.Tenant t = q == null ? issued.tenant() : tenants.setQuotas(id, q);
        Map<String, Object> out = view(t, false);
        out.put("api_key", issued.apiKey());
        return out;
    }

    @GET
    @APIResponse(responseCode = "200", description = "Every tenant",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = TenantSchemas.TenantList.class)))
    public Map<String, Object> list() {
        List<Object> data = new ArrayList<>();
        for (Tenants.Tenant t : tenants.list()) {
            data.add(view(t, false));
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("object", "list");
        out.put("data", data);
        return out;
    }

    /** The tenant with its effective quotas and what it stores. */
    @GET
    @Path("{id}")
    @APIResponse(responseCode = "200", description = "The tenant with its effective quotas and usage",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = TenantSchemas.Tenant.class)))
    public Map<String, Object> get(@PathParam("id") String id) {
        return view(tenants.get(id), true);
    }

    /** A new key; the old one stops working at once. */
    @POST
    @Path("{id}/rotate")
    @APIResponse(responseCode = "200", description = "The tenant with its new API key",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = TenantSchemas.Tenant.class)))
    public Map<String, Object> rotate(@PathParam("id") String id) {
        Tenants.Issued issued = tenants.rotate(id);
        Map<String, Object> out = view(issued.tenant(), false);
        out.put("api_key", issued.apiKey());
        return out;
    }

    @DELETE
    @Path("{id}")
    @APIResponse(responseCode = "200", description = "The deleted tenant",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = CommonSchemas.DeletedObject.class)))
    public Map<String, Object> delete(@PathParam("id") String id) {
        tenants.delete(id);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", id);
        out.put("object", "tenant");
        out.put("deleted", true);
        return out;
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
    public Map<String, Object> quotas(@PathParam("id") String id, JsonNode body) {
        Requests.object(body);
        tenants.get(id);
        return view(tenants.setQuotas(id, overrides(body)), true);
    }

    // ---------------------------------------------------------------------------------------------

    static QuotaOverrides overrides(JsonNode q) {
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
        return new QuotaOverrides(rps == null || rps.isNull() ? null : rps.asDouble(), Requests.optionalLong(q, "tokens_per_minute"),
                integer(q, "max_concurrent_streams"), integer(q, "max_adapters"), Requests.optionalLong(q, "max_stored_bytes"),
                integer(q, "max_concurrent_jobs"));
    }

    private static Integer integer(JsonNode q, String field) {
        Long v = Requests.optionalLong(q, field);
        if (v != null && (v > Integer.MAX_VALUE || v < Integer.MIN_VALUE)) {
            throw Requests.bad(field, "'" + field + "' is too large: " + v);
        }
        return v == null ? null : v.intValue();
    }

    private Map<String, Object> view(Tenants.Tenant t, boolean details) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", t.id());
        out.put("object", "tenant");
        out.put("created_at", t.created().getEpochSecond());
        out.put("key_rotated_at", t.keyRotated().getEpochSecond());
        out.put("key_id", t.keyId());
        QuotaOverrides o = t.overrides();
        Map<String, Object> overrides = new LinkedHashMap<>();
        overrides.put("requests_per_second", o.requestsPerSecond());
        overrides.put("tokens_per_minute", o.tokensPerMinute());
        overrides.put("max_concurrent_streams", o.maxConcurrentStreams());
        overrides.put("max_adapters", o.maxAdapters());
        overrides.put("max_stored_bytes", o.maxStoredBytes());
        overrides.put("max_concurrent_jobs", o.maxConcurrentJobs());
        out.put("quota_overrides", overrides);
        if (details) {
            Tenants.Quota q = tenants.quota(t.id());
            Map<String, Object> quotas = new LinkedHashMap<>();
            quotas.put("requests_per_second", q.requestsPerSecond());
            quotas.put("tokens_per_minute", q.tokensPerMinute());
            quotas.put("max_concurrent_streams", q.maxConcurrentStreams());
            quotas.put("max_adapters", q.maxAdapters());
            quotas.put("max_stored_bytes", q.maxStoredBytes());
            quotas.put("max_concurrent_jobs", q.maxConcurrentJobs());
            out.put("quotas", quotas);
            Tenants.Usage u = tenants.usage(t.id());
            Map<String, Object> usage = new LinkedHashMap<>();
            usage.put("adapters", u.adapters());
            usage.put("stored_bytes", u.storedBytes());
            out.put("usage", usage);
        }
        return out;
    }
}
