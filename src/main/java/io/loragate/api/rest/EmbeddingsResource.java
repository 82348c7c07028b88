package io.loragate.api.rest;

import com.fasterxml.jackson.databind.JsonNode;
import io.loragate.service.AdapterService;
import io.loragate.service.ClassificationResult;
import io.loragate.service.EmbeddingResult;
import io.loragate.service.GenerationService;
import io.loragate.service.ModelEntry;
import io.smallrye.common.annotation.Blocking;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import io.smallrye.mutiny.Uni;
import io.vertx.core.http.HttpServerResponse;
import java.util.ArrayList;
import java.util.List;
import io.loragate.api.rest.dto.CommonSchemas;
import io.loragate.api.rest.dto.EmbeddingSchemas;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;

/** {@code /v1/embeddings}, {@code /v1/classifications} and {@code /v1/models}. */
@Path("/v1")
@Produces(MediaType.APPLICATION_JSON)
public class EmbeddingsResource {

    private final GenerationService generation;
    private final AdapterService adapters;
    private final TenantResolver tenants;

    public EmbeddingsResource(GenerationService generation, AdapterService adapters, TenantResolver tenants) {
        this.generation = generation;
        this.adapters = adapters;
        this.tenants = tenants;
    }

    @POST
    @Path("/embeddings")
    @Blocking
    @Consumes(MediaType.APPLICATION_JSON)
    @RequestBody(required = true,
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = EmbeddingSchemas.EmbeddingRequest.class)))
    @APIResponse(responseCode = "200", description = "One vector per input",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = EmbeddingSchemas.EmbeddingList.class)))
    public Uni<EmbeddingSchemas.EmbeddingList> embeddings(JsonNode body, @Context HttpServerResponse response) {
        Requests.object(body);
        String model = Requests.string(body, "model", true);
        List<String> input = Requests.strings(body, "input", true);
        String format = Requests.string(body, "encoding_format", false);
        if (format != null && !format.equals("float") && !format.equals("base64")) {
            throw Requests.bad("encoding_format", "encoding_format must be 'float' or 'base64'");
        }
        boolean base64 = "base64".equals(format);
        String pooling = Requests.string(body, "pooling", false);
        return Await.async(generation.embed(tenants.tenant(), model, input, pooling), response).map(r -> embeddingList(r, base64));
    }

    /** OpenAI's base64 form (what its Python SDK asks for by default): the float32 values, little-endian. */
    static String base64(float[] vector) {
        java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocate(4 * vector.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (float f : vector) {
            bytes.putFloat(f);
        }
        return java.util.Base64.getEncoder().encodeToString(bytes.array());
    }

    private static EmbeddingSchemas.EmbeddingList embeddingList(EmbeddingResult r, boolean base64) {
        List<EmbeddingSchemas.Embedding> data = new ArrayList<>();
        for (int i = 0; i < r.vectors().size(); i++) {
            float[] vector = r.vectors().get(i);
            data.add(new EmbeddingSchemas.Embedding("embedding", i, base64 ? base64(vector) : vector));
        }
        return new EmbeddingSchemas.EmbeddingList("list", data, r.model(), usage(r.promptTokens()));
    }

    @POST
    @Path("/classifications")
    @Blocking
    @Consumes(MediaType.APPLICATION_JSON)
    @RequestBody(required = true,
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = EmbeddingSchemas.ClassificationRequest.class)))
    @APIResponse(responseCode = "200", description = "One label and its scores per input",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = EmbeddingSchemas.ClassificationList.class)))
    public Uni<EmbeddingSchemas.ClassificationList> classifications(JsonNode body, @Context HttpServerResponse response) {
        Requests.object(body);
        String model = Requests.string(body, "model", true);
        List<String> input = Requests.strings(body, "input", true);
        String pooling = Requests.string(body, "pooling", false);
        return Await.async(generation.classify(tenants.tenant(), model, input, pooling), response).map(EmbeddingsResource::classificationList);
    }

    private static EmbeddingSchemas.ClassificationList classificationList(ClassificationResult r) {
        return new EmbeddingSchemas.ClassificationList("list", r.model(), r.items().stream()
                .map(item -> new EmbeddingSchemas.Classification(item.index(), item.label(), item.scores())).toList(),
                usage(r.promptTokens()));
    }

    @GET
    @Path("/models")
    @APIResponse(responseCode = "200", description = "The base model and the caller's adapters",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = EmbeddingSchemas.ModelList.class)))
    public EmbeddingSchemas.ModelList models() {
        return new EmbeddingSchemas.ModelList("list", adapters.models(tenants.tenant()).stream().map(m -> model(m)).toList());
    }

    /** An adapter's parent is the base model it adapts; the base has none. */
    private static EmbeddingSchemas.Model model(ModelEntry m) {
        return new EmbeddingSchemas.Model(m.id(), "model", m.created(), m.ownedBy(), m.root(), m.adapter() ? m.root() : null,
                m.adapter() ? m.version() : null);
    }

    /** Embeddings and classifications count only prompt tokens. */
    private static CommonSchemas.Usage usage(int promptTokens) {
        return new CommonSchemas.Usage(promptTokens, null, promptTokens);
    }
}
