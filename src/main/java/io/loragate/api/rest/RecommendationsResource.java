package io.loragate.api.rest;

import com.fasterxml.jackson.databind.JsonNode;
import io.loragate.service.RecommendationService;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import io.loragate.api.rest.dto.AdvisorSchemas;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;

/**
 * {@code POST /v1/recommendations}: which adaptation methods to try first on a dataset, with their
 * settings, estimated costs and the reasons (docs/diagnostics-and-sweeps.md).
 * Scoped by tenant: another tenant's file answers 404 like an unknown one.
 */
@Path("/v1/recommendations")
@Produces(MediaType.APPLICATION_JSON)
public class RecommendationsResource {

    private final RecommendationService recommendations;
    private final TenantResolver tenants;

    public RecommendationsResource(RecommendationService recommendations, TenantResolver tenants) {
        this.recommendations = recommendations;
        this.tenants = tenants;
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @RequestBody(required = true,
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = AdvisorSchemas.RecommendationRequest.class)))
    @APIResponse(responseCode = "200", description = "The ranked methods with settings, costs and reasons (docs: recommendations)",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = AdvisorSchemas.Recommendation.class)))
    public AdvisorSchemas.Recommendation recommend(JsonNode body) {
        Requests.object(body);
        return AdvisorAnswers.recommendation(recommendations.recommend(tenants.tenant(), TrainingRequests.recommendation(body)));
    }
}
