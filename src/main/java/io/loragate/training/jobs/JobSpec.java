package io.loragate.training.jobs;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.loragate.adapter.AdapterMethod;
import io.loragate.adapter.AdapterMethods;
import io.loragate.adapter.MethodOptions;
import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import io.loragate.model.InputPooling;
import io.loragate.training.trainer.LrSchedule;
import io.loragate.training.trainer.TrainingConfig;
import java.util.List;
import java.util.Locale;

/**
 * A job's method with every default filled in: what the job record stores (as JSON) and the
 * trainer runs. The defaults:
 * <ul>
 * <li>epochs 3, batch size 8, gradient accumulation 1, warmup 0 steps, schedule linear, weight
 * decay 0, max grad norm 1.0;</li>
 * <li>{@code epochs: "auto"}: enough epochs for {@code loragate.training.auto-min-steps} optimizer
 * steps, at least 3 and at most {@value #AUTO_MAX_EPOCHS} (resolved when the job starts, from its
 * training examples); evaluation every tenth of the job's steps and early stopping after
 * {@value #AUTO_PATIENCE} evaluations without a lower validation loss, unless the request sets them;
 * the job then keeps the weights of its best evaluation;</li>
 * <li>learning rate 2e-4 for {@code supervised}, 2e-3 for {@code classification} (a fresh head
 * needs more), 1e-2 for a {@code linear_probe} (only the head learns);</li>
 * <li>max sequence length {@code loragate.training.max-seq-length} (512), cut further to the model's
 * context; pooling {@code truncate} (classification may choose {@code sliding_window});</li>
 * <li>evaluation every 0 steps = at the end of each epoch; checkpoints every 20 steps and after each
 * evaluation; early stopping patience 0 = never; validation split 0.1 of the training file (at
 * least one example) when no validation file is given;</li>
 * <li>adapter r 8, alpha 16, dropout 0.05, the architecture's attention projections, no rsLoRA;
 * {@code linear_probe} and {@code partial} take no default targets (partial: the linear layers of
 * the last {@code partial_layers} = 1 layers).</li>
 * </ul>
 */
public record JobSpec(@JsonProperty("type") String type, @JsonProperty("hyperparameters") Hyper hyperparameters,
        @JsonProperty("adapter") Adapter adapter) {

    public static final String SUPERVISED = "supervised";
    public static final String CLASSIFICATION = "classification";

    private static final ObjectMapper JSON = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    public record Hyper(@JsonProperty("epochs") int epochs, @JsonProperty("batch_size") int batchSize,
            @JsonProperty("gradient_accumulation_steps") int gradientAccumulationSteps,
            @JsonProperty("learning_rate") double learningRate, @JsonProperty("warmup_steps") int warmupSteps,
            @JsonProperty("schedule") String schedule, @JsonProperty("weight_decay") double weightDecay,
            @JsonProperty("max_grad_norm") double maxGradNorm, @JsonProperty("max_seq_length") int maxSeqLength,
            @JsonProperty("eval_every_steps") int evalEverySteps, @JsonProperty("checkpoint_every_steps") int checkpointEverySteps,
            @JsonProperty("early_stopping_patience") int earlyStoppingPatience,
            @JsonProperty("validation_split") double validationSplit, @JsonProperty("pooling") String pooling,
            @JsonProperty("auto_min_steps") int autoMinSteps) {

        public Hyper {
            pooling = pooling == null ? InputPooling.TRUNCATE.wireName() : pooling; // records stored before pooling existed
        }

        /** How a classification example longer than the model's window is read. */
        public InputPooling inputPooling() {
            return InputPooling.parse(pooling, "method.hyperparameters.pooling");
        }

        /** {@code epochs: "auto"}: {@link #epochs} is then the most the job may take. */
        public boolean autoEpochs() {
            return autoMinSteps > 0;
        }

        /**
         * Optimizer steps between evaluations in a job of {@code totalSteps} steps over {@code epochs}
         * epochs: {@link #evalEverySteps} when set; otherwise a tenth of the job's steps with
         * {@code "auto"} (early stopping needs evaluations during training, and a tenth keeps their
         * cost the same share of a large dataset's job as of a small one's), else once per epoch.
         */
        public long evaluationInterval(long totalSteps, int epochs) {
            if (evalEverySteps > 0) {
                return evalEverySteps;
            }
            return Math.max(1, autoEpochs() ? (totalSteps + 9) / 10 : totalSteps / Math.max(1, epochs));
        }

        /**
         * The epochs a job on {@code trainExamples} examples runs: {@link #epochs}, or with
         * {@code "auto"} enough for {@link #autoMinSteps} optimizer steps, at least
         * {@value JobSpec#AUTO_MIN_EPOCHS} and at most {@link #epochs}.
         */
        public int epochsFor(int trainExamples) {
            if (!autoEpochs()) {
                return epochs;
            }
            long forwards = Math.max(1, (trainExamples + (long) batchSize - 1) / batchSize);
            long perEpoch = (forwards + gradientAccumulationSteps - 1) / gradientAccumulationSteps;
            long needed = (autoMinSteps + perEpoch - 1) / perEpoch;
            return (int) Math.min(epochs, Math.max(AUTO_MIN_EPOCHS, needed));
        }
    }

    /** The most epochs {@code "auto"} takes. */
    public static final int AUTO_MAX_EPOCHS = 50;
    /** The fewest epochs {@code "auto"} takes (the fixed default). */
    public static final int AUTO_MIN_EPOCHS = 3;
    /** {@code "auto"}'s early-stopping patience, in evaluations, unless the request sets one. */
    public static final int AUTO_PATIENCE = 3;
    /** {@code loragate.training.auto-min-steps}'s default. */
    public static final int DEFAULT_AUTO_MIN_STEPS = 60;

    /**
     * The adaptation method and its settings (see {@link JobRequest.AdapterSettings}); settings of
     * other methods keep their defaults and are ignored.
     */
    public record Adapter(@JsonProperty("r") int r, @JsonProperty("alpha") double alpha, @JsonProperty("dropout") double dropout,
            @JsonProperty("target_modules") List<String> targetModules, @JsonProperty("use_rslora") boolean useRslora,
            @JsonProperty("method") String method, @JsonProperty("layers_to_transform") List<Integer> layersToTransform,
            @JsonProperty("num_virtual_tokens") int numVirtualTokens, @JsonProperty("prompt_init_text") String promptInitText,
            @JsonProperty("bottleneck_size") int bottleneckSize, @JsonProperty("placement") String placement,
            @JsonProperty("partial_layers") int partialLayers) {

        public Adapter {
            method = method == null ? LORA : method; // records stored before methods existed
            layersToTransform = layersToTransform == null ? List.of() : List.copyOf(layersToTransform);
            numVirtualTokens = numVirtualTokens == 0 ? 8 : numVirtualTokens;
            bottleneckSize = bottleneckSize == 0 ? 16 : bottleneckSize;
            placement = placement == null ? "pfeiffer" : placement;
            partialLayers = partialLayers == 0 ? 1 : partialLayers;
        }

        /** These settings as the adapter methods read them. */
        public MethodOptions options() {
            return new MethodOptions(method, r, alpha, dropout, targetModules, useRslora, layersToTransform, numVirtualTokens,
                    promptInitText, bottleneckSize, placement, partialLayers);
        }
    }

    public static final String LINEAR_PROBE = "linear_probe";
    public static final String PROMPT_TUNING = "prompt_tuning";
    public static final String IA3 = "ia3";
    public static final String BOTTLENECK = "bottleneck";
    public static final String LORA = "lora";
    public static final String RSLORA = "rslora";
    public static final String DORA = "dora";
    public static final String PARTIAL = "partial";
    /** Every adaptation method, cheapest first (the order of the transfer-learning ladder): {@link AdapterMethods#NAMES}. */
    public static final List<String> METHODS = AdapterMethods.NAMES;

    /**
     * Fills in the defaults and checks every value (errors name the field).
     *
     * @param defaultTargets the architecture's default LoRA targets
     * @param maxSeqLength   the server's default and upper bound of {@code max_seq_length}
     * @param maxRank        the largest rank the registry accepts
     */
    public static JobSpec resolve(JobRequest.Method method, List<String> defaultTargets, int maxSeqLength, int maxRank) {
        return resolve(method, defaultTargets, maxSeqLength, maxRank, DEFAULT_AUTO_MIN_STEPS);
    }

    /** @param autoMinSteps the least optimizer steps of an {@code epochs: "auto"} job */
    public static JobSpec resolve(JobRequest.Method method, List<String> defaultTargets, int maxSeqLength, int maxRank,
            int autoMinSteps) {
        String type = method == null || method.type() == null ? SUPERVISED : method.type().toLowerCase(Locale.ROOT);
        if (!type.equals(SUPERVISED) && !type.equals(CLASSIFICATION)) {
            throw bad("method.type", "method.type must be 'supervised' or 'classification', was '" + type + "'");
        }
        JobRequest.Hyperparameters h = method == null || method.hyperparameters() == null
                ? JobRequest.Hyperparameters.DEFAULTS : method.hyperparameters();
        JobRequest.AdapterSettings a = method == null || method.adapter() == null
                ? JobRequest.AdapterSettings.DEFAULTS : method.adapter();
        String schedule = h.schedule() == null ? "linear" : h.schedule().toLowerCase(Locale.ROOT);
        if (!schedule.equals("linear") && !schedule.equals("cosine") && !schedule.equals("constant")) {
            throw bad("method.hyperparameters.schedule", "schedule must be 'linear', 'cosine' or 'constant', was '" + schedule + "'");
        }
        String m = a.method() == null ? LORA : a.method().toLowerCase(Locale.ROOT);
        if (!METHODS.contains(m)) {
            throw bad("method.adapter.method", "method.adapter.method must be one of " + METHODS + ", was '" + m + "'");
        }
        InputPooling pooling = InputPooling.parse(h.pooling(), "method.hyperparameters.pooling");
        if (pooling == InputPooling.SLIDING_WINDOW && !type.equals(CLASSIFICATION)) {
            throw bad("method.hyperparameters.pooling", "pooling 'sliding_window' applies to classification jobs (on an encoder"
                    + " base); a supervised job truncates its examples to max_seq_length");
        }
        Hyper hyper = hyperparameters(h, schedule, defaultLearningRate(type, m), maxSeqLength,
                pooling == null ? InputPooling.TRUNCATE : pooling, autoMinSteps);
        return new JobSpec(type, hyper, adapter(a, m, type, defaultTargets, maxRank));
    }

    /** The hyperparameters with their defaults, each checked against its range. */
    private static Hyper hyperparameters(JobRequest.Hyperparameters h, String schedule, double defaultLearningRate,
            int maxSeqLength, InputPooling pooling, int autoMinSteps) {
        boolean auto = Boolean.TRUE.equals(h.autoEpochs());
        if (auto && h.epochs() != null) {
            throw bad("method.hyperparameters.epochs", "epochs is either \"auto\" or an integer in [1, 1000], not both");
        }
        int minSteps = Math.max(1, autoMinSteps);
        return new Hyper(
                auto ? AUTO_MAX_EPOCHS : range("epochs", or(h.epochs(), 3), 1, 1000),
                range("batch_size", or(h.batchSize(), 8), 1, 1024),
                range("gradient_accumulation_steps", or(h.gradientAccumulationSteps(), 1), 1, 1024),
                positive("learning_rate", or(h.learningRate(), defaultLearningRate), 1.0),
                range("warmup_steps", or(h.warmupSteps(), 0), 0, 1_000_000),
                schedule,
                positiveOrZero("weight_decay", or(h.weightDecay(), 0.0), 1.0),
                positiveOrZero("max_grad_norm", or(h.maxGradNorm(), 1.0), 1e6),
                range("max_seq_length", or(h.maxSeqLength(), maxSeqLength), 2, maxSeqLength),
                range("eval_every_steps", or(h.evalEverySteps(), 0), 0, 1_000_000),
                range("checkpoint_every_steps", or(h.checkpointEverySteps(), 20), 1, 1_000_000),
                range("early_stopping_patience", or(h.earlyStoppingPatience(), auto ? AUTO_PATIENCE : 0), 0, 1000),
                fraction(or(h.validationSplit(), 0.1)),
                pooling.wireName(),
                auto ? minSteps : 0);
    }

    /** The adapter settings of method {@code m} with their defaults, each checked. */
    private static Adapter adapter(JobRequest.AdapterSettings a, String m, String type, List<String> defaultTargets, int maxRank) {
        AdapterMethod adapterMethod = AdapterMethods.get(m);
        boolean ownTargets = !adapterMethod.takesDefaultTargets(); // none (the probe) or "the last layers" (partial)
        List<String> targets = a.targetModules() == null || a.targetModules().isEmpty()
                ? (ownTargets ? List.of() : defaultTargets) : List.copyOf(a.targetModules());
        int r = or(a.r(), 8);
        if (r < 1 || r > maxRank) {
            throw bad("method.adapter.r", "adapter r = " + r + " is outside [1, " + maxRank + "] (loragate.adapters.max-rank)");
        }
        double alpha = or(a.alpha(), 16.0);
        if (!(alpha > 0) || !Double.isFinite(alpha)) {
            throw bad("method.adapter.alpha", "adapter alpha must be positive, was " + alpha);
        }
        double dropout = or(a.dropout(), 0.05);
        if (!(dropout >= 0 && dropout < 1)) {
            throw bad("method.adapter.dropout", "adapter dropout must be in [0, 1), was " + dropout);
        }
        if (adapterMethod.needsClassification() && !type.equals(CLASSIFICATION)) {
            throw bad("method.adapter.method", "a " + m + " trains a classifier: it needs method.type 'classification'");
        }
        List<Integer> layers = a.layersToTransform() == null ? List.of() : List.copyOf(a.layersToTransform());
        for (Integer l : layers) {
            if (l == null || l < 0) {
                throw bad("method.adapter.layers_to_transform", "layers_to_transform holds layer indexes >= 0, got " + l);
            }
        }
        int virtual = range("num_virtual_tokens", or(a.numVirtualTokens(), 8), 1, io.loragate.model.AdapterHook.MAX_VIRTUAL_TOKENS);
        int bottleneck = range("bottleneck_size", or(a.bottleneckSize(), 16), 1, 4096);
        String placement = a.placement() == null ? "pfeiffer" : a.placement().toLowerCase(Locale.ROOT);
        if (!placement.equals("pfeiffer") && !placement.equals("houlsby")) {
            throw bad("method.adapter.placement", "placement must be 'pfeiffer' or 'houlsby', was '" + placement + "'");
        }
        int partial = range("partial_layers", or(a.partialLayers(), 1), 1, 1000);
        boolean rslora = Boolean.TRUE.equals(a.useRslora()) || m.equals(RSLORA);
        return new Adapter(r, alpha, dropout, targets, rslora, m, layers, virtual, a.promptInitText(), bottleneck, placement,
                partial);
    }

    /**
     * The default learning rate: 2e-4 for {@code supervised}, 2e-3 for {@code classification}, 1e-2
     * for a {@code linear_probe} (only a fresh head learns, from frozen features: it converges in a
     * few epochs only with a larger step).
     */
    static double defaultLearningRate(String type, String method) {
        return AdapterMethods.get(method).defaultLearningRate(type.equals(CLASSIFICATION));
    }

    /** The trainer's hyperparameters for this spec (with {@code "auto"} epochs: as many as {@link Hyper#epochs}). */
    public TrainingConfig trainingConfig(long seed) {
        return trainingConfig(seed, hyperparameters.epochs());
    }

    /** The trainer's hyperparameters for this spec with {@code epochs} ({@link Hyper#epochsFor}). */
    public TrainingConfig trainingConfig(long seed, int epochs) {
        Hyper h = hyperparameters;
        LrSchedule.Kind kind = LrSchedule.Kind.valueOf(h.schedule().toUpperCase(Locale.ROOT));
        return TrainingConfig.defaults().withEpochs(epochs).withBatchSize(h.batchSize())
                .withGradientAccumulation(h.gradientAccumulationSteps()).withLearningRate(h.learningRate())
                .withWarmup(h.warmupSteps(), kind).withWeightDecay(h.weightDecay()).withMaxGradNorm(h.maxGradNorm())
                .withSeed(seed);
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static JobSpec fromJson(String json) {
        try {
            return JSON.readValue(json, JobSpec.class);
        } catch (JsonProcessingException e) {
            throw new LoragateException(Kind.INTERNAL, "stored job method is unreadable: " + e.getOriginalMessage(), e);
        }
    }

    private static LoragateException bad(String param, String message) {
        return new LoragateException(Kind.INVALID_ARGUMENT, message).withParam(param);
    }

    private static <T> T or(T value, T fallback) {
        return value == null ? fallback : value;
    }

    private static int range(String name, int v, int min, int max) {
        if (v < min || v > max) {
            throw bad("method.hyperparameters." + name, name + " = " + v + " is outside [" + min + ", " + max + "]");
        }
        return v;
    }

    private static double positive(String name, double v, double max) {
        if (!(v > 0 && v <= max)) {
            throw bad("method.hyperparameters." + name, name + " = " + v + " is outside (0, " + max + "]");
        }
        return v;
    }

    private static double positiveOrZero(String name, double v, double max) {
        if (!(v >= 0 && v <= max)) {
            throw bad("method.hyperparameters." + name, name + " = " + v + " is outside [0, " + max + "]");
        }
        return v;
    }

    private static double fraction(double v) {
        if (!(v > 0 && v < 1)) {
            throw bad("method.hyperparameters.validation_split", "validation_split = " + v + " is outside (0, 1)");
        }
        return v;
    }
}
