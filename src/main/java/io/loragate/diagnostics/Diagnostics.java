package io.loragate.diagnostics;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.adapter.LoraAdapter;
import io.loragate.adapter.PromptPart;
import io.loragate.model.AdapterHook;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.model.EncoderModel;
import io.loragate.model.KvCache;
import io.loragate.training.data.ClassificationExample;
import io.loragate.training.data.TrainingExample;
import io.loragate.training.trainer.ClassificationMetrics;
import io.loragate.training.trainer.EvalMetrics;
import io.loragate.training.trainer.TokenBatch;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The diagnostics of one adapter over its frozen base, for a job's final report and for
 * {@code POST /v1/adapters/{id}/diagnostics}. The adapter is any {@link AdapterHook}: nothing here
 * assumes LoRA. Everything runs without gradients, in batches of {@value #BATCH}, on at most
 * {@link Settings#maxExamples()} examples per set and {@link Settings#maxLayers()} layers, so the
 * cost is bounded whatever the dataset.
 *
 * <p>What it computes (README, "Diagnostics", documents every field):
 * <ul>
 * <li>held-out metrics of the adapter and of the baselines — the base (causal LM: the base's loss;
 *     classification: whatever the caller passes, e.g. the job's untrained head) and, for
 *     classification, the base + a {@link LinearProbe} on the frozen features the adapter's head
 *     reads — and a negative-transfer flag naming each metric where the adapter is worse than the
 *     best baseline;</li>
 * <li>forgetting: the causal-LM loss of base and adapter on a general reference text (decoder
 *     bases only);</li>
 * <li>per layer: linear {@link Cka} between base and adapter token states on the validation
 *     inputs, and the held-out accuracy of a linear probe on the mean-pooled states of the base and
 *     of the adapter (classification);</li>
 * <li>the same metrics per {@code slice} of the validation examples.</li>
 * </ul>
 *
 * <p>A prompt-tuning adapter ({@link AdapterHook#virtualTokens()} {@code k > 0}) gets its virtual
 * tokens in front of every input it sees, as when it serves; the base sees the same real ids without
 * them. Inputs are first cut to the positions left after the {@code k} (for both, so that both see
 * the same real tokens), virtual positions are never loss targets, and {@link HiddenStates} drops
 * them, so CKA and the probes compare the two models on the same real tokens.
 */
public final class Diagnostics {

    static final ObjectMapper JSON = new ObjectMapper();

    /** Forward batch size. */
    public static final int BATCH = 8;

    /** Default cap on the examples of each set. */
    public static final int DEFAULT_MAX_EXAMPLES = 64;

    /** Default cap on the layers analysed. */
    public static final int DEFAULT_MAX_LAYERS = 48;

    /** Most token rows per layer that CKA uses (fewer for wide models: rows × hidden ≤ 2^20). */
    static final int MAX_CKA_ROWS = 2048;

    /**
     * Limits and choices.
     *
     * @param maxExamples most validation (and probe-training, and reference) examples used
     * @param layers      0-based layers to analyse; null or empty: every layer
     * @param maxLayers   most layers analysed (evenly spaced when more are asked for or exist)
     */
    public record Settings(int maxExamples, List<Integer> layers, int maxLayers) {
        public static final Settings DEFAULTS = new Settings(DEFAULT_MAX_EXAMPLES, null, DEFAULT_MAX_LAYERS);

        public Settings {
            if (maxExamples < 2) {
                throw new IllegalArgumentException("max_examples must be at least 2, was " + maxExamples);
            }
            if (maxLayers < 1) {
                throw new IllegalArgumentException("max layers must be positive, was " + maxLayers);
            }
            layers = layers == null ? null : List.copyOf(layers);
        }
    }

    /** A tokenized classification example. */
    public record Labeled(long[] ids, String label, String slice) {
        public Labeled {
            Objects.requireNonNull(ids, "ids");
            Objects.requireNonNull(label, "label");
        }
    }

    /** A tokenized causal-LM example. */
    public record Lm(TrainingExample example, String slice) {
        public Lm {
            Objects.requireNonNull(example, "example");
        }
    }

    /**
     * The forgetting reference: tokenized texts (every token a target) and what they are.
     *
     * @param name     {@code built-in}, a dataset id, or a file name
     * @param examples at most {@link Settings#maxExamples()} are used
     */
    public record Reference(String name, List<TrainingExample> examples) {
    }

    /**
     * What the diagnostics found.
     *
     * @param report    the report's diagnostic fields (README): {@code base_probe}, {@code negative_transfer},
     *                  {@code negative_transfer_metrics}, {@code forgetting}, {@code layers}, {@code slices},
     *                  {@code diagnostics}
     * @param base      the base's metrics on the diagnostics subset (null where the base alone has none: classification)
     * @param adapter   the adapter's metrics on the diagnostics subset
     * @param forgettingDelta adapter − base loss on the reference text, or null when not applicable
     */
    public record Result(ObjectNode report, EvalMetrics base, EvalMetrics adapter, Double forgettingDelta) {
    }

    private Diagnostics() {
    }

    // ---------------------------------------------------------------------------------------------
    // Classification

    /**
     * Diagnostics of a classifier.
     *
     * @param base       the frozen base
     * @param adapter    the adapter under test, carrying the classification head (EncoderModel.HEAD on a
     *                   sentence encoder or BERT classifier checkpoint, LoraAdapter.SEQUENCE_HEAD on a decoder)
     * @param labels     the head's labels in output order
     * @param probeTrain examples the probes are fitted on (the job's training set)
     * @param validation held-out examples everything is measured on
     * @param reference  forgetting reference (decoder bases), or null
     * @param baselines  further baselines by name (e.g. the job's untrained head as {@code base}),
     *                   compared with the adapter for negative transfer
     */
    public static Result classification(BaseModel base, AdapterHook adapter, List<String> labels, List<Labeled> probeTrain,
            List<Labeled> validation, Reference reference, Map<String, EvalMetrics> baselines, Settings settings) {
        long t0 = System.nanoTime();
        List<Labeled> train = cap(probeTrain, settings.maxExamples());
        List<Labeled> val = cap(validation, settings.maxExamples());
        if (val.isEmpty()) {
            throw new IllegalArgumentException("no validation examples");
        }
        Map<String, Integer> index = labelIndex(labels);
        int[] truth = val.stream().mapToInt(e -> index.getOrDefault(e.label(), -1)).toArray();
        // the probes can only learn labels the head has
        List<Labeled> probeSet = train.stream().filter(e -> index.containsKey(e.label())).toList();
        int[] probeY = probeSet.stream().mapToInt(e -> index.get(e.label())).toArray();
        List<Integer> layers = layers(base, settings);
        int tokensPerRow = tokensPerRow(base, val.size());
        int k = adapter.virtualTokens();
        int room = room(base, k);
        List<long[]> valIds = val.stream().map(e -> ClassificationExample.fit(e.ids(), room)).toList();
        List<long[]> trainIds = probeSet.stream().map(e -> ClassificationExample.fit(e.ids(), room)).toList();
        Passes p = classificationPasses(base, adapter, labels.size(), layers, tokensPerRow, k, valIds, trainIds);

        ObjectNode report = JSON.createObjectNode();
        boolean probeable = new TreeSet<>(toList(probeY)).size() >= 2;
        float[][] probeLogits = null;
        if (probeable) {
            LinearProbe probe = LinearProbe.fit(p.baseTrainFeatures, probeY, labels.size());
            probeLogits = probe.logits(p.baseValFeatures);
        }
        EvalMetrics adapterMetrics = ClassificationMetrics.of(p.adapterLogits, truth);
        EvalMetrics probeMetrics = probeLogits == null ? null : ClassificationMetrics.of(probeLogits, truth);
        if (probeMetrics != null) {
            report.set("base_probe", metricsJson(probeMetrics));
        } else {
            report.putNull("base_probe");
        }
        Map<String, EvalMetrics> table = new LinkedHashMap<>(baselines == null ? Map.of() : baselines);
        if (probeMetrics != null) {
            table.put("base_probe", probeMetrics);
        }
        negativeTransfer(report, adapterMetrics, table, true);
        Double forgetting = forgetting(report, base, adapter, reference, settings);
        putClassificationLayers(report, layers, p, probeable, probeY, truth, labels.size());
        putClassificationSlices(report, val, truth, probeLogits, p.adapterLogits);
        ObjectNode d = settingsJson(report, val.size(), layers, p.baseVal, k, t0);
        d.put("probe_train_examples", probeSet.size());
        if (!probeable) {
            d.put("probe", "not available: the probe-training examples have fewer than 2 of the head's labels");
        } else {
            d.put("probe", "multinomial logistic regression, standardised features, l2 " + LinearProbe.DEFAULT_L2 + ", "
                    + LinearProbe.DEFAULT_STEPS + " accelerated full-batch gradient steps");
        }
        d.put("seconds", (System.nanoTime() - t0) / 1e9);
        return new Result(report, null, adapterMetrics, forgetting);
    }

    /** Each label's position in the head's output. */
    private static Map<String, Integer> labelIndex(List<String> labels) {
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < labels.size(); i++) {
            index.put(labels.get(i), i);
        }
        return index;
    }

    /**
     * The forwards of the classification diagnostics, without gradients: base and adapter on the
     * validation examples (hidden states, base features, adapter head logits) and, when there are
     * probe-training examples, on those too.
     */
    private static Passes classificationPasses(BaseModel base, AdapterHook adapter, int classes, List<Integer> layers,
            int tokensPerRow, int k, List<long[]> valIds, List<long[]> trainIds) {
        boolean previous = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
        Passes p = new Passes();
        try {
            p.baseVal = new HiddenStates(AdapterHook.NONE, new TreeSet<>(layers), tokensPerRow);
            p.baseValFeatures = features(base, valIds, p.baseVal);
            p.adapterVal = new HiddenStates(adapter, new TreeSet<>(layers), tokensPerRow);
            p.adapterLogits = headLogits(base, PromptPart.prepend(valIds, k), p.adapterVal, classes);
            if (!trainIds.isEmpty()) {
                p.baseTrain = new HiddenStates(AdapterHook.NONE, new TreeSet<>(layers), 0);
                p.baseTrainFeatures = features(base, trainIds, p.baseTrain);
                p.adapterTrain = new HiddenStates(adapter, new TreeSet<>(layers), 0);
                features(base, PromptPart.prepend(trainIds, k), p.adapterTrain);
            }
        } finally {
            JniUtils.setGradMode(previous);
        }
        return p;
    }

    /** Per layer: CKA between base and adapter tokens and, when probeable, a probe's accuracy on each. */
    private static void putClassificationLayers(ObjectNode report, List<Integer> layers, Passes p, boolean probeable,
            int[] probeY, int[] truth, int classes) {
        ArrayNode layerRows = report.putArray("layers");
        for (int l : layers) {
            ObjectNode row = layerRows.addObject();
            row.put("layer", l);
            putFinite(row, "cka", cka(p.baseVal.tokens(l), p.adapterVal.tokens(l)));
            if (probeable) {
                putFinite(row, "probe_accuracy_base", probeAccuracy(p.baseTrain.pooled(l), probeY, p.baseVal.pooled(l), truth,
                        classes));
                putFinite(row, "probe_accuracy_adapter", probeAccuracy(p.adapterTrain.pooled(l), probeY, p.adapterVal.pooled(l),
                        truth, classes));
            }
        }
    }

    /** Per slice: the adapter's metrics, the base probe's (when fitted) and negative transfer between them. */
    private static void putClassificationSlices(ObjectNode report, List<Labeled> val, int[] truth, float[][] probeLogits,
            float[][] adapterLogits) {
        ObjectNode slices = report.putObject("slices");
        for (Map.Entry<String, List<Integer>> s : slices(val.stream().map(Labeled::slice).toList()).entrySet()) {
            int[] rows = s.getValue().stream().mapToInt(Integer::intValue).toArray();
            ObjectNode n = slices.putObject(s.getKey());
            n.put("examples", rows.length);
            int[] sliceTruth = pick(truth, rows);
            Map<String, EvalMetrics> sliceTable = new LinkedHashMap<>();
            if (probeLogits != null) {
                EvalMetrics m = ClassificationMetrics.of(pick(probeLogits, rows), sliceTruth);
                n.set("base_probe", metricsJson(m));
                sliceTable.put("base_probe", m);
            }
            EvalMetrics a = ClassificationMetrics.of(pick(adapterLogits, rows), sliceTruth);
            n.set("adapter", metricsJson(a));
            negativeTransfer(n, a, sliceTable, true);
        }
    }

    /** Forward state of the classification passes. */
    private static final class Passes {
        HiddenStates baseVal;
        HiddenStates adapterVal;
        HiddenStates baseTrain;
        HiddenStates adapterTrain;
        double[][] baseValFeatures;
        double[][] baseTrainFeatures;
        float[][] adapterLogits;
    }

    /** What the classification head reads, from the base through {@code hook}: {@code (n, hidden)}. */
    static double[][] features(BaseModel base, List<long[]> ids, HiddenStates hook) {
        double[][] out = new double[ids.size()][];
        for (int i = 0; i < ids.size(); i += BATCH) {
            List<long[]> part = ids.subList(i, Math.min(ids.size(), i + BATCH));
            try (NDManager step = base.manager().newSubManager()) {
                NDArray f;
                if (base instanceof EncoderModel encoder) {
                    hook.begin(part, false);
                    f = encoder.classifierInput(step, part, hook);
                } else {
                    hook.begin(part, true);
                    f = ((CausalModel) base).lastHidden(step, part.toArray(long[][]::new), hook);
                }
                hook.end();
                copyRows(f, out, i);
            }
        }
        return out;
    }

    /** Head logits {@code (n, labels)} of the hook (which must supply the head). */
    static float[][] headLogits(BaseModel base, List<long[]> ids, HiddenStates hook, int labels) {
        float[][] out = new float[ids.size()][];
        for (int i = 0; i < ids.size(); i += BATCH) {
            List<long[]> part = ids.subList(i, Math.min(ids.size(), i + BATCH));
            try (NDManager step = base.manager().newSubManager()) {
                NDArray logits;
                if (base instanceof EncoderModel encoder) {
                    hook.begin(part, false);
                    logits = encoder.logits(step, part, hook, encoder.hasClassifier() ? 0 : labels);
                } else {
                    hook.begin(part, true);
                    NDArray h = ((CausalModel) base).lastHidden(step, part.toArray(long[][]::new), hook);
                    logits = hook.afterLinear(LoraAdapter.SEQUENCE_HEAD, h, step.zeros(new Shape(part.size(), labels)));
                }
                hook.end();
                float[] flat = logits.toFloatArray();
                int k = (int) logits.getShape().get(1);
                for (int r = 0; r < part.size(); r++) {
                    out[i + r] = java.util.Arrays.copyOfRange(flat, r * k, (r + 1) * k);
                }
            }
        }
        return out;
    }

    private static double probeAccuracy(List<double[]> train, int[] y, List<double[]> val, int[] truth, int classes) {
        if (train.isEmpty() || val.isEmpty()) {
            return Double.NaN;
        }
        LinearProbe probe = LinearProbe.fit(train.toArray(double[][]::new), y, classes);
        return probe.accuracy(val.toArray(double[][]::new), truth);
    }

    // ---------------------------------------------------------------------------------------------
    // Causal LM

    /**
     * Diagnostics of a causal-LM adapter on a decoder base: base and adapter loss on the validation
     * examples (overall and per slice), negative transfer (the adapter's loss above the base's),
     * forgetting on {@code reference}, and CKA per layer. Probing needs labels: not applicable.
     */
    public static Result causal(CausalModel base, AdapterHook adapter, List<Lm> validation, Reference reference,
            Settings settings) {
        long t0 = System.nanoTime();
        List<Lm> val = cap(validation, settings.maxExamples());
        if (val.isEmpty()) {
            throw new IllegalArgumentException("no validation examples");
        }
        List<Integer> layers = layers(base, settings);
        int tokensPerRow = tokensPerRow(base, val.size());
        int k = adapter.virtualTokens();
        int room = room(base, k);
        List<TrainingExample> examples = val.stream().map(e -> e.example().truncate(room)).toList();
        HiddenStates baseStates = new HiddenStates(AdapterHook.NONE, new TreeSet<>(layers), tokensPerRow);
        HiddenStates adapterStates = new HiddenStates(adapter, new TreeSet<>(layers), tokensPerRow);
        double[][] baseLoss;
        double[][] adapterLoss;
        boolean previous = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
        try {
            baseLoss = rowLosses(base, examples, baseStates);
            adapterLoss = rowLosses(base, examples.stream().map(e -> e.withVirtualTokens(k)).toList(), adapterStates);
        } finally {
            JniUtils.setGradMode(previous);
        }
        ObjectNode report = JSON.createObjectNode();
        EvalMetrics b = causalMetrics(baseLoss, null);
        EvalMetrics a = causalMetrics(adapterLoss, null);
        negativeTransfer(report, a, Map.of("base", b), false);
        Double forgetting = forgetting(report, base, adapter, reference, settings);
        ArrayNode layerRows = report.putArray("layers");
        for (int l : layers) {
            ObjectNode row = layerRows.addObject();
            row.put("layer", l);
            putFinite(row, "cka", cka(baseStates.tokens(l), adapterStates.tokens(l)));
        }
        ObjectNode slices = report.putObject("slices");
        for (Map.Entry<String, List<Integer>> s : slices(val.stream().map(Lm::slice).toList()).entrySet()) {
            int[] rows = s.getValue().stream().mapToInt(Integer::intValue).toArray();
            ObjectNode n = slices.putObject(s.getKey());
            n.put("examples", rows.length);
            EvalMetrics sb = causalMetrics(baseLoss, rows);
            EvalMetrics sa = causalMetrics(adapterLoss, rows);
            n.set("base", metricsJson(sb));
            n.set("adapter", metricsJson(sa));
            double ratio = sa.loss() / sb.loss();
            putFinite(n, "eval_loss_ratio", ratio);
            negativeTransfer(n, sa, Map.of("base", sb), false);
        }
        ObjectNode d = settingsJson(report, val.size(), layers, baseStates, k, t0);
        d.put("probe", "not applicable: probing needs labelled (classification) examples");
        d.put("seconds", (System.nanoTime() - t0) / 1e9);
        return new Result(report, b, a, forgetting);
    }

    /** Per example {@code {loss sum, targets}} through {@code hook} (all positions, one forward per batch). */
    static double[][] rowLosses(CausalModel base, List<TrainingExample> examples, HiddenStates hook) {
        double[][] out = new double[examples.size()][];
        for (int i = 0; i < examples.size(); i += BATCH) {
            List<TrainingExample> part = examples.subList(i, Math.min(examples.size(), i + BATCH));
            TokenBatch mb = TokenBatch.of(part);
            try (NDManager step = base.manager().newSubManager(); KvCache cache = base.newCache(mb.batch())) {
                if (hook != null) {
                    hook.begin(part.stream().map(TrainingExample::ids).toList(), true);
                }
                NDArray logits = base.forward(step, mb.tokens(), cache, hook == null ? AdapterHook.NONE : hook, true);
                if (hook != null) {
                    hook.end();
                }
                float[] sums = rowSums(step, logits, mb);
                for (int r = 0; r < part.size(); r++) {
                    int targets = 0;
                    for (int j = 0; j < mb.width() - 1; j++) {
                        targets += mb.weights()[r * (mb.width() - 1) + j] > 0 ? 1 : 0;
                    }
                    out[i + r] = new double[] {sums[r], targets};
                }
            }
        }
        return out;
    }

    /** Per row {@code Σ −log p(target)}, {@code (batch)}. */
    private static float[] rowSums(NDManager step, NDArray logits, TokenBatch mb) {
        int b = mb.batch();
        int t = mb.width();
        if (t < 2 || mb.targetCount() == 0) {
            return new float[b];
        }
        NDArray logp = logits.get(new NDIndex(":, :-1, :")).logSoftmax(-1);           // (batch, t-1, vocab)
        NDArray targets = step.create(mb.targets(), new Shape(b, t - 1, 1));
        NDArray weights = step.create(mb.weights(), new Shape(b, t - 1));
        return logp.gather(targets, 2).reshape(b, t - 1).mul(weights).sum(new int[] {1}).neg().toFloatArray();
    }

    private static EvalMetrics causalMetrics(double[][] rowLoss, int[] rows) {
        double sum = 0;
        double targets = 0;
        int n = rows == null ? rowLoss.length : rows.length;
        for (int k = 0; k < n; k++) {
            double[] r = rowLoss[rows == null ? k : rows[k]];
            sum += r[0];
            targets += r[1];
        }
        return EvalMetrics.causal(n, targets == 0 ? Double.NaN : sum / targets);
    }

    // ---------------------------------------------------------------------------------------------
    // Shared pieces

    /**
     * Forgetting on the reference text: base and adapter causal-LM loss per target token and their
     * difference (adapter − base; positive = the adapter predicts general text worse). Encoders
     * have no LM loss: {@code applicable: false} with the reason.
     */
    static Double forgetting(ObjectNode report, BaseModel base, AdapterHook adapter, Reference reference, Settings settings) {
        ObjectNode f = report.putObject("forgetting");
        if (!(base instanceof CausalModel causal)) {
            f.put("applicable", false);
            f.put("reason", "not applicable: the base (" + base.config().architectureName() + ") is an encoder, which has"
                    + " no language-model loss to compare");
            return null;
        }
        if (reference == null || reference.examples().isEmpty()) {
            f.put("applicable", false);
            f.put("reason", "no reference text");
            return null;
        }
        int k = adapter.virtualTokens();
        int room = room(base, k);
        List<TrainingExample> ex = cap(reference.examples(), settings.maxExamples()).stream().map(e -> e.truncate(room)).toList();
        double[][] b;
        double[][] a;
        boolean previous = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
        try {
            b = rowLosses(causal, ex, null);
            a = rowLosses(causal, ex.stream().map(e -> e.withVirtualTokens(k)).toList(),
                    new HiddenStates(adapter, java.util.Set.of(), 0));
        } finally {
            JniUtils.setGradMode(previous);
        }
        EvalMetrics mb = causalMetrics(b, null);
        EvalMetrics ma = causalMetrics(a, null);
        long tokens = 0;
        for (double[] r : b) {
            tokens += (long) r[1];
        }
        double delta = ma.loss() - mb.loss();
        f.put("applicable", true);
        f.put("reference", reference.name());
        f.put("examples", ex.size());
        f.put("tokens", tokens);
        putFinite(f, "base_loss", mb.loss());
        putFinite(f, "adapter_loss", ma.loss());
        putFinite(f, "delta", delta);
        putFinite(f, "ratio", ma.loss() / mb.loss());
        return Double.isFinite(delta) ? delta : null;
    }

    /**
     * Sets {@code negative_transfer} and {@code negative_transfer_metrics}: for each metric (accuracy
     * and macro-F1 for classification, higher is better; loss for causal LM, lower is better), the
     * adapter is compared with the best baseline that has it; worse by more than 1e-9 is flagged.
     */
    static void negativeTransfer(ObjectNode out, EvalMetrics adapter, Map<String, EvalMetrics> baselines,
            boolean classification) {
        ArrayNode flagged = JSON.createArrayNode();
        List<String> metrics = classification ? List.of("accuracy", "macro_f1") : List.of("loss");
        for (String metric : metrics) {
            boolean higherBetter = !metric.equals("loss");
            Double a = value(adapter, metric);
            String bestName = null;
            double best = Double.NaN;
            for (Map.Entry<String, EvalMetrics> e : baselines.entrySet()) {
                Double v = value(e.getValue(), metric);
                if (v == null || !Double.isFinite(v)) {
                    continue;
                }
                if (bestName == null || (higherBetter ? v > best : v < best)) {
                    bestName = e.getKey();
                    best = v;
                }
            }
            if (a == null || bestName == null || !Double.isFinite(a)) {
                continue;
            }
            boolean worse = higherBetter ? a < best - 1e-9 : a > best + 1e-9;
            if (worse) {
                ObjectNode n = flagged.addObject();
                n.put("metric", metric);
                n.put("adapter", a);
                n.put("baseline", bestName);
                n.put("baseline_value", best);
            }
        }
        out.put("negative_transfer", !flagged.isEmpty());
        out.set("negative_transfer_metrics", flagged);
    }

    private static Double value(EvalMetrics m, String metric) {
        if (m == null) {
            return null;
        }
        return switch (metric) {
            case "accuracy" -> m.accuracy();
            case "macro_f1" -> m.macroF1();
            case "loss" -> m.loss();
            default -> null;
        };
    }

    /** The metrics of one model as the report writes them (the same keys as the job report's base/adapter). */
    public static ObjectNode metricsJson(EvalMetrics m) {
        ObjectNode n = JSON.createObjectNode();
        n.put("examples", m.examples());
        putFinite(n, "loss", m.loss());
        if (m.perplexity() != null) {
            putFinite(n, "perplexity", m.perplexity());
        }
        if (m.accuracy() != null) {
            putFinite(n, "accuracy", m.accuracy());
        }
        if (m.macroF1() != null) {
            putFinite(n, "macro_f1", m.macroF1());
        }
        if (m.ece() != null) {
            putFinite(n, "ece", m.ece());
        }
        if (m.reliability() != null) {
            n.set("reliability", JSON.valueToTree(m.reliability()));
        }
        return n;
    }

    private static ObjectNode settingsJson(ObjectNode report, int examples, List<Integer> layers, HiddenStates states,
            int virtualTokens, long t0) {
        ObjectNode d = report.putObject("diagnostics");
        d.put("validation_examples", examples);
        if (virtualTokens > 0) {
            d.put("virtual_tokens", virtualTokens);
        }
        d.set("layers", JSON.valueToTree(layers));
        int rows = layers.isEmpty() ? 0 : states.tokens(layers.get(0)).size();
        d.put("cka_token_rows", rows);
        return d;
    }

    /** Positions left for real tokens once {@code k} virtual tokens (prompt tuning) are in front. */
    static int room(BaseModel base, int k) {
        int room = base.config().maxPositions() - k;
        if (room < 2) {
            throw new io.loragate.common.LoragateException(io.loragate.common.LoragateException.Kind.INVALID_ARGUMENT,
                    "the adapter's " + k + " virtual tokens leave fewer than 2 of the base's " + base.config().maxPositions()
                    + " positions for the input");
        }
        return room;
    }

    /** Linear CKA of two token-row lists, or NaN when there are fewer than 2 rows. */
    static double cka(List<float[]> x, List<float[]> y) {
        if (x.size() < 2 || x.size() != y.size()) {
            return Double.NaN;
        }
        return Cka.linear(x.toArray(float[][]::new), y.toArray(float[][]::new));
    }

    /** The layers to analyse: the asked ones (checked), else all; evenly thinned to {@code maxLayers}. */
    static List<Integer> layers(BaseModel base, Settings s) {
        int n = base.config().numLayers();
        List<Integer> asked = new ArrayList<>();
        if (s.layers() == null || s.layers().isEmpty()) {
            for (int i = 0; i < n; i++) {
                asked.add(i);
            }
        } else {
            for (int l : new TreeSet<>(s.layers())) {
                if (l < 0 || l >= n) {
                    throw new io.loragate.common.LoragateException(io.loragate.common.LoragateException.Kind.INVALID_ARGUMENT,
                            "layer " + l + " is out of range: the base has layers 0 to " + (n - 1)).withParam("layers");
                }
                asked.add(l);
            }
        }
        if (asked.size() <= s.maxLayers()) {
            return asked;
        }
        List<Integer> out = new ArrayList<>();
        for (int k = 0; k < s.maxLayers(); k++) {
            out.add(asked.get((int) ((long) k * (asked.size() - 1) / Math.max(1, s.maxLayers() - 1))));
        }
        return new ArrayList<>(new TreeSet<>(out));
    }

    /** Token rows per input so that CKA sees at most {@link #MAX_CKA_ROWS} rows (and rows × hidden ≤ 2^20). */
    static int tokensPerRow(BaseModel base, int inputs) {
        int maxRows = Math.min(MAX_CKA_ROWS, Math.max(256, (1 << 20) / base.config().hiddenSize()));
        return Math.max(1, maxRows / Math.max(1, inputs));
    }

    /** Validation rows by slice name (examples without a slice are in none), slices sorted. */
    static Map<String, List<Integer>> slices(List<String> names) {
        Map<String, List<Integer>> out = new TreeMap<>();
        for (int i = 0; i < names.size(); i++) {
            if (names.get(i) != null) {
                out.computeIfAbsent(names.get(i), k -> new ArrayList<>()).add(i);
            }
        }
        return out;
    }

    static <T> List<T> cap(List<T> in, int max) {
        return in == null ? List.of() : in.size() <= max ? in : in.subList(0, max);
    }

    private static List<Integer> toList(int[] a) {
        List<Integer> out = new ArrayList<>();
        for (int v : a) {
            out.add(v);
        }
        return out;
    }

    private static int[] pick(int[] a, int[] rows) {
        int[] out = new int[rows.length];
        for (int i = 0; i < rows.length; i++) {
            out[i] = a[rows[i]];
        }
        return out;
    }

    private static float[][] pick(float[][] a, int[] rows) {
        float[][] out = new float[rows.length][];
        for (int i = 0; i < rows.length; i++) {
            out[i] = a[rows[i]];
        }
        return out;
    }

    private static void copyRows(NDArray f, double[][] out, int offset) {
        int rows = (int) f.getShape().get(0);
        int cols = (int) f.getShape().get(1);
        float[] flat = f.toFloatArray();
        for (int r = 0; r < rows; r++) {
            double[] row = new double[cols];
            for (int c = 0; c < cols; c++) {
                row[c] = flat[r * cols + c];
            }
            out[offset + r] = row;
        }
    }

    static void putFinite(ObjectNode n, String key, double v) {
        if (Double.isFinite(v)) {
            n.put(key, v);
        } else {
            n.putNull(key);
        }
    }
}
