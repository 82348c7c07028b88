package io.loragate.api.grpc;

import com.google.protobuf.Struct;
import io.loragate.api.grpc.v1.CreateSweepRequest;
import io.loragate.api.grpc.v1.Sweep;
import io.loragate.api.grpc.v1.SweepBaseline;
import io.loragate.api.grpc.v1.SweepRow;
import io.loragate.service.SweepCommand;
import io.loragate.service.SweepView;

/** Sweeps between the service's records and the gRPC messages (the same fields as REST /v1/fine_tuning/sweeps). */
final class SweepMessages {

    private SweepMessages() {
    }

    static SweepCommand request(CreateSweepRequest r) {
        return new SweepCommand(r.getModel(), r.getTrainingFile(), emptyToNull(r.getValidationFile()), emptyToNull(r.getTask()),
                r.getMethodsCount() == 0 ? null : r.getMethodsList(), r.hasTopK() ? r.getTopK() : null,
                r.hasHyperparameters() ? JobMessages.hyperparameters(r.getHyperparameters()) : null,
                r.hasBudget() ? RecommendationMessages.budget(r.getBudget()) : null, r.hasSeed() ? r.getSeed() : null,
                emptyToNull(r.getSuffix()));
    }

    static Sweep sweep(SweepView v) {
        Sweep.Builder b = Sweep.newBuilder().setId(v.id()).setStatus(v.status()).setCreatedAt(v.createdAt())
                .setFinishedAt(v.finishedAt() == null ? 0 : v.finishedAt()).setModel(v.model()).setTrainingFile(v.trainingFile())
                .setValidationFile(nullToEmpty(v.validationFile())).setTask(nullToEmpty(v.task())).addAllMethods(v.methods())
                .setTableMarkdown(nullToEmpty(v.tableMarkdown()));
        v.table().forEach(row -> b.addTable(row(row)));
        if (v.validationExamples() != null) {
            b.setValidationExamples(v.validationExamples());
        }
        if (v.baseline() != null) {
            b.setBaseline(baseline(v.baseline()));
        }
        b.setBest(nullToEmpty(v.best())).setSelection(nullToEmpty(v.selection()));
        if (v.warnings() != null) {
            b.addAllWarnings(v.warnings());
        }
        return b.build();
    }

    private static SweepBaseline baseline(SweepView.Baseline v) {
        SweepBaseline.Builder b = SweepBaseline.newBuilder().setMethod(v.method());
        if (v.examples() != null) {
            b.setExamples(v.examples());
        }
        if (v.accuracy() != null) {
            b.setAccuracy(v.accuracy());
        }
        if (v.macroF1() != null) {
            b.setMacroF1(v.macroF1());
        }
        if (v.loss() != null) {
            b.setLoss(v.loss());
        }
        return b.build();
    }

    static SweepRow row(SweepView.Row r) {
        SweepRow.Builder b = SweepRow.newBuilder().setMethod(r.method()).setJobId(nullToEmpty(r.jobId())).setStatus(r.status())
                .setError(nullToEmpty(r.error())).setFineTunedModel(nullToEmpty(r.fineTunedModel()))
                .setLearningRate(r.learningRate()).setSizes(nullToEmpty(r.sizes()));
        if (r.settings() != null) {
            b.setSettings(RecommendationMessages.settings(r.settings()));
        }
        if (r.trainableParams() != null) {
            b.setTrainableParams(r.trainableParams());
        }
        if (r.adapterBytes() != null) {
            b.setAdapterBytes(r.adapterBytes());
        }
        if (r.trainSeconds() != null) {
            b.setTrainSeconds(r.trainSeconds());
        }
        if (r.estimatedTrainSeconds() != null) {
            b.setEstimatedTrainSeconds(r.estimatedTrainSeconds());
        }
        if (r.baseEvalLoss() != null) {
            b.setBaseEvalLoss(r.baseEvalLoss());
        }
        if (r.evalLoss() != null) {
            b.setEvalLoss(r.evalLoss());
        }
        if (r.evalLossRatio() != null) {
            b.setEvalLossRatio(r.evalLossRatio());
        }
        if (r.perplexity() != null) {
            b.setPerplexity(r.perplexity());
        }
        if (r.baseAccuracy() != null) {
            b.setBaseAccuracy(r.baseAccuracy());
        }
        if (r.accuracy() != null) {
            b.setAccuracy(r.accuracy());
        }
        if (r.macroF1() != null) {
            b.setMacroF1(r.macroF1());
        }
        if (r.ece() != null) {
            b.setEce(r.ece());
        }
        Struct forgetting = JsonStructs.struct(r.forgetting());
        if (forgetting != null) {
            b.setForgetting(forgetting);
        }
        if (r.beatsBaseline() != null) {
            b.setBeatsBaseline(r.beatsBaseline());
        }
        Struct diagnostics = JsonStructs.struct(r.diagnostics());
        if (diagnostics != null) {
            b.setDiagnostics(diagnostics);
        }
        return b.build();
    }

    private static String emptyToNull(String s) {
        return s.isEmpty() ? null : s;
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }
}
