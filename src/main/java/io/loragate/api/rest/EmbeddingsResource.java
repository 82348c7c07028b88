package io.loragate.api.rest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
import java.util.List;
import java.util.Map;
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
    private final ObjectMapper json;

    public EmbeddingsResource(GenerationService generation, AdapterService adapters, TenantResolver tenants, ObjectMapper json) {
        this.generation = generation;
        this.adapters = adapters;
        this.tenants = tenants;
        this.json = json;
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
    public Uni<ObjectNode> embeddings(JsonNode body, @Context HttpServerResponse response) {
        Requests.object(body);
        String model = Requests.string(body, "model", true);
        List<String> input = Requests.strings(body, "input", true);
        String format = Requests.string(body, "encoding_format", false);
        if (format != null && !format.equals("float") && !format.equals("base64")) {
            throw Requests.bad("encoding_format", "encoding_format must be 'float' or 'base64'");
        }
        boolean base64 = "base64".equals(format);
        String pooling = Requests.string(body, "pooling", false);
        return Await.async(generation.embed(tenants.tenant(), model, input, pooling), response).map(r -> embeddingsJson(r, base64));
    }

    /** OpenAI's base64 form (what its Python SDK asks for by default): the float32 values, little-endian. */
    static String base64(float[] vector) {
        java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocate(4 * vector.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (float f : vector) {
            bytes.putFloat(f);
        }
        return java.util.Base64.getEncoder().encodeToString(bytes.array());
    }

    private ObjectNode embeddingsJson(EmbeddingResult r, boolean base64) {
        ObjectNode o = json.createObjectNode();
        o.put("object", "list");
        ArrayNode data = o.putArray("data");
        for (int i = 0; i < r.vectors().size(); i++) {
            ObjectNode d = data.addObject();
            d.put("object", "embedding");
            d.put("index", i);
            if (base64) {
                d.put("embedding", base64(r.vectors().get(i)));
                continue;
            }
            ArrayNode v = d.putArray("embedding");
            for (float f : r.vectors().get(i)) {
                v.add(f);
            }
        }
        o.put("model", r.model());
        usage(o, r.promptTokens());
        return o;
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
    public Uni<ObjectNode> classifications(JsonNode body, @Context HttpServerResponse response) {
        Requests.object(body);
        String model = Requests.string(body, "model", true);
        List<String> input = Requests.strings(body, "input", true);
        String pooling = Requests.string(body, "pooling", false);
        return Await.async(generation.classify(tenants.tenant(), model, input, pooling), response).map(this::classificationsJson);
    }

    private ObjectNode classificationsJson(ClassificationResult r) {
        ObjectNode o = json.createObjectNode();
        o.put("object", "list");
        o.put("model", r.model());
        ArrayNode data = o.putArray("data");
        for (ClassificationResult.Item item : r.items()) {
            ObjectNode d = data.addObject();
            d.put("index", item.index());
            d.put("label", item.label());
            ObjectNode scores = d.putObject("scores");
            for (Map.Entry<String, Double> e : item.scores().entrySet()) {
                scores.put(e.getKey(), e.getValue());
            }
        }
        usage(o, r.promptTokens());
        return o;
    }

    @GET
    @Path("/models")
    @APIResponse(responseCode = "200", description = "The base model and the caller's adapters",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = EmbeddingSchemas.ModelList.class)))
    public ObjectNode models() {
        ObjectNode o = json.createObjectNode();
        o.put("object", "list");
        ArrayNode data = o.putArray("data");
        for (ModelEntry m : adapters.models(tenants.tenant())) {
            ObjectNode d = data.addObject();
            d.put("id", m.id());
            d.put("object", "model");
            d.put("created", m.created());
            d.put("owned_by", m.ownedBy());
            d.put("root", m.root());
            if (m.adapter()) {
                d.put("parent", m.root());
                d.put("active_version", m.version());
            } else {
                d.putNull("parent");
            }
        }
        return o;
    }

    private static void usage(ObjectNode o, int promptTokens) {
        ObjectNode u = o.putObject("usage");
        u.put("prompt_tokens", promptTokens);
        u.put("total_tokens", promptTokens);
    }
}
