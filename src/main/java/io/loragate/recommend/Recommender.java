package io.loragate.recommend;

import io.loragate.adapter.ModelShape;
import io.loragate.adapter.AdapterMethod;
import io.loragate.adapter.AdapterMethods;
import io.loragate.training.jobs.JobSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * The transfer-learning cheat sheet as a ranking function: dataset size × domain shift × budget →
 * the adaptation methods to try, best first, each with its settings, its estimated cost and the
 * reasons. Pure: the same facts give the same plan.
 *
 * <table>
 * <tr><th>regime</th><th>when</th><th>order</th></tr>
 * <tr><td>{@code tiny} classification, shift low/medium</td><td>examples &lt; {@value #TINY_BELOW}</td>
 * <td>rslora, lora, dora (r 8, all layers), partial, bottleneck, ia3, linear_probe, prompt_tuning: the quality
 * harness's order on spam 64 ({@link HarnessEvidence})</td></tr>
 * <tr><td>{@code tiny} classification, shift high</td><td></td>
 * <td>rslora, partial, bottleneck, linear_probe, prompt_tuning, lora, dora; ia3 last (sotu 64)</td></tr>
 * <tr><td>{@code tiny} supervised, shift low/medium</td><td></td>
 * <td>prompt_tuning, ia3, lora r 4 — on the top half of the layers (not measured by the harness)</td></tr>
 * <tr><td>{@code tiny} supervised, shift high</td><td></td>
 * <td>ia3, lora r 4 (all layers), prompt_tuning, bottleneck 8; partial last (not measured by the harness)</td></tr>
 * <tr><td>{@code medium}, shift low/medium</td><td>{@value #TINY_BELOW} .. {@value #LARGE_ABOVE}</td>
 * <td>lora r 8, ia3, bottleneck 16, then rslora, dora, prompt_tuning, linear_probe, partial</td></tr>
 * <tr><td>{@code medium}, shift high</td><td></td><td>lora r 16, dora r 16, partial, rslora, bottleneck 64, ...</td></tr>
 * <tr><td>{@code large}</td><td>examples &gt; {@value #LARGE_ABOVE}</td>
 * <td>lora r 32, dora r 32, partial (a quarter of the layers), rslora, bottleneck 64, ...</td></tr>
 * </table>
 * Every method that applies is listed (linear_probe only for classification); classification plans
 * say that the job's report compares the adapter with the bag-of-words baseline and that
 * {@code publish_if.min_gain_over_baseline} can require beating it. Methods whose
 * estimate exceeds the budget move to {@code excluded} with the reason. Ranks never exceed the
 * server's {@code loragate.adapters.max-rank}.
 */
public final class Recommender {

    /** Fewer examples than this: {@code tiny}. */
    public static final int TINY_BELOW = 100;
    /** More examples than this: {@code large}. */
    public static final int LARGE_ABOVE = 10_000;
    /** Shift scores below this are {@code low}. */
    public static final double SHIFT_LOW_BELOW = 0.35;
    /** Shift scores at or above this are {@code high}. */
    public static final double SHIFT_HIGH_FROM = 0.65;

    public static final String TINY = "tiny";
    public static final String MEDIUM = "medium";
    public static final String LARGE = "large";

    private Recommender() {
    }

    /** One method of a plan. */
    public record MethodPlan(int rank, String method, MethodSettings settings, double learningRate, CostModel.Compute compute,
            List<String> reasons) {
    }

    /**
     * @param regime   {@code tiny}, {@code medium} or {@code large}
     * @param shift    the shift level used
     * @param methods  ranked, best first
     * @param excluded over the budget (reasons say which limit)
     */
    public record Plan(String regime, String shift, List<MethodPlan> methods, List<MethodPlan> excluded) {

        /** The plan of one method, ranked or excluded; null when it does not apply. */
        public MethodPlan find(String method) {
            for (List<MethodPlan> l : List.of(methods, excluded)) {
                for (MethodPlan p : l) {
                    if (p.method().equals(method)) {
                        return p;
                    }
                }
            }
            return null;
        }
    }

    public static String regime(int examples) {
        return examples < TINY_BELOW ? TINY : examples > LARGE_ABOVE ? LARGE : MEDIUM;
    }

    public static String shiftLevel(double score) {
        return score < SHIFT_LOW_BELOW ? ShiftEstimate.LOW : score >= SHIFT_HIGH_FROM ? ShiftEstimate.HIGH : ShiftEstimate.MEDIUM;
    }

    /**
     * @param task    {@code supervised} or {@code classification}
     * @param epochs  epochs the estimate assumes
     * @param maxRank the server's largest LoRA rank
     * @param overheads what a job does besides training (diagnostics, the forgetting reference)
     */
    public static Plan plan(DatasetFacts facts, ShiftEstimate shift, ModelShape shape, String task, Budget budget, int epochs,
            int maxRank, CostModel.Overheads overheads) {
        boolean cls = JobSpec.CLASSIFICATION.equals(task);
        String regime = regime(facts.examples());
        String level = shift.level();
        boolean high = ShiftEstimate.HIGH.equals(level);
        String sizeReason = sizeReason(regime, facts, cls);
        String shiftReason = String.format(Locale.ROOT, "%s domain shift (score %.2f%s)", level, shift.score(),
                shift.measure().equals("none") ? "" : ", " + shift.measure().replace('_', ' '));
        // method -> settings and the reason for its place, in order
        Map<String, Object[]> order = new LinkedHashMap<>();
        if (regime.equals(TINY) && cls) {
            HarnessEvidence.putTinyClassification(order, high, maxRank);
        } else if (regime.equals(TINY) && !high) {
            putTinyLowShift(order, maxRank, shape.layers());
        } else if (regime.equals(TINY)) {
            putTinyHighShift(order, maxRank);
        } else if (regime.equals(MEDIUM) && !high) {
            putMediumLowShift(order, maxRank);
        } else {
            putHighCapacity(order, regime, maxRank, shape.layers());
        }
        putRestOfLadder(order, regime, cls, maxRank);
        List<MethodPlan> ranked = new ArrayList<>();
        List<MethodPlan> excluded = new ArrayList<>();
        for (Object[] e : order.values()) {
            MethodSettings s = (MethodSettings) e[0];
            CostModel.Compute c = CostModel.estimate(s, shape, task, facts, epochs, overheads);
            List<String> reasons = new ArrayList<>(List.of((String) e[1], sizeReason, shiftReason, costReason(c, epochs)));
            if (cls) {
                reasons.add(BASELINE_REASON);
            }
            List<String> over = overBudget(budget, c);
            double lr = e.length > 2 ? (Double) e[2] : AdapterMethods.get(s.method()).suggestedLearningRate(cls);
            if (over.isEmpty()) {
                ranked.add(new MethodPlan(ranked.size() + 1, s.method(), s, lr, c, List.copyOf(reasons)));
            } else {
                // the budget reasons come first: they say why the method is not ranked
                over.addAll(reasons);
                excluded.add(new MethodPlan(0, s.method(), s, lr, c, List.copyOf(over)));
            }
        }
        return new Plan(regime, level, List.copyOf(ranked), List.copyOf(excluded));
    }

    /** What every classification plan says about the baseline its job's report compares with. */
    static final String BASELINE_REASON = "the job's report compares the adapter with a bag-of-words baseline on the same"
            + " validation data (gain_over_baseline); publish_if.min_gain_over_baseline refuses to publish an adapter that"
            + " does not beat it";

    private static String sizeReason(String regime, DatasetFacts facts, boolean cls) {
        return switch (regime) {
            case TINY -> cls ? String.format(Locale.ROOT, "tiny dataset: %d examples < %d; validation accuracy on few examples is"
                    + " noisy: compare methods on a validation_file of at least %d examples; epochs \"auto\" gives few examples enough steps",
                    facts.examples(), TINY_BELOW, SweepSelection.SMALL_VALIDATION_BELOW)
                    : String.format(Locale.ROOT, "tiny dataset: %d examples < %d; few trainable parameters avoid overfitting",
                    facts.examples(), TINY_BELOW);
            case LARGE -> String.format(Locale.ROOT, "large dataset: %d examples > %d; enough data for more capacity",
                    facts.examples(), LARGE_ABOVE);
            default -> String.format(Locale.ROOT, "medium dataset: %d examples in [%d, %d]", facts.examples(), TINY_BELOW,
                    LARGE_ABOVE);
        };
    }

    /** Tiny supervised data, familiar domain: the fewest trainable parameters first, on the top half of the layers. */
    private static void putTinyLowShift(Map<String, Object[]> order, int maxRank, int layers) {
        List<Integer> topHalf = IntStream.range(layers / 2, layers).boxed().toList();
        put(order, new MethodSettings(JobSpec.PROMPT_TUNING, null, null, null, 8, null, null, null),
                "a few virtual tokens steer the base without touching its weights");
        put(order, new MethodSettings(JobSpec.IA3, null, null, topHalf, null, null, null, null),
                "per-channel scaling: the fewest parameters that change features; top half of the layers");
        put(order, lora(JobSpec.LORA, 4, maxRank, topHalf), "low-rank update of the top half of the layers, rank 4");
        put(order, new MethodSettings(JobSpec.BOTTLENECK, null, null, topHalf, null, 8, "pfeiffer", null), "small adapters");
    }

    /** Tiny supervised data, distant domain: features must change, cheaply, on every layer. */
    private static void putTinyHighShift(Map<String, Object[]> order, int maxRank) {
        put(order, new MethodSettings(JobSpec.IA3, null, null, null, null, null, null, null),
                "high shift: the features must change, but with so little data only by scaling channels (all layers)");
        put(order, lora(JobSpec.LORA, 4, maxRank, null), "low-rank update of every layer, rank 4: changes features cheaply");
        put(order, new MethodSettings(JobSpec.PROMPT_TUNING, null, null, null, 8, null, null, null),
                "steers the input only: may not reach a distant domain");
        put(order, new MethodSettings(JobSpec.BOTTLENECK, null, null, null, null, 8, "pfeiffer", null), "small adapters");
    }

    private static void putMediumLowShift(Map<String, Object[]> order, int maxRank) {
        put(order, lora(JobSpec.LORA, 8, maxRank, null), "the default for this size: rank 8 on the attention projections");
        put(order, new MethodSettings(JobSpec.IA3, null, null, null, null, null, null, null),
                "far fewer parameters than LoRA, often close in quality at this size");
        put(order, new MethodSettings(JobSpec.BOTTLENECK, null, null, null, null, 16, "pfeiffer", null),
                "bottleneck adapters after the MLP (Pfeiffer), width 16");
    }

    /** Large data or medium data with high shift: the methods with the most capacity first. */
    private static void putHighCapacity(Map<String, Object[]> order, String regime, int maxRank, int layers) {
        int r = regime.equals(LARGE) ? 32 : 16;
        String why = regime.equals(LARGE) ? "enough data for a higher rank" : "high shift needs more capacity";
        put(order, lora(JobSpec.LORA, r, maxRank, null), why + ": LoRA rank " + Math.min(r, maxRank));
        put(order, lora(JobSpec.DORA, r, maxRank, null), "DoRA: LoRA plus a learned magnitude, closer to full fine-tuning");
        int n = regime.equals(LARGE) ? Math.max(1, layers / 4) : 1;
        put(order, new MethodSettings(JobSpec.PARTIAL, null, null, null, null, null, null, n),
                "full weights of the last " + n + " layer(s): the most capacity where features are most task-specific");
        put(order, lora(JobSpec.RSLORA, r, maxRank, null), "rank-stabilised scaling alpha/sqrt(r) suits higher ranks");
        put(order, new MethodSettings(JobSpec.BOTTLENECK, null, null, null, null, 64, "houlsby", null),
                "wide bottleneck adapters after attention and MLP (Houlsby)");
    }

    /** Every other method that applies, cheapest first, so that the plan lists them all. */
    private static void putRestOfLadder(Map<String, Object[]> order, String regime, boolean cls, int maxRank) {
        int r = regime.equals(TINY) ? 4 : 8;
        for (AdapterMethod m : AdapterMethods.ALL) {
            if (order.containsKey(m.name()) || (m.needsClassification() && !cls)) {
                continue;
            }
            put(order, MethodSettings.defaults(m.name(), Math.max(1, Math.min(r, maxRank))), m.ladderReason(regime.equals(TINY)));
        }
    }

    private static String costReason(CostModel.Compute c, int epochs) {
        return String.format(Locale.ROOT, "estimated %,d trainable parameters, %,d adapter bytes, %.1f s for the job"
                + " (%d epochs; %.1f s of it diagnostics)", c.trainableParams(), c.adapterBytes(), c.trainSeconds(), epochs,
                c.diagnosticsSeconds());
    }

    /** The budget limits the estimate exceeds, one reason each; empty when it fits. */
    private static List<String> overBudget(Budget budget, CostModel.Compute c) {
        List<String> over = new ArrayList<>();
        if (budget.maxTrainMinutes() != null && c.trainSeconds() > budget.maxTrainMinutes() * 60) {
            over.add(String.format(Locale.ROOT, "over budget: estimated training %.2f min > max_train_minutes %s",
                    c.trainSeconds() / 60, budget.maxTrainMinutes()));
        }
        if (budget.maxAdapterBytes() != null && c.adapterBytes() > budget.maxAdapterBytes()) {
            over.add(String.format(Locale.ROOT, "over budget: adapter %,d bytes > max_adapter_bytes %,d", c.adapterBytes(),
                    budget.maxAdapterBytes()));
        }
        return over;
    }

    static MethodSettings lora(String method, int r, int maxRank, List<Integer> layers) {
        int rank = Math.max(1, Math.min(r, maxRank));
        return new MethodSettings(method, rank, 2.0 * rank, layers, null, null, null, null);
    }

    static void put(Map<String, Object[]> order, MethodSettings s, String reason) {
        order.putIfAbsent(s.method(), new Object[] {s, reason});
    }

    /** A method with the learning rate it was measured at (instead of its suggested one). */
    static void put(Map<String, Object[]> order, MethodSettings s, double learningRate, String reason) {
        order.putIfAbsent(s.method(), new Object[] {s, reason, learningRate});
    }
}
