package io.loragate.api.rest;

import com.fasterxml.jackson.databind.JsonNode;
import io.loragate.service.AdapterDiagnosticsService;
import io.loragate.service.JobCommand;
import io.loragate.service.RecommendationCommand;
import io.loragate.service.SweepCommand;
import io.loragate.service.TrainingBudget;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Parses the REST bodies of fine-tuning jobs, sweeps, recommendations and on-demand diagnostics
 * strictly: unknown fields are refused ({@link KnownFields}) and every bad value names its field.
 * Shared here because a sweep takes a job's hyperparameters and a recommendation's budget.
 */
final class TrainingRequests {

    static final Set<String> JOB_FIELDS = Set.of("model", "training_file", "validation_file", "suffix",
            "seed", "method", "hyperparameters", "publish_if", "activate", "diagnostics");
    static final Set<String> HYPERPARAMETER_FIELDS = Set.of("epochs", "n_epochs", "batch_size",
            "gradient_accumulation_steps", "learning_rate", "warmup_steps", "schedule", "weight_decay", "max_grad_norm",
            "max_seq_length", "eval_every_steps", "checkpoint_every_steps", "early_stopping_patience", "validation_split",
            "pooling");
    static final Set<String> ADAPTER_FIELDS = Set.of("r", "alpha", "lora_alpha", "dropout", "lora_dropout",
            "target_modules", "use_rslora", "method", "layers_to_transform", "num_virtual_tokens", "prompt_init_text",
            "bottleneck_size", "placement", "partial_layers");
    static final Set<String> PUBLISH_IF_FIELDS = Set.of("min_eval_accuracy", "max_eval_loss_ratio",
            "max_forgetting", "min_gain_over_baseline");
    static final Set<String> DIAGNOSTICS_FIELDS = Set.of("reference_file", "layers", "max_examples");

    private TrainingRequests() {
    }

    // --- fine-tuning jobs

    static JobCommand job(JsonNode body) {
        KnownFields.check(body, "", JOB_FIELDS);
        JsonNode method = body.get("method");
        if (method != null && !method.isNull() && !method.isObject()) {
            throw Requests.bad("method", "'method' must be an object");
        }
        JobCommand.Method m = null;
        if (method != null && method.isObject()) {
            String type = Requests.string(method, "type", false);
            Set<String> methodFields = new HashSet<>(Set.of("type", "hyperparameters", "adapter"));
            if (type != null) {
                methodFields.add(type); // OpenAI's {"type": "supervised", "supervised": {...}}
                if (method.path(type).isObject()) {
                    KnownFields.check(method.get(type), "method." + type + ".", Set.of("hyperparameters"));
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
            m = new JobCommand.Method(type, hyperparameters(hyper), adapter(method.get("adapter")));
        } else if (body.get("hyperparameters") != null) {
            m = new JobCommand.Method(null, hyperparameters(body.get("hyperparameters")), null);
        }
        JsonNode gate = body.get("publish_if");
        JobCommand.PublishIf publishIf = null;
        if (gate != null && !gate.isNull()) {
            if (!gate.isObject()) {
                throw Requests.bad("publish_if", "'publish_if' must be an object");
            }
            KnownFields.check(gate, "publish_if.", PUBLISH_IF_FIELDS);
            publishIf = new JobCommand.PublishIf(optionalDouble(gate, "publish_if.", "min_eval_accuracy"),
                    optionalDouble(gate, "publish_if.", "max_eval_loss_ratio"),
                    optionalDouble(gate, "publish_if.", "max_forgetting"),
                    optionalDouble(gate, "publish_if.", "min_gain_over_baseline"));
        }
        JsonNode d = body.get("diagnostics");
        JobCommand.Diagnostics diagnostics = null;
        if (d != null && !d.isNull()) {
            if (!d.isObject()) {
                throw Requests.bad("diagnostics", "'diagnostics' must be an object");
            }
            KnownFields.check(d, "diagnostics.", DIAGNOSTICS_FIELDS);
            diagnostics = new JobCommand.Diagnostics(Requests.string(d, "reference_file", false), layers(d, "diagnostics."),
                    integer(d, "diagnostics.", "max_examples"));
        }
        return new JobCommand(Requests.string(body, "model", true), Requests.string(body, "training_file", true),
                Requests.string(body, "validation_file", false), Requests.string(body, "suffix", true),
                Requests.optionalLong(body, "seed"), m, publishIf, Requests.bool(body, "activate"), diagnostics);
    }

    static JobCommand.Hyperparameters hyperparameters(JsonNode h) {
        if (h == null || h.isNull()) {
            return null;
        }
        String p = "method.hyperparameters.";
        if (!h.isObject()) {
            throw Requests.bad("method.hyperparameters", "'hyperparameters' must be an object");
        }
        KnownFields.check(h, p, HYPERPARAMETER_FIELDS);
        String epochsField = h.hasNonNull("epochs") || !h.hasNonNull("n_epochs") ? "epochs" : "n_epochs"; // OpenAI's name
        boolean autoEpochs = isAuto(h.get(epochsField));
        Integer epochs = autoEpochs ? null : epochs(h, p, epochsField);
        String schedule = h.has("schedule") && !h.get("schedule").isNull() ? text(h, p, "schedule") : null;
        String pooling = h.has("pooling") && !h.get("pooling").isNull() ? text(h, p, "pooling") : null;
        return new JobCommand.Hyperparameters(epochs, optionalInt(h, p, "batch_size"),
                optionalInt(h, p, "gradient_accumulation_steps"), optionalDouble(h, p, "learning_rate"),
                optionalInt(h, p, "warmup_steps"), schedule, optionalDouble(h, p, "weight_decay"),
                optionalDouble(h, p, "max_grad_norm"), optionalInt(h, p, "max_seq_length"), optionalInt(h, p, "eval_every_steps"),
                optionalInt(h, p, "checkpoint_every_steps"), optionalInt(h, p, "early_stopping_patience"),
                optionalDouble(h, p, "validation_split"), pooling, autoEpochs ? Boolean.TRUE : null);
    }

    private static boolean isAuto(JsonNode v) {
        return v != null && v.isTextual() && v.asText().equals("auto");
    }

    /** {@code epochs}: null when absent, else an integer ({@code "auto"} is read before). */
    private static Integer epochs(JsonNode h, String prefix, String field) {
        JsonNode v = h.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw Requests.bad(prefix + field, "'" + field + "' must be \"auto\" or an integer in [1, 1000], got " + v);
        }
        return v.asInt();
    }

    private static JobCommand.AdapterSettings adapter(JsonNode a) {
        if (a == null || a.isNull()) {
            return null;
        }
        String p = "method.adapter.";
        if (!a.isObject()) {
            throw Requests.bad("method.adapter", "'adapter' must be an object");
        }
        KnownFields.check(a, p, ADAPTER_FIELDS);
        List<String> targets = targetModules(a, p);
        Boolean rslora = useRslora(a, p);
        Double alpha = optionalDouble(a, p, "alpha");
        if (alpha == null) {
            alpha = optionalDouble(a, p, "lora_alpha");
        }
        Double dropout = optionalDouble(a, p, "dropout");
        if (dropout == null) {
            dropout = optionalDouble(a, p, "lora_dropout");
        }
        String method = optionalText(a, p, "method");
        List<Integer> layers = layersToTransform(a, p);
        return new JobCommand.AdapterSettings(optionalInt(a, p, "r"), alpha, dropout, targets, rslora, method, layers,
                optionalInt(a, p, "num_virtual_tokens"), optionalText(a, p, "prompt_init_text"), optionalInt(a, p, "bottleneck_size"),
                optionalText(a, p, "placement"), optionalInt(a, p, "partial_layers"));
    }

    /** {@code target_modules}: null when absent, else the module names (each must be a string). */
    private static List<String> targetModules(JsonNode a, String p) {
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
        return targets;
    }

    /** {@code use_rslora}: null when absent; a boolean, not a truthy value. */
    private static Boolean useRslora(JsonNode a, String p) {
        JsonNode rs = a.get("use_rslora");
        if (rs != null && !rs.isNull()) {
            if (!rs.isBoolean()) {
                throw Requests.bad(p + "use_rslora", "'use_rslora' must be true or false");
            }
            return rs.asBoolean();
        }
        return null;
    }

    /** {@code layers_to_transform}: null when absent; one layer index or an array of them, as PEFT takes. */
    private static List<Integer> layersToTransform(JsonNode a, String p) {
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
        return layers;
    }

    // --- recommendations and sweeps

    static RecommendationCommand recommendation(JsonNode body) {
        return new RecommendationCommand(Requests.string(body, "training_file", true), Requests.string(body, "task", false),
                budget(body), integer(body, "", "top_k"), integer(body, "", "epochs"), integer(body, "", "sample_size"));
    }

    static SweepCommand sweep(JsonNode body) {
        List<String> methods = null;
        JsonNode m = body.get("methods");
        if (m != null && !m.isNull()) {
            if (!m.isArray()) {
                throw Requests.bad("methods", "'methods' must be an array of method names");
            }
            methods = new ArrayList<>();
            for (JsonNode n : m) {
                if (!n.isTextual()) {
                    throw Requests.bad("methods", "'methods' must be an array of method names");
                }
                methods.add(n.asText());
            }
        }
        return new SweepCommand(Requests.string(body, "model", true), Requests.string(body, "training_file", true),
                Requests.string(body, "validation_file", false), Requests.string(body, "task", false), methods,
                integer(body, "", "top_k"), hyperparameters(body.get("hyperparameters")), budget(body),
                Requests.optionalLong(body, "seed"), Requests.string(body, "suffix", false));
    }

    private static TrainingBudget budget(JsonNode body) {
        JsonNode b = body.get("budget");
        if (b == null || b.isNull()) {
            return null;
        }
        if (!b.isObject()) {
            throw Requests.bad("budget", "'budget' must be an object");
        }
        Double minutes = null;
        JsonNode m = b.get("max_train_minutes");
        if (m != null && !m.isNull()) {
            if (!m.isNumber()) {
                throw Requests.bad("budget.max_train_minutes", "'max_train_minutes' must be a number, got " + m);
            }
            minutes = m.asDouble();
        }
        Long bytes = null;
        JsonNode n = b.get("max_adapter_bytes");
        if (n != null && !n.isNull()) {
            if (!n.isIntegralNumber() || !n.canConvertToLong()) {
                throw Requests.bad("budget.max_adapter_bytes", "'max_adapter_bytes' must be an integer, got " + n);
            }
            bytes = n.asLong();
        }
        return new TrainingBudget(minutes, bytes);
    }

    // --- on-demand diagnostics

    static AdapterDiagnosticsService.Request diagnostics(JsonNode body) {
        return new AdapterDiagnosticsService.Request(Requests.string(body, "file", true), layers(body, ""),
                integer(body, "", "max_examples"), Requests.string(body, "reference_file", false));
    }

    /** {@code layers}: an array of layer indices, or absent / null. */
    private static List<Integer> layers(JsonNode body, String prefix) {
        JsonNode n = body.get("layers");
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isArray() || n.size() > 1024) {
            throw Requests.bad(prefix + "layers", "'layers' must be an array of layer indices");
        }
        List<Integer> out = new ArrayList<>();
        for (JsonNode x : n) {
            if (!x.isInt()) {
                throw Requests.bad(prefix + "layers", "'layers' must be an array of layer indices");
            }
            out.add(x.asInt());
        }
        return out;
    }

    // --- field readers

    /** An integer, or null when absent or null (no {@code "auto"}). */
    private static Integer integer(JsonNode body, String prefix, String field) {
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw Requests.bad(prefix + field, "'" + field + "' must be an integer, got " + n);
        }
        return n.asInt();
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
        return v != null && v.isTextual() && v.asText().equals("auto") ? null : integer(n, prefix, field);
    }

    /** A number, or null when absent, null or OpenAI's {@code "auto"}. */
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
