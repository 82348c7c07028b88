package io.loragate.api.rest;

import io.quarkus.smallrye.openapi.OpenApiFilter;
import org.eclipse.microprofile.openapi.OASFactory;
import org.eclipse.microprofile.openapi.OASFilter;
import org.eclipse.microprofile.openapi.models.parameters.RequestBody;

/**
 * Leaves a request body that names its schema ({@code @RequestBody} with a record) with the
 * reference alone: for multipart methods the scanner merges in the {@code @RestForm} parameters
 * ({@code FileUpload} without its binary format), which client generators would read instead.
 */
@OpenApiFilter(OpenApiFilter.RunStage.BUILD)
public class OpenApiFormBodies implements OASFilter {

    @Override
    public RequestBody filterRequestBody(RequestBody body) {
        if (body.getContent() == null || body.getContent().getMediaTypes() == null) {
            return body;
        }
        body.getContent().getMediaTypes().values().forEach(media -> {
            if (media.getSchema() != null && media.getSchema().getRef() != null) {
                media.setSchema(OASFactory.createSchema().ref(media.getSchema().getRef()));
            }
        });
        return body;
    }
}
