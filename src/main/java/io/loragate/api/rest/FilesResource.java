package io.loragate.api.rest;

import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import io.loragate.training.data.DatasetFile;
import io.loragate.training.data.DatasetReport;
import io.loragate.training.data.Datasets;
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
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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

    private final Datasets datasets;
    private final TenantResolver tenants;

    public FilesResource(Datasets datasets, TenantResolver tenants) {
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
    public Map<String, Object> upload(@RestForm("file") FileUpload file, @RestForm("purpose") String purpose) {
        if (file == null) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "part 'file' (the JSON Lines dataset) is missing").withParam("file");
        }
        return upload(tenants.tenant(), file.fileName(), purpose, file.uploadedFile());
    }

    /** The upload itself, for {@link UploadRoutes} (which streams the part to a file without a worker thread). */
    Map<String, Object> upload(String tenant, String filename, String purpose, java.nio.file.Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return view(datasets.upload(tenant, filename, purpose, in));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @GET
    @APIResponse(responseCode = "200", description = "The caller's files",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = FileSchemas.FileList.class)))
    public Map<String, Object> list() {
        List<Object> data = new ArrayList<>();
        for (DatasetFile f : datasets.list(tenants.tenant())) {
            data.add(view(f));
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("object", "list");
        out.put("data", data);
        return out;
    }

    /** The file object; {@code ?max_length=n} recomputes the report's truncation count for another length. */
    @GET
    @Path("{id}")
    @APIResponse(responseCode = "200", description = "The file with its validation report",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = FileSchemas.FileObject.class)))
    public Map<String, Object> get(@PathParam("id") String id, @QueryParam("max_length") String maxLength) {
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
    public Map<String, Object> delete(@PathParam("id") String id) {
        datasets.delete(tenants.tenant(), id);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", id);
        out.put("object", "file");
        out.put("deleted", true);
        return out;
    }

    /** The bytes as uploaded, streamed. */
    @GET
    @Path("{id}/content")
    @Produces(MediaType.APPLICATION_OCTET_STREAM)
    public Response content(@PathParam("id") String id) {
        String tenant = tenants.tenant();
        DatasetFile f = datasets.get(tenant, id);
        InputStream in = datasets.content(tenant, id);
        StreamingOutput body = out -> {
            try (in) {
                in.transferTo(out);
            }
        };
        return Response.ok(body, MediaType.APPLICATION_OCTET_STREAM)
                .header("Content-Length", f.bytes())
                .header("Content-Disposition", "attachment; filename=\"" + f.filename().replaceAll("[\"\\\\]", "_") + "\"")
                .build();
    }

    // ---------------------------------------------------------------------------------------------

    static Map<String, Object> view(DatasetFile f) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", f.id());
        out.put("object", "file");
        out.put("bytes", f.bytes());
        out.put("created_at", f.createdAt());
        out.put("filename", f.filename());
        out.put("purpose", f.purpose());
        out.put("status", f.status());
        out.put("report", f.report() == null ? null : report(f.report()));
        return out;
    }

    static Map<String, Object> report(DatasetReport r) {
        Map<String, Object> tokens = new LinkedHashMap<>();
        tokens.put("min", r.tokens().min());
        tokens.put("max", r.tokens().max());
        tokens.put("mean", r.tokens().mean());
        tokens.put("p50", r.tokens().p50());
        tokens.put("p95", r.tokens().p95());
        tokens.put("total", r.tokens().total());
        List<Object> errors = new ArrayList<>();
        for (DatasetReport.LineError e : r.errors()) {
            Map<String, Object> err = new LinkedHashMap<>();
            err.put("line", e.line());
            err.put("reason", e.reason());
            errors.add(err);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("format", r.format() == null ? null : r.format().wireName());
        out.put("examples", r.examples());
        out.put("tokens", tokens);
        out.put("max_length", r.maxLength());
        out.put("truncated", r.truncated());
        out.put("duplicates", r.duplicates());
        out.put("label_counts", r.labelCounts());
        out.put("errors", errors);
        out.put("error_count", r.errorCount());
        return out;
    }
}
