package io.loragate.api.rest;

import io.quarkus.smallrye.openapi.OpenApiFilter;
import java.util.Map;
import org.eclipse.microprofile.openapi.OASFactory;
import org.eclipse.microprofile.openapi.OASFilter;
import org.eclipse.microprofile.openapi.models.OpenAPI;
import org.eclipse.microprofile.openapi.models.Operation;
import org.eclipse.microprofile.openapi.models.PathItem;
import org.eclipse.microprofile.openapi.models.responses.APIResponse;
import org.eclipse.microprofile.openapi.models.responses.APIResponses;

/**
 * Adds the error answers every {@code /v1} operation can give to the OpenAPI document, each with
 * the {@code ErrorResponse} schema ({@link ErrorMapper}'s shape), so that a generated client knows
 * how to read them; the resources then only declare their success answers.
 */
@OpenApiFilter(OpenApiFilter.RunStage.BUILD)
public class OpenApiErrors implements OASFilter {

    static final String ERROR_SCHEMA = "#/components/schemas/ErrorResponse";

    private static final Map<String, String> COMMON = Map.of(
            "400", "Invalid request: the message names the field (param) and what was expected",
            "401", "Missing or invalid API key",
            "404", "Unknown model, adapter, file, job or endpoint (another tenant's objects answer 404 too)",
            "429", "Rate limit, quota or a full queue (see Retry-After)",
            "500", "Server error (logged with its cause; never a stack trace)",
            "503", "The metadata database cannot be reached (see Retry-After); requests that need it fail fast until it returns");

    @Override
    public void filterOpenAPI(OpenAPI openAPI) {
        if (openAPI.getPaths() == null || openAPI.getPaths().getPathItems() == null) {
            return;
        }
        for (Map.Entry<String, PathItem> path : openAPI.getPaths().getPathItems().entrySet()) {
            if (!path.getKey().startsWith("/v1")) {
                continue;
            }
            for (Operation op : path.getValue().getOperations().values()) {
                APIResponses responses = op.getResponses();
                if (responses == null) {
                    responses = OASFactory.createAPIResponses();
                    op.setResponses(responses);
                }
                for (Map.Entry<String, String> e : COMMON.entrySet()) {
                    add(responses, e.getKey(), e.getValue());
                }
                if (path.getKey().startsWith(AuthFilter.ADMIN_PATH)) {
                    add(responses, "403", "A tenant's key: this endpoint needs the admin key");
                }
            }
        }
    }

    /** Adds the error answer, or its body to one the scanner added without ("Bad Request" for every JSON body). */
    private static void add(APIResponses responses, String code, String description) {
        APIResponse existing = responses.getAPIResponse(code);
        if (existing != null && existing.getContent() != null) {
            return;
        }
        responses.addAPIResponse(code, OASFactory.createAPIResponse().description(description)
                .content(OASFactory.createContent().addMediaType("application/json",
                        OASFactory.createMediaType().schema(OASFactory.createSchema().ref(ERROR_SCHEMA)))));
    }
}
