package io.loragate.api.rest;

import com.fasterxml.jackson.databind.JsonNode;
import io.loragate.service.CheckpointView;
import io.loragate.service.JobEventView;
import io.loragate.service.JobService;
import io.loragate.service.JobView;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
    public Map<String, Object> create(JsonNode body) {
        return job(jobs.create(tenants.tenant(), TrainingRequests.job(Requests.object(body))));
    }

    @GET
    @APIResponse(responseCode = "200", description = "The caller's jobs, newest first",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = JobSchemas.FineTuningJobList.class)))
    public Map<String, Object> list(@QueryParam("limit") @DefaultValue("20") int limit, @QueryParam("after") String after) {
        JobService.JobPage page = jobs.list(tenants.tenant(), limit, after);
        List<Object> data = new ArrayList<>();
        page.jobs().forEach(j -> data.add(job(j)));
        return Map.of("object", "list", "data", data, "has_more", page.hasMore());
    }

    @GET
    @Path("{id}")
    @APIResponse(responseCode = "200", description = "The job",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = JobSchemas.FineTuningJob.class)))
    public Map<String, Object> get(@PathParam("id") String id) {
        return job(jobs.get(tenants.tenant(), id));
    }

    @POST
    @Path("{id}/cancel")
    @APIResponse(responseCode = "200", description = "The job, cancelled or already finished",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = JobSchemas.FineTuningJob.class)))
    public Map<String, Object> cancel(@PathParam("id") String id) {
        return job(jobs.cancel(tenants.tenant(), id));
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
    public Map<String, Object> events(@PathParam("id") String id, @QueryParam("limit") @DefaultValue("100") int limit,
            @QueryParam("after") String after) {
        JobService.EventPage page = jobs.events(tenants.tenant(), id, limit, after);
        List<Object> data = new ArrayList<>();
        page.events().forEach(e -> data.add(event(e)));
        return Map.of("object", "list", "data", data, "has_more", page.hasMore());
    }

    @GET
    @Path("{id}/checkpoints")
    @APIResponse(responseCode = "200", description = "The job's checkpoints",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = JobSchemas.JobCheckpointList.class)))
    public Map<String, Object> checkpoints(@PathParam("id") String id) {
        List<Object> data = new ArrayList<>();
        for (CheckpointView c : jobs.checkpoints(tenants.tenant(), id)) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("object", "fine_tuning.job.checkpoint");
            m.put("id", c.id());
            m.put("created_at", c.createdAt());
            m.put("fine_tuning_job_id", c.jobId());
            m.put("step_number", c.step());
            m.put("metrics", c.metrics());
            m.put("state_kept", c.stateKept());
            data.add(m);
        }
        return Map.of("object", "list", "data", data, "has_more", false);
    }

    // --- mapping

    private static Map<String, Object> job(JobView j) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("object", "fine_tuning.job");
        m.put("id", j.id());
        m.put("model", j.model());
        m.put("created_at", j.createdAt());
        m.put("finished_at", j.finishedAt());
        m.put("status", j.status());
        m.put("training_file", j.trainingFile());
        m.put("validation_file", j.validationFile());
        m.put("suffix", j.suffix());
        m.put("fine_tuned_model", j.fineTunedModel());
        m.put("seed", j.seed());
        m.put("method", SnakeCaseJson.withNulls(j.method()));
        m.put("hyperparameters", SnakeCaseJson.withNulls(j.method().hyperparameters()));
        m.put("publish_if", j.publishIf());
        m.put("diagnostics", j.diagnostics());
        m.put("activate", j.activate());
        m.put("trained_tokens", j.trainedTokens());
        m.put("progress", Map.of("step", j.completedSteps(), "total_steps", j.totalSteps()));
        // OpenAI's field: Unix seconds, null until the running job has timed a step (and once it stops running)
        m.put("estimated_finish", j.estimatedFinish());
        m.put("error", j.error() == null ? null : Map.of("code", "job_failed", "message", j.error()));
        m.put("report", j.report());
        m.put("result_files", List.of());
        return m;
    }

    private static Map<String, Object> event(JobEventView e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("object", "fine_tuning.job.event");
        m.put("id", e.id());
        m.put("created_at", e.createdAt());
        m.put("level", e.level());
        m.put("message", e.message());
        m.put("type", e.type());
        m.put("data", e.data());
        m.put("status", e.status());
        return m;
    }
}
