package io.loragate.api.rest;

import com.fasterxml.jackson.databind.JsonNode;
import io.loragate.service.JobService;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import io.loragate.api.rest.dto.JobSchemas;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;

/**
 * OpenAI-compatible fine-tuning jobs (docs/datasets-and-jobs.md): create, list (paged, newest first), get, cancel,
 * events (newest first, before a cursor) and checkpoints. Every call is scoped by the caller's tenant.
 */
@Path("/v1/fine_tuning/jobs")
@Produces(MediaType.APPLICATION_JSON)
public class FineTuningJobsResource {

    private final JobService jobs;
    private final TenantResolver tenants;

    public FineTuningJobsResource(JobService jobs, TenantResolver tenants) {
        this.jobs = jobs;
        this.tenants = tenants;
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @RequestBody(required = true,
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = JobSchemas.FineTuningJobRequest.class)))
    @APIResponse(responseCode = "200", description = "The new job (validating_files)",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = JobSchemas.FineTuningJob.class)))
    public JobSchemas.FineTuningJob create(JsonNode body) {
        return JobAnswers.job(jobs.create(tenants.tenant(), TrainingRequests.job(Requests.object(body))));
    }

    @GET
    @APIResponse(responseCode = "200", description = "The caller's jobs, newest first",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = JobSchemas.FineTuningJobList.class)))
    public JobSchemas.FineTuningJobList list(@QueryParam("limit") @DefaultValue("20") int limit, @QueryParam("after") String after) {
        JobService.JobPage page = jobs.list(tenants.tenant(), limit, after);
        return new JobSchemas.FineTuningJobList("list", page.jobs().stream().map(j -> JobAnswers.job(j)).toList(), page.hasMore());
    }

    @GET
    @Path("{id}")
    @APIResponse(responseCode = "200", description = "The job",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = JobSchemas.FineTuningJob.class)))
    public JobSchemas.FineTuningJob get(@PathParam("id") String id) {
        return JobAnswers.job(jobs.get(tenants.tenant(), id));
    }

    @POST
    @Path("{id}/cancel")
    @APIResponse(responseCode = "200", description = "The job, cancelled or already finished",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = JobSchemas.FineTuningJob.class)))
    public JobSchemas.FineTuningJob cancel(@PathParam("id") String id) {
        return JobAnswers.job(jobs.cancel(tenants.tenant(), id));
    }

    /**
     * Events newest first, as OpenAI's API pages them (so {@code list_events(limit=3)} shows the last
     * three); {@code after} is the last (oldest) event id of the previous page.
     */
    @GET
    @Path("{id}/events")
    @APIResponse(responseCode = "200", description = "The job's events, newest first",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = JobSchemas.JobEventList.class)))
    public JobSchemas.JobEventList events(@PathParam("id") String id, @QueryParam("limit") @DefaultValue("100") int limit,
            @QueryParam("after") String after) {
        JobService.EventPage page = jobs.events(tenants.tenant(), id, limit, after);
        return new JobSchemas.JobEventList("list", page.events().stream().map(e -> JobAnswers.event(e)).toList(), page.hasMore());
    }

    @GET
    @Path("{id}/checkpoints")
    @APIResponse(responseCode = "200", description = "The job's checkpoints",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = JobSchemas.JobCheckpointList.class)))
    public JobSchemas.JobCheckpointList checkpoints(@PathParam("id") String id) {
        return new JobSchemas.JobCheckpointList("list",
                jobs.checkpoints(tenants.tenant(), id).stream().map(c -> JobAnswers.checkpoint(c)).toList(), false);
    }
}
