package io.loragate.api.grpc;

import io.loragate.api.grpc.v1.AdapterSettings;
import io.loragate.api.grpc.v1.DatasetFacts;
import io.loragate.api.grpc.v1.DomainShift;
import io.loragate.api.grpc.v1.MethodRecommendation;
import io.loragate.api.grpc.v1.RecommendBudget;
import io.loragate.api.grpc.v1.RecommendRequest;
import io.loragate.api.grpc.v1.Recommendation;
import io.loragate.service.RecommendationCommand;
import io.loragate.service.RecommendationView;
import io.loragate.service.TrainingBudget;

/** Recommendations between the service's records and the gRPC messages. */
final class RecommendationMessages {

    private RecommendationMessages() {
    }

    static RecommendationCommand request(RecommendRequest r) {
        return new RecommendationCommand(r.getTrainingFile(), r.getTask().isEmpty() ? null : r.getTask(),
                r.hasBudget() ? budget(r.getBudget()) : null, r.hasTopK() ? r.getTopK() : null, r.hasEpochs() ? r.getEpochs() : null,
                r.hasSampleSize() ? r.getSampleSize() : null);
    }

    static TrainingBudget budget(RecommendBudget b) {
        return new TrainingBudget(b.hasMaxTrainMinutes() ? b.getMaxTrainMinutes() : null, b.hasMaxAdapterBytes() ? b.getMaxAdapterBytes() : null);
    }

    static Recommendation recommendation(RecommendationView r) {
        RecommendationView.DatasetFacts f = r.dataset();
        DatasetFacts.Builder facts = DatasetFacts.newBuilder().setFormat(f.format()).setExamples(f.examples()).setTokens(f.tokens())
                .setMeanTokens(f.meanTokens()).setLabels(f.labels()).putAllLabelCounts(f.labelCounts());
        if (f.majorityRate() != null) {
            facts.setMajorityRate(f.majorityRate());
        }
        RecommendationView.Shift s = r.shift();
        DomainShift.Builder shift = DomainShift.newBuilder().setMeasure(s.measure()).setSampleSize(s.sampleSize())
                .setScore(s.score()).setLevel(s.level());
        if (s.baseLoss() != null) {
            shift.setBaseLoss(s.baseLoss());
        }
        if (s.basePerplexity() != null) {
            shift.setBasePerplexity(s.basePerplexity());
        }
        if (s.probeAccuracy() != null) {
            shift.setProbeAccuracy(s.probeAccuracy());
        }
        if (s.majorityRate() != null) {
            shift.setMajorityRate(s.majorityRate());
        }
        Recommendation.Builder b = Recommendation.newBuilder().setTrainingFile(r.trainingFile()).setModel(r.model())
                .setTask(r.task()).setRegime(r.regime()).setDataset(facts).setShift(shift);
        r.methods().forEach(p -> b.addMethods(method(p)));
        r.excluded().forEach(p -> b.addExcluded(method(p)));
        return b.build();
    }

    private static MethodRecommendation method(RecommendationView.MethodPlan p) {
        return MethodRecommendation.newBuilder().setRank(p.rank()).setMethod(p.method()).setSettings(settings(p.settings()))
                .setLearningRate(p.learningRate()).setTrainableParams(p.compute().trainableParams())
                .setAdapterBytes(p.compute().adapterBytes()).setTrainSeconds(p.compute().trainSeconds())
                .setDiagnosticsSeconds(p.compute().diagnosticsSeconds()).setCheckpointSeconds(p.compute().checkpointSeconds())
                .addAllReasons(p.reasons()).build();
    }

    /** A recommended method's job settings ({@code method.adapter}); unset fields take the job defaults. */
    static AdapterSettings settings(RecommendationView.MethodSettings s) {
        AdapterSettings.Builder a = AdapterSettings.newBuilder().setMethod(s.method());
        if (s.r() != null) {
            a.setR(s.r());
        }
        if (s.alpha() != null) {
            a.setAlpha(s.alpha());
        }
        if (s.layersToTransform() != null) {
            a.addAllLayersToTransform(s.layersToTransform());
        }
        if (s.numVirtualTokens() != null) {
            a.setNumVirtualTokens(s.numVirtualTokens());
        }
        if (s.bottleneckSize() != null) {
            a.setBottleneckSize(s.bottleneckSize());
        }
        if (s.placement() != null) {
            a.setPlacement(s.placement());
        }
        if (s.partialLayers() != null) {
            a.setPartialLayers(s.partialLayers());
        }
        return a.build();
    }
}
