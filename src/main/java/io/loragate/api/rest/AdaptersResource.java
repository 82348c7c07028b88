package io.loragate.api.rest;

import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import io.loragate.service.AdapterService;
import io.loragate.service.AdapterVersionView;
import io.loragate.service.AdapterView;
import io.loragate.service.RecentRequestRate;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import java.util.Arrays;
import java.time.Duration;
import org.jboss.resteasy.reactive.RestForm;
import org.jboss.resteasy.reactive.multipart.FileUpload;
import io.loragate.api.rest.dto.AdapterSchemas;
import io.loragate.api.rest.dto.CommonSchemas;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;

/**
 * Adapter management (docs/adapters.md): list, get, register (multipart), switch the active
 * version, pin/unpin/load/unload, delete a version. Every call is scoped by the caller's tenant.
 */
@Path("/v1/adapters")
@Produces(MediaType.APPLICATION_JSON)
public class AdaptersResource {

    /** How long {@code POST .../load} waits for a cold load. */
    private static final Duration LOAD_WAIT = Duration.ofSeconds(300);

    private final AdapterService adapters;
    private final TenantResolver tenants;

    public AdaptersResource(AdapterService adapters, TenantResolver tenants) {
        this.adapters = adapters;
        this.tenants = tenants;
    }

    @GET
    @APIResponse(responseCode = "200", description = "The caller's adapters",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = AdapterSchemas.AdapterList.class)))
    public AdapterSchemas.AdapterList list() {
        return new AdapterSchemas.AdapterList("list", adapters.list(tenants.tenant()).stream().map(a -> view(a)).toList());
    }

    @GET
    @Path("{name}")
    @APIResponse(responseCode = "200", description = "The adapter with its versions",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = AdapterSchemas.Adapter.class)))
    public AdapterSchemas.Adapter get(@PathParam("name") String name) {
        return view(adapters.get(tenants.tenant(), name));
    }

    /**
     * Multipart: {@code name} (text), {@code config} (adapter_config.json), {@code weights} (adapter_model.safetensors).
     * Multipart requests are served by {@link UploadRoutes} before they reach here; this method stays for the
     * contract (OpenAPI) and as the fallback.
     */
    @POST
    @Consumes(MediaType.MULTIPART_FORM_DATA)
    @RequestBody(required = true,
            content = @Content(mediaType = MediaType.MULTIPART_FORM_DATA,
                    schema = @Schema(implementation = AdapterSchemas.AdapterUpload.class)))
    @APIResponse(responseCode = "200", description = "The new version",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = AdapterSchemas.AdapterVersion.class)))
    public AdapterSchemas.AdapterVersion register(@RestForm("name") String name, @RestForm("config") FileUpload config,
            @RestForm("weights") FileUpload weights) {
        return register(tenants.tenant(), name, config == null ? null : config.uploadedFile(),
                weights == null ? null : weights.uploadedFile());
    }

    /** The registration itself, for {@link UploadRoutes} (which streams the parts to files without a worker thread). */
    AdapterSchemas.AdapterVersion register(String tenant, String name, java.nio.file.Path config, java.nio.file.Path weights) {
        return versionView(adapters.register(tenant, name, config, weights));
    }

    @PUT
    @Path("{name}/active")
    @Consumes(MediaType.APPLICATION_JSON)
    @RequestBody(required = true,
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = AdapterSchemas.ActivateRequest.class)))
    @APIResponse(responseCode = "200", description = "The version now active",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = AdapterSchemas.AdapterVersion.class)))
    public AdapterSchemas.AdapterVersion setActive(@PathParam("name") String name, com.fasterxml.jackson.databind.JsonNode body) {
        Requests.object(body);
        KnownFields.check(body, "", java.util.Set.of("version"));
        com.fasterxml.jackson.databind.JsonNode v = body.get("version");
        if (v == null || v.isNull()) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "field 'version' is required").withParam("version");
        }
        // strict: 1.5 or "x@1" used to activate version 1 or answer an empty 400
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 1) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "'version' must be a version number (an integer from 1), got " + v)
                    .withParam("version");
        }
        return versionView(adapters.setActive(tenants.tenant(), name, v.asInt()));
    }

    @POST
    @Path("{name}/pin")
    @APIResponse(responseCode = "200", description = "The pinned version",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = AdapterSchemas.AdapterVersion.class)))
    public AdapterSchemas.AdapterVersion pin(@PathParam("name") String name, @QueryParam("version") String version) {
        return versionView(adapters.pin(tenants.tenant(), name, parseVersion(version)));
    }

    @POST
    @Path("{name}/unpin")
    @APIResponse(responseCode = "200", description = "The unpinned version",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = AdapterSchemas.AdapterVersion.class)))
    public AdapterSchemas.AdapterVersion unpin(@PathParam("name") String name, @QueryParam("version") String version) {
        return versionView(adapters.unpin(tenants.tenant(), name, parseVersion(version)));
    }

    /** Loads the active version (or {@code ?version=n}) into the cache and answers once it is resident. */
    @POST
    @Path("{name}/load")
    @APIResponse(responseCode = "200", description = "The version, resident",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = AdapterSchemas.AdapterVersion.class)))
    public AdapterSchemas.AdapterVersion load(@PathParam("name") String name, @QueryParam("version") String version) {
        return versionView(adapters.loadAndWait(tenants.tenant(), target(name, version), LOAD_WAIT));
    }

    /** Drops the active version (or {@code ?version=n}) from the cache; running requests keep their weights. */
    @POST
    @Path("{name}/unload")
    @APIResponse(responseCode = "200", description = "The version, dropped from the cache",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = AdapterSchemas.AdapterVersion.class)))
    public AdapterSchemas.AdapterVersion unload(@PathParam("name") String name, @QueryParam("version") String version) {
        return versionView(adapters.unload(tenants.tenant(), target(name, version)));
    }

    /** {@code DELETE /v1/adapters/{name}@{version}}. */
    @DELETE
    @Path("{id}")
    @APIResponse(responseCode = "200", description = "The deleted version",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = CommonSchemas.DeletedObject.class)))
    public CommonSchemas.DeletedObject delete(@PathParam("id") String id) {
        int at = id.lastIndexOf('@');
        if (at < 0) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "'" + id + "' names no version; delete one version at a time: "
                    + "DELETE /v1/adapters/" + id + "@<version>");
        }
        String name = id.substring(0, at);
        Integer version = parseVersion(id.substring(at + 1));
        adapters.deleteVersion(tenants.tenant(), name, version);
        return new CommonSchemas.DeletedObject(name + "@" + version, "adapter.version", true);
    }

    // ---------------------------------------------------------------------------------------------

    /** The adapter id that {@code name} and {@code ?version=} address. */
    private static String target(String name, String version) {
        Integer v = parseVersion(version);
        return v == null ? name : name + "@" + v;
    }

    private static Integer parseVersion(String s) {
        if (s == null) {
            return null;
        }
        try {
            int v = AdapterService.versionNumber(s); // no spaces, no leading zeros
            if (v >= 1) {
                return v;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new LoragateException(Kind.INVALID_ARGUMENT, "version must be a positive integer, got '" + s + "'")
                .withParam("version");
    }

    private static AdapterSchemas.Adapter view(AdapterView adapter) {
        return new AdapterSchemas.Adapter(adapter.name(), "adapter", adapter.name(), adapter.activeVersion(), adapter.activeId(),
                adapter.pinned(), adapter.versions().stream().map(v -> versionView(v)).toList(),
                recentRequests(adapter.recentRequests()));
    }

    private static AdapterSchemas.RecentRequests recentRequests(RecentRequestRate rate) {
        return new AdapterSchemas.RecentRequests(rate.bucketSeconds(), Arrays.stream(rate.counts()).boxed().toList(), rate.total(),
                rate.perMinute());
    }

    /** {@code version_pinned} is the version's own pin, not the alias's ({@code ?version=n}). */
    private static AdapterSchemas.AdapterVersion versionView(AdapterVersionView v) {
        return new AdapterSchemas.AdapterVersion(v.id(), "adapter.version", v.name(), v.version(), v.active(), v.activeVersion(),
                v.peftType(), v.rank(), v.bytes(), v.sha256(), v.createdAt().getEpochSecond(), v.state(), v.error(), v.pinned(),
                v.versionPinned(), v.loaded());
    }
}
