package io.loragate.service;

import io.loragate.recommend.Budget;
import io.loragate.recommend.CostModel;
import io.loragate.recommend.DatasetFacts;
import io.loragate.recommend.MethodSettings;
import io.loragate.recommend.Recommendations;
import io.loragate.recommend.Recommender;
import io.loragate.recommend.ShiftEstimate;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * Recommendations as REST {@code POST /v1/recommendations} and gRPC {@code Recommend} call them:
 * delegates to {@link Recommendations} and answers {@link RecommendationView}s.
 */
@ApplicationScoped
public class RecommendationService {

    private final Recommendations recommendations;

    public RecommendationService(Recommendations recommendations) {
        this.recommendations = recommendations;
    }

    /** Ranks the methods for the tenant's dataset; another tenant's file is NOT_FOUND like an unknown one. */
    public RecommendationView recommend(String tenant, RecommendationCommand c) {
        return view(recommendations.recommend(tenant, new Recommendations.Request(c.trainingFile(), c.task(), budget(c.budget()),
                c.topK(), c.epochs(), c.sampleSize())));
    }

    static Budget budget(TrainingBudget b) {
        return b == null ? null : new Budget(b.maxTrainMinutes(), b.maxAdapterBytes());
    }

    private static RecommendationView view(Recommendations.Recommendation r) {
        DatasetFacts f = r.dataset();
        ShiftEstimate s = r.shift();
        Recommendations.Thresholds t = r.thresholds();
        Recommendations.CostAssumptions c = r.costModel();
        return new RecommendationView(r.object(), r.trainingFile(), r.model(), r.task(), r.regime(),
                new RecommendationView.DatasetFacts(f.format(), f.examples(), f.tokens(), f.meanTokens(), f.labels(), f.labelCounts(),
                        f.majorityRate()),
                new RecommendationView.Shift(s.measure(), s.sampleSize(), s.baseLoss(), s.basePerplexity(), s.probeAccuracy(),
                        s.majorityRate(), s.score(), s.level(), s.seconds()),
                new RecommendationView.Thresholds(t.tinyBelowExamples(), t.largeAboveExamples(), t.shiftLowBelow(), t.shiftHighFrom()),
                new TrainingBudget(r.budget().maxTrainMinutes(), r.budget().maxAdapterBytes()),
                r.methods().stream().map(RecommendationService::plan).toList(),
                r.excluded().stream().map(RecommendationService::plan).toList(),
                new RecommendationView.CostAssumptions(c.flopsPerSecond(), c.stepOverheadSeconds(), c.epochs(), c.batchSize(),
                        c.validationShare()));
    }

    private static RecommendationView.MethodPlan plan(Recommender.MethodPlan p) {
        CostModel.Compute c = p.compute();
        return new RecommendationView.MethodPlan(p.rank(), p.method(), settings(p.settings()), p.learningRate(),
                c == null ? null : new RecommendationView.Compute(c.trainableParams(), c.adapterBytes(), c.trainFlops(),
                        c.trainSeconds(), c.diagnosticsSeconds(), c.checkpointSeconds()),
                p.reasons());
    }

    static RecommendationView.MethodSettings settings(MethodSettings s) {
        return s == null ? null : new RecommendationView.MethodSettings(s.method(), s.r(), s.alpha(), s.layersToTransform(),
                s.numVirtualTokens(), s.bottleneckSize(), s.placement(), s.partialLayers());
    }
}
