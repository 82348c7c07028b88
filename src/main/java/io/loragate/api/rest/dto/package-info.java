/**
 * The REST API's request and response bodies as records, which the OpenAPI document ({@code /q/openapi})
 * shows. The resources answer the response records as they are (each record writes its fields in
 * snake_case, {@code @JsonNaming}, leaving out only those marked {@code NON_NULL} when null); requests
 * are still parsed by hand (strict, every error naming its field) into the services' commands.
 * {@code OpenApiDriftTest} keeps these records equal to what the code reads and writes.
 * The definition below is the document's header: the bearer-key scheme (Swagger UI's "Authorize"
 * button) and the error schema that {@code OpenApiErrors} attaches to every operation.
 */
@OpenAPIDefinition(
        info = @Info(title = "loragate", version = "v1",
                description = "OpenAI-compatible inference with adapters, adapter management and on-line fine-tuning"),
        security = @SecurityRequirement(name = "bearer"),
        components = @Components(
                securitySchemes = @SecurityScheme(securitySchemeName = "bearer", type = SecuritySchemeType.HTTP, scheme = "bearer",
                        description = "A tenant's API key (or the admin key for /v1/admin) when loragate.auth.enabled=true"),
                schemas = @Schema(name = "ErrorResponse", implementation = ErrorSchemas.ErrorResponse.class)))
package io.loragate.api.rest.dto;

import org.eclipse.microprofile.openapi.annotations.Components;
import org.eclipse.microprofile.openapi.annotations.OpenAPIDefinition;
import org.eclipse.microprofile.openapi.annotations.enums.SecuritySchemeType;
import org.eclipse.microprofile.openapi.annotations.info.Info;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.security.SecurityRequirement;
import org.eclipse.microprofile.openapi.annotations.security.SecurityScheme;
