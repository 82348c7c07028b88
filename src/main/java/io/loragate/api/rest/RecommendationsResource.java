package io.loragate.api.rest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.recommend.Budget;
import io.loragate.recommend.Recommendations;
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
 * settings, estimated costs and the reasons (see {@link io.loragate.recommend.Recommender}).
 * Scoped by tenant: another tenant's file answers 404 like an unknown one.
 */
@Path("/v1/recommendations")
@Produces(MediaType.APPLICATION_JSON)
public class RecommendationsResource {

    private final Recommendations recommendations;
    private final TenantResolver tenants;

    public RecommendationsResource(Recommendations recommendations, TenantResolver tenants) {
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
                    schema = @Schema(type = org.eclipse.microprofile.openapi.annotations.enums.SchemaType.OBJECT)))
    public ObjectNode recommend(JsonNode body) {
        Requests.object(body);
        return Recommendations.json(recommendations.recommend(tenants.tenant(), request(body)));
    }

    static Recommendations.Request request(JsonNode body) {
        return new Recommendations.Request(Requests.string(body, "training_file", true), Requests.string(body, "task", false),
                budget(body), optionalInt(body, "top_k"), optionalInt(body, "epochs"), optionalInt(body, "sample_size"));
    }

    static Budget budget(JsonNode body) {
        JsonNode b = body.get("budget");
        if (b == null || b.isNull()) {
            return null;
        }
        if (!b.isObject()) {
            throw Requests.bad("budget", "'budget' must be an object");
        }
        Double minutes = null;
        JsonNode m = b.get("max_train_minutes");
        if (m != null && !m.isNull()) {
            if (!m.isNumber()) {
                throw Requests.bad("budget.max_train_minutes", "'max_train_minutes' must be a number, got " + m);
            }
            minutes = m.asDouble();
        }
        Long bytes = null;
        JsonNode n = b.get("max_adapter_bytes");
        if (n != null && !n.isNull()) {
            if (!n.isIntegralNumber() || !n.canConvertToLong()) {
                throw Requests.bad("budget.max_adapter_bytes", "'max_adapter_bytes' must be an integer, got " + n);
            }
            bytes = n.asLong();
        }
        return new Budget(minutes, bytes);
    }

    static Integer optionalInt(JsonNode body, String field) {
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw Requests.bad(field, "'" + field + "' must be an integer, got " + n);
        }
        return n.asInt();
    }
}
