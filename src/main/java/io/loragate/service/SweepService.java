package io.loragate.service;

import io.loragate.recommend.Sweeps;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.List;

/**
 * Sweeps as REST {@code /v1/fine_tuning/sweeps} and the gRPC sweep rpcs call them: delegates to
 * {@link Sweeps} and answers {@link SweepView}s. Every call is scoped by the caller's tenant.
 */
@ApplicationScoped
public class SweepService {

    private final Sweeps sweeps;

    public SweepService(Sweeps sweeps) {
        this.sweeps = sweeps;
    }

    /** Stores the sweep and creates its first jobs. */
    public SweepView create(String tenant, SweepCommand c) {
        return view(sweeps.create(tenant, new Sweeps.Request(c.model(), c.trainingFile(), c.validationFile(), c.task(), c.methods(),
                c.topK(), JobService.hyperparameters(c.hyperparameters()), RecommendationService.budget(c.budget()), c.seed(),
                c.suffix())));
    }

    public SweepView get(String tenant, String id) {
        return view(sweeps.get(tenant, id));
    }

    /** The tenant's newest {@code limit} (1 to 100) sweeps. */
    public List<SweepView> list(String tenant, int limit) {
        return sweeps.list(tenant, limit).stream().map(SweepService::view).toList();
    }

    /** Cancels every unfinished job of the sweep. */
    public SweepView cancel(String tenant, String id) {
        return view(sweeps.cancel(tenant, id));
    }

    private static SweepView view(Sweeps.View v) {
        return new SweepView(v.object(), v.id(), v.status(), v.createdAt(), v.finishedAt(), v.model(), v.trainingFile(),
                v.validationFile(), v.task(), v.methods(), v.table().stream().map(SweepService::row).toList(), v.tableMarkdown(),
                v.validationExamples(), baseline(v.baseline()), v.best(), v.selection(), v.warnings());
    }

    private static SweepView.Baseline baseline(Sweeps.Baseline b) {
        return b == null ? null : new SweepView.Baseline(b.method(), b.examples(), b.accuracy(), b.macroF1(), b.loss());
    }

    private static SweepView.Row row(Sweeps.Row r) {
        return new SweepView.Row(r.method(), r.jobId(), r.status(), r.error(), r.fineTunedModel(),
                RecommendationService.settings(r.settings()), r.learningRate(), r.trainableParams(), r.adapterBytes(), r.sizes(),
                r.trainSeconds(), r.estimatedTrainSeconds(), r.baseEvalLoss(), r.evalLoss(), r.evalLossRatio(), r.perplexity(),
                r.baseAccuracy(), r.accuracy(), r.macroF1(), r.ece(), r.forgetting(), r.diagnostics(), r.beatsBaseline());
    }
}
