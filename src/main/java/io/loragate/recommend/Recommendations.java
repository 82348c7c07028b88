package io.loragate.recommend;

import io.loragate.adapter.ModelShape;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.adapter.TrainableLora;
import io.loragate.config.LoragateConfig;
import io.loragate.diagnostics.DiagnosticsService;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import io.loragate.runtime.ResidentModel;
import io.loragate.training.data.DatasetExample;
import io.loragate.training.data.DatasetFile;
import io.loragate.training.data.DatasetFormat;
import io.loragate.training.data.Datasets;
import io.loragate.training.jobs.JobSpec;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code POST /v1/recommendations}: reads a tenant's dataset (another tenant's id is NOT_FOUND like
 * an unknown one), measures its domain shift on the resident base ({@link ShiftEstimator}),
 * estimates each method's cost ({@link CostModel}) and ranks the methods ({@link Recommender}).
 */
@ApplicationScoped
public class Recommendations {

    /** Snake-case JSON of the records of this package (what REST answers and sweeps store). */
    public static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .setSerializationInclusion(JsonInclude.Include.NON_NULL);
    static final int DEFAULT_EPOCHS = 3;
    private static final long BASE_WAIT_SECONDS = 60;

    private final Datasets datasets;
    private final ResidentModel resident;
    private final LoragateConfig config;
    private final DiagnosticsService diagnostics;

    public Recommendations(Datasets datasets, ResidentModel resident, LoragateConfig config, DiagnosticsService diagnostics) {
        this.diagnostics = diagnostics;
        this.datasets = datasets;
        this.resident = resident;
        this.config = config;
    }

    /**
     * @param trainingFile the dataset id
     * @param task         {@code supervised}, {@code classification} or null (from the format)
     * @param budget       null: none
     * @param topK         null: every method
     * @param epochs       null: 3 (the jobs' default)
     * @param sampleSize   examples the shift is measured on; null: {@link ShiftEstimator#SAMPLE}
     */
    public record Request(String trainingFile, String task, Budget budget, Integer topK, Integer epochs, Integer sampleSize) {
    }

    /**
     * @param methods  ranked, best first (the first {@code top_k})
     * @param excluded over the budget, with the reason first
     */
    public record Recommendation(String object, String trainingFile, String model, String task, String regime,
            DatasetFacts dataset, ShiftEstimate shift, Thresholds thresholds, Budget budget, List<Recommender.MethodPlan> methods,
            List<Recommender.MethodPlan> excluded, CostAssumptions costModel) {
    }

    /** The documented constants the plan was made with. */
    public record Thresholds(int tinyBelowExamples, int largeAboveExamples, double shiftLowBelow, double shiftHighFrom) {

        static final Thresholds CURRENT = new Thresholds(Recommender.TINY_BELOW, Recommender.LARGE_ABOVE,
                Recommender.SHIFT_LOW_BELOW, Recommender.SHIFT_HIGH_FROM);
    }

    /** The cost model's assumptions. */
    public record CostAssumptions(double flopsPerSecond, double stepOverheadSeconds, int epochs, int batchSize,
            double validationShare) {
    }

    public Recommendation recommend(String tenant, Request request) {
        // argument errors first, in the order of the request's fields, before any dataset is read
        if (request.trainingFile() == null || request.trainingFile().isEmpty()) {
            throw bad("training_file", "'training_file' (a dataset id) is required");
        }
        int epochs = epochs(request);
        int sampleSize = sampleSize(request);
        checkTopK(request);
        Budget budget = budget(request);
        DatasetFile file = datasetWithExamples(tenant, request.trainingFile());
        String task = task(request, file);
        BaseModel model = resident.awaitModel(BASE_WAIT_SECONDS);
        if (task.equals(JobSpec.SUPERVISED) && !(model instanceof CausalModel)) {
            throw bad("task", "the base model " + resident.id() + " is an encoder: it trains classification tasks only");
        }
        DatasetFacts facts = DatasetFacts.of(file.report());
        ShiftEstimate shift = measureShift(tenant, file, task, model, sampleSize);
        ModelShape shape = ModelShape.of(model, TrainableLora.defaultTargets(model.config().family()));
        CostModel.Overheads overheads = new CostModel.Overheads(config.diagnostics().maxExamples(),
                diagnostics.referenceTokens(config.training().maxSeqLength()));
        Recommender.Plan plan = Recommender.plan(facts, shift, shape, task, budget, epochs, config.adapters().maxRank(), overheads);
        List<Recommender.MethodPlan> ranked = plan.methods();
        if (request.topK() != null && ranked.size() > request.topK()) {
            ranked = ranked.subList(0, request.topK());
        }
        return new Recommendation("recommendation", file.id(), resident.id(), task, plan.regime(), facts, shift,
                Thresholds.CURRENT, budget, List.copyOf(ranked), plan.excluded(),
                new CostAssumptions(CostModel.FLOPS_PER_SECOND, CostModel.STEP_OVERHEAD_SECONDS, epochs, CostModel.BATCH_SIZE,
                        CostModel.VALIDATION_SHARE));
    }

    private static int epochs(Request request) {
        int epochs = request.epochs() == null ? DEFAULT_EPOCHS : request.epochs();
        if (epochs < 1 || epochs > 1000) {
            throw bad("epochs", "epochs must be in [1, 1000], was " + epochs);
        }
        return epochs;
    }

    private static int sampleSize(Request request) {
        int sampleSize = request.sampleSize() == null ? ShiftEstimator.SAMPLE : request.sampleSize();
        if (sampleSize < 1 || sampleSize > 1024) {
            throw bad("sample_size", "sample_size must be in [1, 1024], was " + sampleSize);
        }
        return sampleSize;
    }

    private static void checkTopK(Request request) {
        if (request.topK() != null && (request.topK() < 1 || request.topK() > JobSpec.METHODS.size())) {
            throw bad("top_k", "top_k must be in [1, " + JobSpec.METHODS.size() + "], was " + request.topK());
        }
    }

    private static Budget budget(Request request) {
        Budget budget = request.budget() == null ? Budget.NONE : request.budget();
        if (budget.maxTrainMinutes() != null && !(budget.maxTrainMinutes() > 0)) {
            throw bad("budget.max_train_minutes", "max_train_minutes must be positive");
        }
        if (budget.maxAdapterBytes() != null && budget.maxAdapterBytes() <= 0) {
            throw bad("budget.max_adapter_bytes", "max_adapter_bytes must be positive");
        }
        return budget;
    }

    /** The tenant's dataset; another tenant's id reads as not found, like an unknown one. */
    private DatasetFile datasetWithExamples(String tenant, String trainingFile) {
        DatasetFile file;
        try {
            file = datasets.get(tenant, trainingFile);
        } catch (LoragateException e) {
            throw e.kind() == Kind.NOT_FOUND
                    ? new LoragateException(Kind.NOT_FOUND, "file '" + trainingFile + "' not found").withParam("training_file")
                    : e;
        }
        if (file.report() == null || !file.report().hasExamples()) {
            throw new LoragateException(Kind.FAILED_PRECONDITION, "file '" + file.id() + "' has no valid example")
                    .withParam("training_file");
        }
        return file;
    }

    /** The requested task, or the one the file's format implies; it must match the format. */
    private static String task(Request request, DatasetFile file) {
        boolean classificationFile = file.report().format() == DatasetFormat.CLASSIFICATION;
        String task = request.task() == null ? (classificationFile ? JobSpec.CLASSIFICATION : JobSpec.SUPERVISED)
                : request.task().toLowerCase(Locale.ROOT);
        if (!task.equals(JobSpec.SUPERVISED) && !task.equals(JobSpec.CLASSIFICATION)) {
            throw bad("task", "task must be 'supervised' or 'classification', was '" + task + "'");
        }
        if (task.equals(JobSpec.CLASSIFICATION) != classificationFile) {
            throw bad("task", "a " + task + " task needs " + (classificationFile ? "a chat, prompt_completion or text" : "a classification")
                    + " file; '" + file.id() + "' is " + file.report().format().wireName());
        }
        return task;
    }

    /** Classification: a probe on the base's features; supervised: the base's perplexity. */
    private ShiftEstimate measureShift(String tenant, DatasetFile file, String task, BaseModel model, int sampleSize) {
        List<DatasetExample> examples = datasets.examples(tenant, file.id());
        int maxTokens = Math.min(ShiftEstimator.MAX_TOKENS, config.training().maxSeqLength());
        if (task.equals(JobSpec.CLASSIFICATION)) {
            List<DatasetExample.Labeled> labeled = new ArrayList<>();
            examples.forEach(e -> labeled.add((DatasetExample.Labeled) e));
            return ShiftEstimator.probe(model, resident.tokenizer(), labeled, sampleSize, maxTokens);
        }
        return ShiftEstimator.perplexity((CausalModel) model, resident.tokenizer(), resident.chatTemplate(), examples,
                sampleSize, maxTokens);
    }

    /** The recommendation as snake-case JSON. */
    public static ObjectNode json(Object value) {
        return JSON.valueToTree(value);
    }

    static LoragateException bad(String param, String message) {
        return new LoragateException(Kind.INVALID_ARGUMENT, message).withParam(param);
    }
}
