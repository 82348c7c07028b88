package io.loragate.training.jobs;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A running job's progress beyond the trainer's own state: tokens trained, the early-stopping
 * record, and the pace of this attempt for the finish estimate. A checkpoint carries all but the
 * pace ({@link #checkpointMeta}), so a resumed job stops early exactly as an uninterrupted one.
 */
final class JobProgress {

    private final long startStep;
    private final long startNanos = System.nanoTime();
    private long tokens;
    private double bestEvalLoss = Double.POSITIVE_INFINITY;
    private long bestStep;
    private int evalsWithoutImprovement;

    private JobProgress(long startStep) {
        this.startStep = startStep;
    }

    /** A job starting from its first step. */
    static JobProgress fresh() {
        return new JobProgress(0);
    }

    /** A job resuming after {@code step} steps from a checkpoint with {@code meta}. */
    static JobProgress resumed(long step, Map<String, Object> meta) {
        JobProgress p = new JobProgress(step);
        p.tokens = ((Number) meta.getOrDefault("trained_tokens", 0L)).longValue();
        p.bestEvalLoss = ((Number) meta.getOrDefault("best_eval_loss", Double.POSITIVE_INFINITY)).doubleValue();
        p.evalsWithoutImprovement = ((Number) meta.getOrDefault("evals_without_improvement", 0)).intValue();
        p.bestStep = ((Number) meta.getOrDefault("best_eval_step", 0L)).longValue();
        return p;
    }

    /** The optimizer's step count a checkpoint stored, or {@code step} for one that has none. */
    static long optimizerSteps(Map<String, Object> meta, long step) {
        return ((Number) meta.getOrDefault("optimizer_steps", step)).longValue();
    }

    /** What a checkpoint stores besides the arrays. */
    Map<String, Object> checkpointMeta(long optimizerSteps) {
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("optimizer_steps", optimizerSteps);
        meta.put("trained_tokens", tokens);
        if (Double.isFinite(bestEvalLoss)) {
            meta.put("best_eval_loss", bestEvalLoss);
            meta.put("best_eval_step", bestStep);
        }
        meta.put("evals_without_improvement", evalsWithoutImprovement);
        return meta;
    }

    long startStep() {
        return startStep;
    }

    long tokens() {
        return tokens;
    }

    void addTokens(long n) {
        tokens += n;
    }

    /**
     * Records the evaluation after {@code step}: a new best resets the count of evaluations without
     * improvement; answers whether it was a new best.
     */
    boolean recordEvaluation(long step, double loss) {
        if (loss < bestEvalLoss) {
            bestEvalLoss = loss;
            bestStep = step;
            evalsWithoutImprovement = 0;
            return true;
        }
        evalsWithoutImprovement++;
        return false;
    }

    /** The step of the lowest validation loss so far (0: none). */
    long bestStep() {
        return bestStep;
    }

    double bestEvalLoss() {
        return bestEvalLoss;
    }

    int evalsWithoutImprovement() {
        return evalsWithoutImprovement;
    }

    /** Seconds until step {@code total} at this attempt's mean pace so far (evaluations included). */
    double etaSeconds(long step, long total) {
        double elapsed = (System.nanoTime() - startNanos) / 1e9;
        return (total - step) * elapsed / Math.max(1, step - startStep);
    }
}
