package io.loragate.it;

import static org.hamcrest.Matchers.containsString;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The packaged gateway (production profile, where Quarkus leaves Swagger UI out unless told) serves
 * the typed OpenAPI document and Swagger UI, and keeps them open like {@code /q/health} while
 * authentication guards {@code /v1}.
 */
class OpenApiProductionIT {

    private Gateway gateway;

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    @Test
    void swaggerUiAndTheDocumentAnswerInProduction() throws Exception {
        Path data = Files.createTempDirectory(Path.of("target"), "it-openapi-");
        gateway = new Gateway(data, "loragate.auth.enabled=true", "loragate.auth.admin-key=it-admin-key-openapi");
        gateway.start();
        gateway.api().get("/v1/models").then().statusCode(401);
        gateway.api().get("/q/swagger-ui/").then().statusCode(200).body(containsString("swagger-ui"));
        gateway.api().get("/q/openapi?format=json").then().statusCode(200)
                .body(containsString("\"CompletionRequest\""))
                .body(containsString("#/components/schemas/ErrorResponse"));
    }
}
