package io.loragate.api.rest;

import io.loragate.api.rest.dto.AdvisorSchemas;
import io.loragate.service.RecommendationView;
import io.loragate.service.SweepView;
import io.loragate.service.TrainingBudget;

/**
 * The recommender's and the sweeps' views as the documented answers of {@code /v1/recommendations}
 * and {@code /v1/fine_tuning/sweeps}; fields that do not apply (null) are left out by the records.
 * A sweep row's forgetting and diagnostics sections pass through as the job report wrote them.
 */
final class AdvisorAnswers {

    private AdvisorAnswers() {
    }

    static AdvisorSchemas.Recommendation recommendation(RecommendationView r) {
        RecommendationView.DatasetFacts d = r.dataset();
        RecommendationView.Shift s = r.shift();
        RecommendationView.Thresholds t = r.thresholds();
        RecommendationView.CostAssumptions c = r.costModel();
        return new AdvisorSchemas.Recommendation(r.object(), r.trainingFile(), r.model(), r.task(), r.regime(),
                new AdvisorSchemas.DatasetFacts(d.format(), d.examples(), d.tokens(), d.meanTokens(), d.labels(), d.labelCounts(),
                        d.majorityRate()),
                new AdvisorSchemas.DomainShift(s.measure(), s.sampleSize(), s.baseLoss(), s.basePerplexity(), s.probeAccuracy(),
                        s.majorityRate(), s.score(), s.level(), s.seconds()),
                new AdvisorSchemas.RecommendationThresholds(t.tinyBelowExamples(), t.largeAboveExamples(), t.shiftLowBelow(),
                        t.shiftHighFrom()),
                budget(r.budget()), r.methods().stream().map(m -> plan(m)).toList(), r.excluded().stream().map(m -> plan(m)).toList(),
                new AdvisorSchemas.CostAssumptions(c.flopsPerSecond(), c.stepOverheadSeconds(), c.epochs(), c.batchSize(),
                        c.validationShare()));
    }

    static AdvisorSchemas.Sweep sweep(SweepView v) {
        return new AdvisorSchemas.Sweep(v.object(), v.id(), v.status(), v.createdAt(), v.finishedAt(), v.model(), v.trainingFile(),
                v.validationFile(), v.task(), v.methods(), v.table().stream().map(row -> row(row)).toList(), v.tableMarkdown(),
                v.validationExamples(), baseline(v.baseline()), v.best(), v.selection(), v.warnings());
    }

    private static AdvisorSchemas.SweepBaseline baseline(SweepView.Baseline b) {
        return b == null ? null : new AdvisorSchemas.SweepBaseline(b.method(), b.examples(), b.accuracy(), b.macroF1(), b.loss());
    }

    private static AdvisorSchemas.SweepRow row(SweepView.Row r) {
        return new AdvisorSchemas.SweepRow(r.method(), r.jobId(), r.status(), r.error(), r.fineTunedModel(), settings(r.settings()),
                r.learningRate(), r.trainableParams(), r.adapterBytes(), r.sizes(), r.trainSeconds(), r.estimatedTrainSeconds(),
                r.baseEvalLoss(), r.evalLoss(), r.evalLossRatio(), r.perplexity(), r.baseAccuracy(), r.accuracy(), r.macroF1(), r.ece(),
                r.forgetting(), r.diagnostics(), r.beatsBaseline());
    }

    private static AdvisorSchemas.MethodPlan plan(RecommendationView.MethodPlan p) {
        return new AdvisorSchemas.MethodPlan(p.rank(), p.method(), settings(p.settings()), p.learningRate(), compute(p.compute()),
                p.reasons());
    }

    private static AdvisorSchemas.MethodCompute compute(RecommendationView.Compute c) {
        return c == null ? null : new AdvisorSchemas.MethodCompute(c.trainableParams(), c.adapterBytes(), c.trainFlops(),
                c.trainSeconds(), c.diagnosticsSeconds(), c.checkpointSeconds());
    }

    private static AdvisorSchemas.MethodSettings settings(RecommendationView.MethodSettings s) {
        return s == null ? null : new AdvisorSchemas.MethodSettings(s.method(), s.r(), s.alpha(), s.layersToTransform(),
                s.numVirtualTokens(), s.bottleneckSize(), s.placement(), s.partialLayers());
    }

    private static AdvisorSchemas.Budget budget(TrainingBudget b) {
        return b == null ? null : new AdvisorSchemas.Budget(b.maxTrainMinutes(), b.maxAdapterBytes());
    }
}
