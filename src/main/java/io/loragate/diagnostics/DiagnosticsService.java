package io.loragate.diagnostics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.adapter.LoraAdapter;
import io.loragate.adapter.MultiLoraHook;
import io.loragate.config.LoragateConfig;
import io.loragate.model.AdapterHook;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.model.EncoderModel;
import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import io.loragate.model.TextTokenizer;
import io.loragate.registry.AdapterCache;
import io.loragate.registry.AdapterLease;
import io.loragate.registry.AdapterRegistry;
import io.loragate.registry.AdapterVersion;
import io.loragate.runtime.ChatTemplate;
import io.loragate.runtime.ResidentModel;
import io.loragate.training.data.CausalExamples;
import io.loragate.training.data.ClassificationExample;
import io.loragate.training.data.DatasetExample;
import io.loragate.training.data.Datasets;
import io.loragate.training.data.TrainingExample;
import io.loragate.training.jobs.JobDiagnostics;
import io.loragate.training.jobs.JobSpec;
import io.loragate.training.trainer.EvalMetrics;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs {@link Diagnostics} for a finished job's report ({@link JobDiagnostics}) and on demand for any
 * adapter version of a tenant ({@code POST /v1/adapters/{id}/diagnostics}): resolves the options,
 * tokenizes the data, loads the forgetting reference and, on demand, leases the adapter's weights.
 * One on-demand run at a time (another gets 429): each is bounded by the example and layer caps.
 */
@ApplicationScoped
public class DiagnosticsService implements JobDiagnostics {

    /** The built-in forgetting reference, written for this project (general English prose). */
    public static final String BUILT_IN_REFERENCE = "/diagnostics/reference.txt";

    /** Seed of the on-demand split of a classification file into probe-training and held-out halves. */
    static final long SPLIT_SEED = 0xd1a6L;

    private static final long LOAD_WAIT_SECONDS = 300;

    private final ResidentModel resident;
    private final Datasets datasets;
    private final AdapterRegistry registry;
    private final AdapterCache cache;
    private final LoragateConfig config;
    private final Semaphore onDemand = new Semaphore(1);

    public DiagnosticsService(ResidentModel resident, Datasets datasets, AdapterRegistry registry, AdapterCache cache,
            LoragateConfig config) {
        this.resident = resident;
        this.datasets = datasets;
        this.registry = registry;
        this.cache = cache;
        this.config = config;
    }

    /** On-demand options: every field optional. */
    public record Request(String file, List<Integer> layers, Integer maxExamples, String referenceFile) {
    }

    // ---------------------------------------------------------------------------------------------
    // Jobs

    @Override
    public Outcome run(Input in) {
        JsonNode options = in.job().diagnosticsJson() == null ? Diagnostics.JSON.createObjectNode()
                : read(in.job().diagnosticsJson());
        Diagnostics.Settings settings = settings(layers(options.get("layers")),
                options.has("max_examples") ? options.get("max_examples").asInt() : null);
        String referenceFile = options.has("reference_file") ? options.get("reference_file").asText() : null;
        BaseModel base = resident.model();
        // examples longer than the model's context are cut to it, as the job's training cut them
        int maxLength = Math.min(in.spec().hyperparameters().maxSeqLength(), base.config().maxPositions());
        Diagnostics.Reference reference = base instanceof CausalModel ? reference(in.job().tenant(), referenceFile,
                maxLength, settings.maxExamples()) : null;
        Diagnostics.Result r;
        if (in.spec().type().equals(JobSpec.CLASSIFICATION)) {
            Map<String, EvalMetrics> baselines = new LinkedHashMap<>();
            baselines.put("base", in.base());
            if (in.bagOfWords() != null) {
                baselines.put("bag_of_words", in.bagOfWords());
            }
            r = Diagnostics.classification(base, in.adapter(), in.labels(), labeled(in.train(), maxLength),
                    labeled(in.validation(), maxLength), reference, baselines, settings);
        } else {
            List<Diagnostics.Lm> val = new ArrayList<>();
            for (int i = 0; i < in.causalValidation().size(); i++) {
                val.add(new Diagnostics.Lm(in.causalValidation().get(i),
                        i < in.causalSlices().size() ? in.causalSlices().get(i) : null));
            }
            r = Diagnostics.causal((CausalModel) base, in.adapter(), val, reference, settings);
        }
        return new Outcome(r.report(), r.forgettingDelta());
    }

    // ---------------------------------------------------------------------------------------------
    // On demand

    /**
     * The diagnostics report of adapter {@code adapterId} ({@code name} = its active version, or
     * {@code name@v}) of {@code tenant} on the tenant's dataset {@code request.file}. Another tenant's
     * adapter or file answers NOT_FOUND like an unknown one.
     */
    public ObjectNode report(String tenant, String adapterId, Request request) {
        if (request == null || request.file() == null || request.file().isEmpty()) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "'file' (a dataset id) is required").withParam("file");
        }
        AdapterVersion v = registry.resolve(tenant, adapterId);
        List<DatasetExample> examples;
        try {
            examples = datasets.examples(tenant, request.file());
        } catch (LoragateException e) {
            if (e.kind() == Kind.NOT_FOUND) {
                throw new LoragateException(Kind.NOT_FOUND, "file '" + request.file() + "' not found").withParam("file");
            }
            throw e;
        }
        if (examples.isEmpty()) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "file '" + request.file() + "' has no valid example")
                    .withParam("file");
        }
        Diagnostics.Settings settings = settings(request.layers(), request.maxExamples());
        if (!onDemand.tryAcquire()) {
            throw new LoragateException(Kind.RESOURCE_EXHAUSTED, "another diagnostics run is in progress; try again when it"
                    + " has finished").retryAfter(5);
        }
        try (AdapterLease lease = lease(v)) {
            return report(v, lease.adapter(), tenant, request, examples, settings);
        } finally {
            onDemand.release();
        }
    }

    private AdapterLease lease(AdapterVersion v) {
        try {
            return cache.acquire(v).get(LOAD_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LoragateException(Kind.INTERNAL, "interrupted while loading adapter " + v.id());
        } catch (ExecutionException e) {
            if (e.getCause() instanceof LoragateException le) {
                throw le;
            }
            throw new LoragateException(Kind.INTERNAL, "loading adapter " + v.id() + " failed: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new LoragateException(Kind.RESOURCE_EXHAUSTED, "adapter " + v.id() + " did not load within " + LOAD_WAIT_SECONDS + " s");
        }
    }

    private ObjectNode report(AdapterVersion v, LoraAdapter weights, String tenant, Request request,
            List<DatasetExample> examples, Diagnostics.Settings settings) {
        BaseModel base = resident.model();
        AdapterHook hook = MultiLoraHook.single(weights);
        int maxLength = Math.min(config.training().maxSeqLength(), base.config().maxPositions());
        Diagnostics.Reference reference = base instanceof CausalModel
                ? reference(tenant, request.referenceFile(), maxLength, settings.maxExamples()) : null;
        boolean classification = examples.get(0) instanceof DatasetExample.Labeled;
        ObjectNode out = Diagnostics.JSON.createObjectNode();
        out.put("object", "adapter.diagnostics");
        out.put("adapter_id", v.id());
        out.put("file", request.file());
        Diagnostics.Result r;
        if (classification) {
            String head = base instanceof EncoderModel ? EncoderModel.HEAD : LoraAdapter.SEQUENCE_HEAD;
            int k = weights.headLabels(head);
            if (k == 0 && !(base instanceof EncoderModel e && e.hasClassifier())) {
                throw new LoragateException(Kind.FAILED_PRECONDITION, "adapter " + v.id() + " carries no classification head"
                        + " (modules_to_save: [\"" + head + "\"]), so a classification file cannot evaluate it").withParam("file");
            }
            List<String> labels = labels(base, weights, head, k);
            List<DatasetExample.Labeled> all = examples.stream().map(e -> (DatasetExample.Labeled) e).toList();
            List<List<DatasetExample.Labeled>> halves = halves(all);
            r = Diagnostics.classification(base, hook, labels, labeled(halves.get(0), maxLength),
                    labeled(halves.get(1), maxLength), reference, Map.of(), settings);
            out.put("task", JobSpec.CLASSIFICATION);
            out.put("validation_examples", r.adapter().examples());
            out.put("probe_train_examples", Math.min(halves.get(0).size(), settings.maxExamples()));
            out.set("base_probe", r.report().get("base_probe"));
            out.set("adapter", Diagnostics.metricsJson(r.adapter()));
        } else {
            if (!(base instanceof CausalModel causal)) {
                throw new LoragateException(Kind.FAILED_PRECONDITION, "the base model " + resident.id() + " is an encoder:"
                        + " diagnostics need a classification file").withParam("file");
            }
            List<Diagnostics.Lm> val = causalExamples(examples, maxLength);
            if (val.isEmpty()) {
                throw new LoragateException(Kind.INVALID_ARGUMENT, "no example of file '" + request.file() + "' has a token to"
                        + " evaluate within " + maxLength + " tokens").withParam("file");
            }
            r = Diagnostics.causal(causal, hook, val, reference, settings);
            out.put("task", JobSpec.SUPERVISED);
            out.put("validation_examples", r.adapter().examples());
            out.set("base", Diagnostics.metricsJson(r.base()));
            out.set("adapter", Diagnostics.metricsJson(r.adapter()));
            Diagnostics.putFinite(out, "eval_loss_ratio", r.adapter().loss() / r.base().loss());
        }
        r.report().fields().forEachRemaining(e -> {
            if (!out.has(e.getKey())) {
                out.set(e.getKey(), e.getValue());
            }
        });
        return out;
    }

    /** The head's labels: the adapter's {@code loragate_labels}, a BERT classifier's, else LABEL_k. */
    private static List<String> labels(BaseModel base, LoraAdapter weights, String head, int k) {
        if (k > 0) {
            List<String> named = weights.labels(k);
            if (!named.isEmpty()) {
                return named;
            }
        } else if (base instanceof EncoderModel e && e.hasClassifier()) {
            return e.config().labels();
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            out.add("LABEL_" + i);
        }
        return out;
    }

    /** A seeded half/half split: probe training, then held out (at least one example each when there are two). */
    static <T> List<List<T>> halves(List<T> all) {
        int n = all.size();
        if (n < 2) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "a classification file needs at least 2 examples for"
                    + " diagnostics (half fit the probes, half are held out)").withParam("file");
        }
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        SplittableRandom rng = new SplittableRandom(SPLIT_SEED);
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        List<T> train = new ArrayList<>();
        List<T> held = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            (i < n / 2 ? train : held).add(all.get(order[i]));
        }
        return List.of(train, held);
    }

    private List<Diagnostics.Labeled> labeled(List<DatasetExample.Labeled> in, int maxLength) {
        TextTokenizer tok = resident.tokenizer();
        List<Diagnostics.Labeled> out = new ArrayList<>();
        for (DatasetExample.Labeled e : in) {
            out.add(new Diagnostics.Labeled(ClassificationExample.of(tok, e.text(), e.label(), maxLength).ids(), e.label(),
                    e.slice()));
        }
        return out;
    }

    private List<Diagnostics.Lm> causalExamples(List<DatasetExample> in, int maxLength) {
        CausalModel causal = (CausalModel) resident.model();
        Long eos = causal.config().eosTokenIds().isEmpty() ? null : causal.config().eosTokenIds().iterator().next();
        CausalExamples examples = new CausalExamples(resident.tokenizer(), eos, maxLength);
        ChatTemplate template = resident.chatTemplate();
        List<Diagnostics.Lm> out = new ArrayList<>();
        for (DatasetExample e : in) {
            TrainingExample t = examples.of(e, template); // null: a labeled example
            if (t != null && t.targetCount() > 0) {
                out.add(new Diagnostics.Lm(t, e.slice()));
            }
        }
        return out;
    }

    // ---------------------------------------------------------------------------------------------
    // The forgetting reference

    /**
     * The reference texts: the tenant's dataset {@code fileId} when given (every example as plain
     * text), else {@code loragate.diagnostics.reference-file}, else the built-in reference; each
     * tokenized as causal-LM text (every token a target).
     */
    Diagnostics.Reference reference(String tenant, String fileId, int maxLength, int maxExamples) {
        String name;
        List<String> texts;
        if (fileId != null && !fileId.isEmpty()) {
            name = fileId;
            texts = new ArrayList<>();
            List<DatasetExample> examples;
            try {
                examples = datasets.examples(tenant, fileId);
            } catch (LoragateException e) {
                if (e.kind() == Kind.NOT_FOUND) {
                    throw new LoragateException(Kind.NOT_FOUND, "file '" + fileId + "' not found").withParam("reference_file");
                }
                throw e;
            }
            for (DatasetExample e : examples) {
                texts.add(text(e));
            }
        } else if (config.diagnostics().referenceFile().isPresent()) {
            Path p = config.diagnostics().referenceFile().get();
            name = p.getFileName().toString();
            try {
                texts = lines(Files.readString(p, StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new LoragateException(Kind.FAILED_PRECONDITION, "loragate.diagnostics.reference-file " + p
                        + " cannot be read: " + e.getMessage(), e);
            }
        } else {
            name = "built-in";
            texts = builtInReference();
        }
        CausalModel causal = (CausalModel) resident.model();
        Long eos = causal.config().eosTokenIds().isEmpty() ? null : causal.config().eosTokenIds().iterator().next();
        CausalExamples examples = new CausalExamples(resident.tokenizer(), eos, maxLength);
        List<TrainingExample> out = new ArrayList<>();
        for (String t : texts) {
            if (out.size() >= maxExamples) {
                break;
            }
            if (!t.isBlank()) {
                TrainingExample e = examples.text(t);
                if (e.targetCount() > 0) {
                    out.add(e);
                }
            }
        }
        return new Diagnostics.Reference(name, out);
    }

    /**
     * Tokens of the forgetting reference a job reads by default (the configured file, else the
     * built-in text), each passage cut to {@code maxLength}, at most
     * {@code loragate.diagnostics.max-examples} passages; 0 on an encoder base, which has none. For
     * the recommender's time estimate.
     */
    public long referenceTokens(int maxLength) {
        if (!(resident.model() instanceof CausalModel)) {
            return 0;
        }
        long tokens = 0;
        for (TrainingExample e : reference(null, null, maxLength, config.diagnostics().maxExamples()).examples()) {
            tokens += e.length();
        }
        return tokens;
    }

    /** The lines of the built-in reference text. */
    public static List<String> builtInReference() {
        try (InputStream in = DiagnosticsService.class.getResourceAsStream(BUILT_IN_REFERENCE)) {
            if (in == null) {
                throw new IllegalStateException(BUILT_IN_REFERENCE + " is missing from the classpath");
            }
            return lines(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<String> lines(String s) {
        return s.lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
    }

    private static String text(DatasetExample e) {
        if (e instanceof DatasetExample.Text x) {
            return x.text();
        }
        if (e instanceof DatasetExample.PromptCompletion x) {
            return x.prompt() + x.completion();
        }
        if (e instanceof DatasetExample.Labeled x) {
            return x.text();
        }
        StringBuilder b = new StringBuilder();
        for (var m : ((DatasetExample.Chat) e).messages()) {
            if (b.length() > 0) {
                b.append('\n');
            }
            b.append(m.content());
        }
        return b.toString();
    }

    // ---------------------------------------------------------------------------------------------

    private Diagnostics.Settings settings(List<Integer> layers, Integer maxExamples) {
        int cap = config.diagnostics().maxExamples();
        if (maxExamples != null && (maxExamples < 2 || maxExamples > cap)) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "max_examples must be in [2, " + cap
                    + "] (loragate.diagnostics.max-examples)").withParam("max_examples");
        }
        int maxLayers = config.diagnostics().maxLayers();
        if (layers != null && layers.size() > maxLayers) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "at most " + maxLayers + " layers (loragate.diagnostics.max-layers)")
                    .withParam("layers");
        }
        return new Diagnostics.Settings(maxExamples == null ? cap : maxExamples, layers, maxLayers);
    }

    private static List<Integer> layers(JsonNode n) {
        if (n == null || !n.isArray()) {
            return null;
        }
        List<Integer> out = new ArrayList<>();
        n.forEach(x -> out.add(x.asInt()));
        return out;
    }

    private static JsonNode read(String json) {
        try {
            return Diagnostics.JSON.readTree(json);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new LoragateException(Kind.INTERNAL, "stored diagnostics options are unreadable: " + e.getOriginalMessage(), e);
        }
    }
}
