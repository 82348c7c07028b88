package io.loragate.api.rest;

import io.loragate.config.LoragateConfig;
import io.loragate.service.JobService;
import io.quarkus.smallrye.openapi.OpenApiFilter;
import io.smallrye.config.SmallRyeConfig;
import java.math.BigDecimal;
import java.util.Map;
import org.eclipse.microprofile.config.ConfigProvider;
import org.eclipse.microprofile.openapi.OASFilter;
import org.eclipse.microprofile.openapi.models.OpenAPI;
import org.eclipse.microprofile.openapi.models.PathItem;
import org.eclipse.microprofile.openapi.models.media.Schema;
import org.eclipse.microprofile.openapi.models.parameters.Parameter;

/**
 * Writes the configured limits into the OpenAPI document at start-up: the annotations on the
 * records of {@code io.loragate.api.rest.dto} carry the defaults, and a deployment that raises
 * {@code loragate.limits.max-tokens} must not document the old bound. Also the page sizes the
 * services check, which the scanner cannot see.
 */
@OpenApiFilter(OpenApiFilter.RunStage.RUNTIME_STARTUP)
public class OpenApiLimits implements OASFilter {

    @Override
    public void filterOpenAPI(OpenAPI openAPI) {
        if (openAPI.getComponents() == null || openAPI.getComponents().getSchemas() == null) {
            return;
        }
        LoragateConfig config = ConfigProvider.getConfig().unwrap(SmallRyeConfig.class).getConfigMapping(LoragateConfig.class);
        Map<String, Schema> schemas = openAPI.getComponents().getSchemas();
        int maxTokens = config.limits().maxTokens();
        int maxInputs = config.limits().maxInputs();
        maximum(schemas, "CompletionRequest", "max_tokens", maxTokens);
        maximum(schemas, "ChatCompletionRequest", "max_tokens", maxTokens);
        maximum(schemas, "ChatCompletionRequest", "max_completion_tokens", maxTokens);
        maxItems(schemas, "CompletionRequest", "prompt", maxInputs);
        maxItems(schemas, "EmbeddingRequest", "input", maxInputs);
        maxItems(schemas, "ClassificationRequest", "input", maxInputs);
        maximum(schemas, "Hyperparameters", "max_seq_length", config.training().maxSeqLength());
        maximum(schemas, "AdapterSettings", "r", config.adapters().maxRank());
        for (String name : new String[] {"DiagnosticsOptions", "DiagnosticsRequest"}) {
            maxItems(schemas, name, "layers", config.diagnostics().maxLayers());
            maximum(schemas, name, "max_examples", config.diagnostics().maxExamples());
        }
        // page sizes (FineTuningJobs.list, JobService.events, Sweeps.list)
        parameter(openAPI, "/v1/fine_tuning/jobs", "limit", 1, 100);
        parameter(openAPI, "/v1/fine_tuning/jobs/{id}/events", "limit", 1, JobService.MAX_EVENTS_PAGE);
        parameter(openAPI, "/v1/fine_tuning/sweeps", "limit", 1, 100);
    }

    private static void parameter(OpenAPI openAPI, String path, String name, int min, int max) {
        PathItem item = openAPI.getPaths() == null ? null : openAPI.getPaths().getPathItem(path);
        if (item == null || item.getGET() == null || item.getGET().getParameters() == null) {
            return;
        }
        for (Parameter p : item.getGET().getParameters()) {
            if (name.equals(p.getName()) && p.getSchema() != null) {
                p.getSchema().setMinimum(BigDecimal.valueOf(min));
                p.getSchema().setMaximum(BigDecimal.valueOf(max));
            }
        }
    }

    private static void maximum(Map<String, Schema> schemas, String schema, String property, int value) {
        Schema p = property(schemas, schema, property);
        if (p != null) {
            p.setMaximum(BigDecimal.valueOf(value));
        }
    }

    private static void maxItems(Map<String, Schema> schemas, String schema, String property, int value) {
        Schema p = property(schemas, schema, property);
        if (p != null) {
            p.setMaxItems(value);
        }
    }

    private static Schema property(Map<String, Schema> schemas, String schema, String property) {
        Schema s = schemas.get(schema);
        return s == null || s.getProperties() == null ? null : s.getProperties().get(property);
    }
}
