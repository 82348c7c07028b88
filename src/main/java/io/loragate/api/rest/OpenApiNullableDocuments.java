package io.loragate.api.rest;

import io.quarkus.smallrye.openapi.OpenApiFilter;
import java.util.List;
import java.util.Map;
import org.eclipse.microprofile.openapi.OASFactory;
import org.eclipse.microprofile.openapi.OASFilter;
import org.eclipse.microprofile.openapi.models.OpenAPI;
import org.eclipse.microprofile.openapi.models.media.Schema;

/**
 * Stored JSON documents (a job's gate, diagnostics options and report, a metrics event's data) are
 * answered as they were written, so their record components are {@code JsonNode}s that reference
 * their schema with {@code @Schema(ref = ...)}; the scanner drops {@code nullable} beside a reference.
 * This filter writes it back in OpenAPI 3.1's form: {@code anyOf: [{$ref}, {type: null}]}.
 */
@OpenApiFilter(OpenApiFilter.RunStage.BUILD)
public class OpenApiNullableDocuments implements OASFilter {

    /** Schema and property of each nullable stored document. */
    static final List<List<String>> NULLABLE = List.of(List.of("FineTuningJob", "publish_if"), List.of("FineTuningJob", "diagnostics"),
            List.of("FineTuningJob", "report"), List.of("JobEvent", "data"));

    @Override
    public void filterOpenAPI(OpenAPI openAPI) {
        if (openAPI.getComponents() == null || openAPI.getComponents().getSchemas() == null) {
            return;
        }
        Map<String, Schema> schemas = openAPI.getComponents().getSchemas();
        for (List<String> at : NULLABLE) {
            Schema s = schemas.get(at.get(0));
            Schema p = s == null || s.getProperties() == null ? null : s.getProperties().get(at.get(1));
            if (p != null && p.getRef() != null) {
                Schema ref = OASFactory.createSchema().ref(p.getRef());
                p.setRef(null);
                p.setAnyOf(List.of(ref, OASFactory.createSchema().addType(Schema.SchemaType.NULL)));
            }
        }
    }
}
