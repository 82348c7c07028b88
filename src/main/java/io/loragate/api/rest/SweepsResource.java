package io.loragate.api.rest;

import com.fasterxml.jackson.databind.JsonNode;
import io.loragate.service.SweepService;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import io.loragate.api.rest.dto.AdvisorSchemas;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;

/**
 * Sweeps ({@code /v1/fine_tuning/sweeps}): one fine-tuning job per method on the same data and one
 * comparison table. Scoped by tenant: another tenant's sweep or file answers 404.
 */
@Path("/v1/fine_tuning/sweeps")
@Produces(MediaType.APPLICATION_JSON)
public class SweepsResource {

    private final SweepService sweeps;
    private final TenantResolver tenants;

    public SweepsResource(SweepService sweeps, TenantResolver tenants) {
        this.sweeps = sweeps;
        this.tenants = tenants;
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @RequestBody(required = true,
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = AdvisorSchemas.SweepRequest.class)))
    @APIResponse(responseCode = "200", description = "The sweep with its comparison table (docs: sweeps)",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = AdvisorSchemas.Sweep.class)))
    public AdvisorSchemas.Sweep create(JsonNode body) {
        return AdvisorAnswers.sweep(sweeps.create(tenants.tenant(), TrainingRequests.sweep(Requests.object(body))));
    }

    @GET
    @APIResponse(responseCode = "200", description = "The caller's sweeps: {object: list, data: [...]}",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = AdvisorSchemas.SweepList.class)))
    public AdvisorSchemas.SweepList list(@QueryParam("limit") @DefaultValue("20") int limit) {
        return new AdvisorSchemas.SweepList("list", sweeps.list(tenants.tenant(), limit).stream().map(v -> AdvisorAnswers.sweep(v)).toList());
    }

    @GET
    @Path("{id}")
    @APIResponse(responseCode = "200", description = "The sweep with its comparison table",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = AdvisorSchemas.Sweep.class)))
    public AdvisorSchemas.Sweep get(@PathParam("id") String id) {
        return AdvisorAnswers.sweep(sweeps.get(tenants.tenant(), id));
    }

    @POST
    @Path("{id}/cancel")
    @APIResponse(responseCode = "200", description = "The sweep, its unfinished jobs cancelled",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = AdvisorSchemas.Sweep.class)))
    public AdvisorSchemas.Sweep cancel(@PathParam("id") String id) {
        return AdvisorAnswers.sweep(sweeps.cancel(tenants.tenant(), id));
    }
}
