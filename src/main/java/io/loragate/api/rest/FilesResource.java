package io.loragate.api.rest;

import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import io.loragate.service.DatasetService;
import io.loragate.service.DatasetView;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.StreamingOutput;
import org.jboss.resteasy.reactive.RestForm;
import org.jboss.resteasy.reactive.multipart.FileUpload;
import io.loragate.api.rest.dto.FileSchemas;
import io.loragate.api.rest.dto.CommonSchemas;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;

/**
 * OpenAI-compatible files ({@code /v1/files}): datasets for fine-tuning, each answered as OpenAI's
 * file object plus its preflight validation {@code report}. Uploads arrive as multipart; Quarkus has
 * already streamed the part to a temporary file, which is streamed on into the store.
 */
@Path("/v1/files")
@Produces(MediaType.APPLICATION_JSON)
public class FilesResource {

    private final DatasetService datasets;
    private final TenantResolver tenants;

    public FilesResource(DatasetService datasets, TenantResolver tenants) {
        this.datasets = datasets;
        this.tenants = tenants;
    }

    /** Multipart: {@code file} (JSON Lines), {@code purpose} ({@code fine-tune}). */
    @POST
    @Consumes(MediaType.MULTIPART_FORM_DATA)
    @RequestBody(required = true,
            content = @Content(mediaType = MediaType.MULTIPART_FORM_DATA,
                    schema = @Schema(implementation = FileSchemas.FileUpload.class)))
    @APIResponse(responseCode = "200", description = "The stored file with its validation report",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = FileSchemas.FileObject.class)))
    public FileSchemas.FileObject upload(@RestForm("file") FileUpload file, @RestForm("purpose") String purpose) {
        if (file == null) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "part 'file' (the JSON Lines dataset) is missing").withParam("file");
        }
        return upload(tenants.tenant(), file.fileName(), purpose, file.uploadedFile());
    }

    /** The upload itself, for {@link UploadRoutes} (which streams the part to a file without a worker thread). */
    FileSchemas.FileObject upload(String tenant, String filename, String purpose, java.nio.file.Path file) {
        return view(datasets.upload(tenant, filename, purpose, file));
    }

    @GET
    @APIResponse(responseCode = "200", description = "The caller's files",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = FileSchemas.FileList.class)))
    public FileSchemas.FileList list() {
        return new FileSchemas.FileList("list", datasets.list(tenants.tenant()).stream().map(f -> view(f)).toList());
    }

    /** The file object; {@code ?max_length=n} recomputes the report's truncation count for another length. */
    @GET
    @Path("{id}")
    @APIResponse(responseCode = "200", description = "The file with its validation report",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = FileSchemas.FileObject.class)))
    public FileSchemas.FileObject get(@PathParam("id") String id, @QueryParam("max_length") String maxLength) {
        return view(maxLength == null ? datasets.get(tenants.tenant(), id) : datasets.get(tenants.tenant(), id, integer(maxLength)));
    }

    /** The query parameter as a number (the service checks its range). */
    private static int integer(String maxLength) {
        try {
            return Integer.parseInt(maxLength.trim());
        } catch (NumberFormatException e) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "max_length must be a positive integer, got '" + maxLength + "'")
                    .withParam("max_length");
        }
    }

    @DELETE
    @Path("{id}")
    @APIResponse(responseCode = "200", description = "The deleted file",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = CommonSchemas.DeletedObject.class)))
    public CommonSchemas.DeletedObject delete(@PathParam("id") String id) {
        datasets.delete(tenants.tenant(), id);
        return new CommonSchemas.DeletedObject(id, "file", true);
    }

    /** The bytes as uploaded, streamed. */
    @GET
    @Path("{id}/content")
    @Produces(MediaType.APPLICATION_OCTET_STREAM)
    public Response content(@PathParam("id") String id) {
        DatasetService.Download f = datasets.download(tenants.tenant(), id);
        StreamingOutput body = out -> {
            try (var in = f.content()) {
                in.transferTo(out);
            }
        };
        return Response.ok(body, MediaType.APPLICATION_OCTET_STREAM)
                .header("Content-Length", f.bytes())
                .header("Content-Disposition", "attachment; filename=\"" + f.filename().replaceAll("[\"\\\\]", "_") + "\"")
                .build();
    }

    // ---------------------------------------------------------------------------------------------

    private static FileSchemas.FileObject view(DatasetView f) {
        return new FileSchemas.FileObject(f.id(), "file", f.bytes(), f.createdAt(), f.filename(), f.purpose(), f.status(),
                f.report() == null ? null : report(f.report()));
    }

    private static FileSchemas.DatasetReport report(DatasetView.Report r) {
        DatasetView.TokenStats t = r.tokens();
        return new FileSchemas.DatasetReport(r.format(), r.examples(),
                new FileSchemas.TokenStats(t.min(), t.max(), t.mean(), t.p50(), t.p95(), t.total()), r.maxLength(), r.truncated(),
                r.duplicates(), r.labelCounts(), r.errors().stream().map(e -> new FileSchemas.LineError(e.line(), e.reason())).toList(),
                r.errorCount());
    }
}
