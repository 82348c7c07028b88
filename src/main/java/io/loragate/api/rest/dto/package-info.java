/**
 * The REST API's request and response bodies as records, for the OpenAPI document ({@code /q/openapi})
 * only: the resources still parse by hand (strict, every error naming its field) and build their
 * answers as maps; {@code OpenApiDriftTest} keeps these records equal to what the code reads and writes.
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
