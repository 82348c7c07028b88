package io.loragate.api.rest;

import com.fasterxml.jackson.databind.JsonNode;
import io.loragate.service.AdapterDiagnosticsService;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import io.loragate.api.rest.dto.AdvisorSchemas;
import io.loragate.api.rest.dto.ReportSchemas;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;

/**
 * On-demand diagnostics of an adapter ({@code name} = its active version, or {@code name@v}) on one
 * of the caller's datasets: the report a job writes (README, "Diagnostics"). Scoped by the caller's
 * tenant: another tenant's adapter or file answers 404 like an unknown one.
 */
@Path("/v1/adapters/{id}/diagnostics")
@Produces(MediaType.APPLICATION_JSON)
public class DiagnosticsResource {

    private final AdapterDiagnosticsService diagnostics;
    private final TenantResolver tenants;

    public DiagnosticsResource(AdapterDiagnosticsService diagnostics, TenantResolver tenants) {
        this.diagnostics = diagnostics;
        this.tenants = tenants;
    }

    /** Body: {@code {"file": "file-...", "layers": [0, 2], "max_examples": 32, "reference_file": "file-..."}}. */
    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @RequestBody(required = true,
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = AdvisorSchemas.DiagnosticsRequest.class)))
    @APIResponse(responseCode = "200", description = "The diagnostics report (docs: diagnostics)",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = ReportSchemas.DiagnosticsReport.class)))
    public JsonNode run(@PathParam("id") String id, JsonNode body) {
        return diagnostics.report(tenants.tenant(), id, TrainingRequests.diagnostics(Requests.object(body)));
    }
}
