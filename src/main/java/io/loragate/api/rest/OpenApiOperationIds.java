package io.loragate.api.rest;

import io.quarkus.smallrye.openapi.OpenApiFilter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.eclipse.microprofile.openapi.OASFactory;
import org.eclipse.microprofile.openapi.OASFilter;
import org.eclipse.microprofile.openapi.models.OpenAPI;
import org.eclipse.microprofile.openapi.models.PathItem;
import org.eclipse.microprofile.openapi.models.tags.Tag;

/**
 * Names every operation of the document (OpenAI's names where OpenAI has the endpoint), so that
 * a generated client gets {@code createCompletion} rather than {@code v1CompletionsPost}, and
 * groups them by resource (tags: a generated client's API classes) instead of by Java class.
 * {@code OpenApiDocumentTest} checks that no {@code /v1} operation is left without a name.
 */
@OpenApiFilter(OpenApiFilter.RunStage.BUILD)
public class OpenApiOperationIds implements OASFilter {

    static final Map<String, String> IDS = Map.ofEntries(
            Map.entry("POST /v1/completions", "createCompletion"),
            Map.entry("POST /v1/chat/completions", "createChatCompletion"),
            Map.entry("POST /v1/embeddings", "createEmbedding"),
            Map.entry("POST /v1/classifications", "createClassification"),
            Map.entry("GET /v1/models", "listModels"),
            Map.entry("POST /v1/adapters", "registerAdapter"),
            Map.entry("GET /v1/adapters", "listAdapters"),
            Map.entry("GET /v1/adapters/{name}", "retrieveAdapter"),
            Map.entry("DELETE /v1/adapters/{id}", "deleteAdapterVersion"),
            Map.entry("PUT /v1/adapters/{name}/active", "activateAdapterVersion"),
            Map.entry("POST /v1/adapters/{name}/pin", "pinAdapter"),
            Map.entry("POST /v1/adapters/{name}/unpin", "unpinAdapter"),
            Map.entry("POST /v1/adapters/{name}/load", "loadAdapter"),
            Map.entry("POST /v1/adapters/{name}/unload", "unloadAdapter"),
            Map.entry("POST /v1/adapters/{id}/diagnostics", "createAdapterDiagnostics"),
            Map.entry("POST /v1/files", "createFile"),
            Map.entry("GET /v1/files", "listFiles"),
            Map.entry("GET /v1/files/{id}", "retrieveFile"),
            Map.entry("DELETE /v1/files/{id}", "deleteFile"),
            Map.entry("GET /v1/files/{id}/content", "downloadFile"),
            Map.entry("POST /v1/fine_tuning/jobs", "createFineTuningJob"),
            Map.entry("GET /v1/fine_tuning/jobs", "listPaginatedFineTuningJobs"),
            Map.entry("GET /v1/fine_tuning/jobs/{id}", "retrieveFineTuningJob"),
            Map.entry("POST /v1/fine_tuning/jobs/{id}/cancel", "cancelFineTuningJob"),
            Map.entry("GET /v1/fine_tuning/jobs/{id}/events", "listFineTuningEvents"),
            Map.entry("GET /v1/fine_tuning/jobs/{id}/checkpoints", "listFineTuningJobCheckpoints"),
            Map.entry("POST /v1/fine_tuning/sweeps", "createSweep"),
            Map.entry("GET /v1/fine_tuning/sweeps", "listSweeps"),
            Map.entry("GET /v1/fine_tuning/sweeps/{id}", "retrieveSweep"),
            Map.entry("POST /v1/fine_tuning/sweeps/{id}/cancel", "cancelSweep"),
            Map.entry("POST /v1/recommendations", "createRecommendation"),
            Map.entry("POST /v1/admin/tenants", "createTenant"),
            Map.entry("GET /v1/admin/tenants", "listTenants"),
            Map.entry("GET /v1/admin/tenants/{id}", "retrieveTenant"),
            Map.entry("DELETE /v1/admin/tenants/{id}", "deleteTenant"),
            Map.entry("POST /v1/admin/tenants/{id}/rotate", "rotateTenantKey"),
            Map.entry("PUT /v1/admin/tenants/{id}/quotas", "setTenantQuotas"));

    /** Tag by path prefix, most specific first. */
    static final List<Map.Entry<String, String>> TAGS = List.of(
            Map.entry("/v1/fine_tuning/sweeps", "Sweeps"),
            Map.entry("/v1/fine_tuning/jobs", "Fine-tuning"),
            Map.entry("/v1/chat", "Chat"),
            Map.entry("/v1/completions", "Completions"),
            Map.entry("/v1/embeddings", "Embeddings"),
            Map.entry("/v1/classifications", "Classifications"),
            Map.entry("/v1/models", "Models"),
            Map.entry("/v1/adapters", "Adapters"),
            Map.entry("/v1/files", "Files"),
            Map.entry("/v1/recommendations", "Recommendations"),
            Map.entry("/v1/admin", "Tenants"));

    @Override
    public void filterOpenAPI(OpenAPI openAPI) {
        if (openAPI.getPaths() == null || openAPI.getPaths().getPathItems() == null) {
            return;
        }
        Set<String> used = new TreeSet<>();
        for (Map.Entry<String, PathItem> path : openAPI.getPaths().getPathItems().entrySet()) {
            String tag = TAGS.stream().filter(t -> path.getKey().startsWith(t.getKey())).map(Map.Entry::getValue).findFirst()
                    .orElse(null);
            path.getValue().getOperations().forEach((method, op) -> {
                String id = IDS.get(method.name() + " " + path.getKey());
                if (id != null && op.getOperationId() == null) {
                    op.setOperationId(id);
                }
                if (tag != null) {
                    op.setTags(new ArrayList<>(List.of(tag)));
                    used.add(tag);
                }
            });
        }
        if (!used.isEmpty()) {
            List<Tag> tags = new ArrayList<>();
            used.forEach(t -> tags.add(OASFactory.createTag().name(t)));
            openAPI.setTags(tags);
        }
    }
}
