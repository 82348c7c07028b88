package io.loragate.api.rest;

import com.fasterxml.jackson.databind.JsonNode;
import io.loragate.diagnostics.DiagnosticsService;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.util.ArrayList;
import java.util.List;
import io.loragate.api.rest.dto.AdvisorSchemas;
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

    private final DiagnosticsService diagnostics;
    private final TenantResolver tenants;

    public DiagnosticsResource(DiagnosticsService diagnostics, TenantResolver tenants) {
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
                    schema = @Schema(type = org.eclipse.microprofile.openapi.annotations.enums.SchemaType.OBJECT)))
    public JsonNode run(@PathParam("id") String id, JsonNode body) {
        JsonNode b = Requests.object(body);
        DiagnosticsService.Request r = new DiagnosticsService.Request(Requests.string(b, "file", true), layers(b, ""),
                optionalInt(b, "", "max_examples"), Requests.string(b, "reference_file", false));
        return diagnostics.report(tenants.tenant(), id, r);
    }

    /** {@code layers}: an array of layer indices, or absent / null. */
    static List<Integer> layers(JsonNode body, String prefix) {
        JsonNode n = body.get("layers");
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isArray() || n.size() > 1024) {
            throw Requests.bad(prefix + "layers", "'layers' must be an array of layer indices");
        }
        List<Integer> out = new ArrayList<>();
        for (JsonNode x : n) {
            if (!x.isInt()) {
                throw Requests.bad(prefix + "layers", "'layers' must be an array of layer indices");
            }
            out.add(x.asInt());
        }
        return out;
    }

    /** An integer field, or null when absent or null. */
    static Integer optionalInt(JsonNode body, String prefix, String field) {
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isInt()) {
            throw Requests.bad(prefix + field, "'" + field + "' must be an integer");
        }
        return n.asInt();
    }
}
