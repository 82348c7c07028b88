package io.loragate.api.rest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.loragate.registry.CheckpointRecord;
import io.loragate.registry.JobEventRecord;
import io.loragate.registry.JobRecord;
import io.loragate.training.jobs.FineTuningJobs;
import io.loragate.training.jobs.JobRequest;
import io.loragate.training.jobs.JobSpec;
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

    private static final ObjectMapper JSON = new ObjectMapper();

    private final FineTuningJobs jobs;
    private final TenantResolver tenants;

    public FineTuningJobsResource(FineTuningJobs jobs, TenantResolver tenants) {
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
        return job(jobs.create(tenants.tenant(), request(Requests.object(body))));
    }

    @GET
    @APIResponse(responseCode = "200", description = "The caller's jobs, newest first",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = JobSchemas.FineTuningJobList.class)))
    public Map<String, Object> list(@QueryParam("limit") @DefaultValue("20") int limit, @QueryParam("after") String after) {
        FineTuningJobs.Page page = jobs.list(tenants.tenant(), limit, after);
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
        String tenant = tenants.tenant();
        jobs.get(tenant, id);
        long before = after == null || after.isEmpty() ? Long.MAX_VALUE : FineTuningJobs.eventSeq(id, after);
        List<JobEventRecord> page = jobs.eventsNewestFirst(tenant, id, before, Math.min(limit, 999) + 1);
        List<Object> data = new ArrayList<>();
        for (int i = 0; i < Math.min(limit, page.size()); i++) {
            data.add(event(page.get(i)));
        }
        return Map.of("object", "list", "data", data, "has_more", page.size() > limit);
    }

    @GET
    @Path("{id}/checkpoints")
    @APIResponse(responseCode = "200", description = "The job's checkpoints",
            content = @Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = JobSchemas.JobCheckpointList.class)))
    public Map<String, Object> checkpoints(@PathParam("id") String id) {
        List<Object> data = new ArrayList<>();
        for (CheckpointRecord c : jobs.checkpoints(tenants.tenant(), id)) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("object", "fine_tuning.job.checkpoint");
            m.put("id", c.publicId());
            m.put("created_at", c.created().getEpochSecond());
            m.put("fine_tuning_job_id", id);
            m.put("step_number", c.step());
            m.put("metrics", tree(c.metricsJson()));
            m.put("state_kept", c.hasState());
            data.add(m);
        }
        return Map.of("object", "list", "data", data, "has_more", false);
    }

    // --- mapping

    static Map<String, Object> job(JobRecord j) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("object", "fine_tuning.job");
        m.put("id", j.id());
        m.put("model", j.model());
        m.put("created_at", j.created().getEpochSecond());
        m.put("finished_at", j.finished() == null ? null : j.finished().getEpochSecond());
        m.put("status", j.status());
        m.put("training_file", j.trainingFile());
        m.put("validation_file", j.validationFile());
        m.put("suffix", j.suffix());
        m.put("fine_tuned_model", j.fineTunedModel());
        m.put("seed", j.seed());
        JobSpec spec = JobSpec.fromJson(j.methodJson());
        m.put("method", JSON.valueToTree(spec));
        m.put("hyperparameters", JSON.valueToTree(spec.hyperparameters()));
        m.put("publish_if", j.publishIfJson() == null ? null : tree(j.publishIfJson()));
        m.put("diagnostics", j.diagnosticsJson() == null ? null : tree(j.diagnosticsJson()));
        m.put("activate", j.activate());
        m.put("trained_tokens", j.trainedTokens());
        m.put("progress", Map.of("step", j.completedSteps(), "total_steps", j.totalSteps()));
        // OpenAI's field: Unix seconds, null until the running job has timed a step (and once it stops running)
        m.put("estimated_finish", j.estimatedFinish() == null ? null : j.estimatedFinish().getEpochSecond());
        m.put("error", j.error() == null ? null : Map.of("code", "job_failed", "message", j.error()));
        m.put("report", j.reportJson() == null ? null : tree(j.reportJson()));
        m.put("result_files", List.of());
        return m;
    }

    static Map<String, Object> event(JobEventRecord e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("object", "fine_tuning.job.event");
        m.put("id", e.id());
        m.put("created_at", e.created().getEpochSecond());
        m.put("level", e.level());
        m.put("message", e.message());
        m.put("type", e.type());
        m.put("data", e.dataJson() == null ? null : tree(e.dataJson()));
        m.put("status", e.status());
        return m;
    }

    private static JsonNode tree(String json) {
        try {
            return JSON.readTree(json);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("stored JSON is unreadable", e);
        }
    }

    // --- request parsing: every bad value names its field

    static final java.util.Set<String> JOB_FIELDS = java.util.Set.of("model", "training_file", "validation_file", "suffix",
            "seed", "method", "hyperparameters", "publish_if", "activate", "diagnostics");
    static final java.util.Set<String> HYPERPARAMETER_FIELDS = java.util.Set.of("epochs", "n_epochs", "batch_size",
            "gradient_accumulation_steps", "learning_rate", "warmup_steps", "schedule", "weight_decay", "max_grad_norm",
            "max_seq_length", "eval_every_steps", "checkpoint_every_steps", "early_stopping_patience", "validation_split");
    static final java.util.Set<String> ADAPTER_FIELDS = java.util.Set.of("r", "alpha", "lora_alpha", "dropout", "lora_dropout",
            "target_modules", "use_rslora", "method", "layers_to_transform", "num_virtual_tokens", "prompt_init_text",
            "bottleneck_size", "placement", "partial_layers");
    static final java.util.Set<String> PUBLISH_IF_FIELDS = java.util.Set.of("min_eval_accuracy", "max_eval_loss_ratio",
            "max_forgetting", "min_gain_over_baseline");
    static final java.util.Set<String> DIAGNOSTICS_FIELDS = java.util.Set.of("reference_file", "layers", "max_examples");

    static JobRequest request(JsonNode body) {
        KnownFields.check(body, "", JOB_FIELDS);
        JsonNode method = body.get("method");
        if (method != null && !method.isNull() && !method.isObject()) {
            throw Requests.bad("method", "'method' must be an object");
        }
        JobRequest.Method m = null;
        if (method != null && method.isObject()) {
            String type = Requests.string(method, "type", false);
            java.util.Set<String> methodFields = new java.util.HashSet<>(java.util.Set.of("type", "hyperparameters", "adapter"));
            if (type != null) {
                methodFields.add(type); // OpenAI's {"type": "supervised", "supervised": {...}}
                if (method.path(type).isObject()) {
                    KnownFields.check(method.get(type), "method." + type + ".", java.util.Set.of("hyperparameters"));
                }
            }
            KnownFields.check(method, "method.", methodFields);
            JsonNode hyper = method.get("hyperparameters");
            // OpenAI nests them under the type: {"type":"supervised","supervised":{"hyperparameters":{...}}}
            if ((hyper == null || hyper.isNull()) && type != null && method.path(type).isObject()) {
                hyper = method.path(type).get("hyperparameters");
            }
            if ((hyper == null || hyper.isNull()) && body.get("hyperparameters") != null) {
                hyper = body.get("hyperparameters");
            }
            m = new JobRequest.Method(type, hyperparameters(hyper), adapter(method.get("adapter")));
        } else if (body.get("hyperparameters") != null) {
            m = new JobRequest.Method(null, hyperparameters(body.get("hyperparameters")), null);
        }
        JsonNode gate = body.get("publish_if");
        JobRequest.PublishIf publishIf = null;
        if (gate != null && !gate.isNull()) {
            if (!gate.isObject()) {
                throw Requests.bad("publish_if", "'publish_if' must be an object");
            }
            KnownFields.check(gate, "publish_if.", PUBLISH_IF_FIELDS);
            publishIf = new JobRequest.PublishIf(optionalDouble(gate, "publish_if.", "min_eval_accuracy"),
                    optionalDouble(gate, "publish_if.", "max_eval_loss_ratio"),
                    optionalDouble(gate, "publish_if.", "max_forgetting"),
                    optionalDouble(gate, "publish_if.", "min_gain_over_baseline"));
        }
        JsonNode d = body.get("diagnostics");
        JobRequest.Diagnostics diagnostics = null;
        if (d != null && !d.isNull()) {
            if (!d.isObject()) {
                throw Requests.bad("diagnostics", "'diagnostics' must be an object");
            }
            KnownFields.check(d, "diagnostics.", DIAGNOSTICS_FIELDS);
            diagnostics = new JobRequest.Diagnostics(Requests.string(d, "reference_file", false),
                    DiagnosticsResource.layers(d, "diagnostics."), DiagnosticsResource.optionalInt(d, "diagnostics.", "max_examples"));
        }
        return new JobRequest(Requests.string(body, "model", true), Requests.string(body, "training_file", true),
                Requests.string(body, "validation_file", false), Requests.string(body, "suffix", true),
                Requests.optionalLong(body, "seed"), m, publishIf, Requests.bool(body, "activate"), diagnostics);
    }

    static JobRequest.Hyperparameters hyperparameters(JsonNode h) {
        if (h == null || h.isNull()) {
            return null;
        }
        String p = "method.hyperparameters.";
        if (!h.isObject()) {
            throw Requests.bad("method.hyperparameters", "'hyperparameters' must be an object");
        }
        KnownFields.check(h, p, HYPERPARAMETER_FIELDS);
        Integer epochs = optionalInt(h, p, "epochs");
        if (epochs == null) {
            epochs = optionalInt(h, p, "n_epochs"); // OpenAI's name
        }
        String schedule = h.has("schedule") && !h.get("schedule").isNull() ? text(h, p, "schedule") : null;
        return new JobRequest.Hyperparameters(epochs, optionalInt(h, p, "batch_size"),
                optionalInt(h, p, "gradient_accumulation_steps"), optionalDouble(h, p, "learning_rate"),
                optionalInt(h, p, "warmup_steps"), schedule, optionalDouble(h, p, "weight_decay"),
                optionalDouble(h, p, "max_grad_norm"), optionalInt(h, p, "max_seq_length"), optionalInt(h, p, "eval_every_steps"),
                optionalInt(h, p, "checkpoint_every_steps"), optionalInt(h, p, "early_stopping_patience"),
                optionalDouble(h, p, "validation_split"));
    }

    private static JobRequest.AdapterSettings adapter(JsonNode a) {
        if (a == null || a.isNull()) {
            return null;
        }
        String p = "method.adapter.";
        if (!a.isObject()) {
            throw Requests.bad("method.adapter", "'adapter' must be an object");
        }
        KnownFields.check(a, p, ADAPTER_FIELDS);
        List<String> targets = null;
        JsonNode t = a.get("target_modules");
        if (t != null && !t.isNull()) {
            targets = new ArrayList<>();
            if (!t.isArray()) {
                throw Requests.bad(p + "target_modules", "'target_modules' must be an array of module names");
            }
            for (JsonNode n : t) {
                if (!n.isTextual()) {
                    throw Requests.bad(p + "target_modules", "'target_modules' must be an array of module names");
                }
                targets.add(n.asText());
            }
        }
        Boolean rslora = null;
        JsonNode rs = a.get("use_rslora");
        if (rs != null && !rs.isNull()) {
            if (!rs.isBoolean()) {
                throw Requests.bad(p + "use_rslora", "'use_rslora' must be true or false");
            }
            rslora = rs.asBoolean();
        }
        Double alpha = optionalDouble(a, p, "alpha");
        if (alpha == null) {
            alpha = optionalDouble(a, p, "lora_alpha");
        }
        Double dropout = optionalDouble(a, p, "dropout");
        if (dropout == null) {
            dropout = optionalDouble(a, p, "lora_dropout");
        }
        String method = optionalText(a, p, "method");
        List<Integer> layers = null;
        JsonNode lt = a.get("layers_to_transform");
        if (lt != null && !lt.isNull()) {
            if (lt.isInt()) {
                layers = List.of(lt.asInt());
            } else if (lt.isArray()) {
                layers = new ArrayList<>();
                for (JsonNode n : lt) {
                    if (!n.isInt()) {
                        throw Requests.bad(p + "layers_to_transform", "'layers_to_transform' must be a layer index or an array of them");
                    }
                    layers.add(n.asInt());
                }
            } else {
                throw Requests.bad(p + "layers_to_transform", "'layers_to_transform' must be a layer index or an array of them");
            }
        }
        return new JobRequest.AdapterSettings(optionalInt(a, p, "r"), alpha, dropout, targets, rslora, method, layers,
                optionalInt(a, p, "num_virtual_tokens"), optionalText(a, p, "prompt_init_text"), optionalInt(a, p, "bottleneck_size"),
                optionalText(a, p, "placement"), optionalInt(a, p, "partial_layers"));
    }

    /** A string, or null when absent or null. */
    private static String optionalText(JsonNode n, String prefix, String field) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw Requests.bad(prefix + field, "'" + field + "' must be a string");
        }
        return v.asText();
    }

    /** An integer, or null when absent, null or OpenAI's {@code "auto"}. */
    private static Integer optionalInt(JsonNode n, String prefix, String field) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull() || (v.isTextual() && v.asText().equals("auto"))) {
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw Requests.bad(prefix + field, "'" + field + "' must be an integer, got " + v);
        }
        return v.asInt();
    }

    private static Double optionalDouble(JsonNode n, String prefix, String field) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull() || (v.isTextual() && v.asText().equals("auto"))) {
            return null;
        }
        if (!v.isNumber()) {
            throw Requests.bad(prefix + field, "'" + field + "' must be a number, got " + v);
        }
        return v.asDouble();
    }

    private static String text(JsonNode n, String prefix, String field) {
        JsonNode v = n.get(field);
        if (!v.isTextual()) {
            throw Requests.bad(prefix + field, "'" + field + "' must be a string, got " + v);
        }
        return v.asText();
    }
}
