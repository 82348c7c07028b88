package io.loragate.api.grpc;

import com.fasterxml.jackson.databind.JsonNode;
import io.loragate.api.grpc.v1.AdapterSettings;
import com.google.protobuf.Struct;
import io.loragate.api.grpc.v1.CreateJobRequest;
import io.loragate.api.grpc.v1.DiagnosticsOptions;
import io.loragate.api.grpc.v1.Hyperparameters;
import io.loragate.api.grpc.v1.Job;
import io.loragate.api.grpc.v1.JobEvent;
import io.loragate.api.grpc.v1.JobMetrics;
import io.loragate.api.grpc.v1.JobProgress;
import io.loragate.api.grpc.v1.Method;
import io.loragate.api.grpc.v1.PublishIf;
import io.loragate.service.JobCommand;
import io.loragate.service.JobEventView;
import io.loragate.service.JobView;

/** Maps fine-tuning jobs between the proto messages and the service layer (the same fields as REST). */
final class JobMessages {

    private JobMessages() {
    }

    static JobCommand request(CreateJobRequest r) {
        JobCommand.Method method = null;
        if (r.hasMethod()) {
            Method m = r.getMethod();
            JobCommand.Hyperparameters h = m.hasHyperparameters() ? hyperparameters(m.getHyperparameters()) : null;
            JobCommand.AdapterSettings a = null;
            if (m.hasAdapter()) {
                AdapterSettings s = m.getAdapter();
                a = new JobCommand.AdapterSettings(s.hasR() ? s.getR() : null, s.hasAlpha() ? s.getAlpha() : null,
                        s.hasDropout() ? s.getDropout() : null, s.getTargetModulesCount() == 0 ? null : s.getTargetModulesList(),
                        s.getUseRslora(), s.hasMethod() ? s.getMethod() : null,
                        s.getLayersToTransformCount() == 0 ? null : s.getLayersToTransformList(),
                        s.hasNumVirtualTokens() ? s.getNumVirtualTokens() : null, s.hasPromptInitText() ? s.getPromptInitText() : null,
                        s.hasBottleneckSize() ? s.getBottleneckSize() : null, s.hasPlacement() ? s.getPlacement() : null,
                        s.hasPartialLayers() ? s.getPartialLayers() : null);
            }
            method = new JobCommand.Method(m.getType().isEmpty() ? null : m.getType(), h, a);
        }
        JobCommand.PublishIf gate = null;
        if (r.hasPublishIf()) {
            PublishIf g = r.getPublishIf();
            gate = new JobCommand.PublishIf(g.hasMinEvalAccuracy() ? g.getMinEvalAccuracy() : null,
                    g.hasMaxEvalLossRatio() ? g.getMaxEvalLossRatio() : null, g.hasMaxForgetting() ? g.getMaxForgetting() : null,
                    g.hasMinGainOverBaseline() ? g.getMinGainOverBaseline() : null);
        }
        JobCommand.Diagnostics diagnostics = null;
        if (r.hasDiagnostics()) {
            DiagnosticsOptions d = r.getDiagnostics();
            diagnostics = new JobCommand.Diagnostics(d.getReferenceFile().isEmpty() ? null : d.getReferenceFile(),
                    d.getLayersCount() == 0 ? null : d.getLayersList(), d.hasMaxExamples() ? d.getMaxExamples() : null);
        }
        return new JobCommand(r.getModel(), r.getTrainingFile(), r.getValidationFile(), r.getSuffix(),
                r.hasSeed() ? r.getSeed() : null, method, gate, r.getActivate(), diagnostics);
    }

    /** Unset fields stay null (the defaults); shared by jobs and sweeps. */
    static JobCommand.Hyperparameters hyperparameters(Hyperparameters p) {
        return new JobCommand.Hyperparameters(p.hasEpochs() ? p.getEpochs() : null, p.hasBatchSize() ? p.getBatchSize() : null,
                p.hasGradientAccumulationSteps() ? p.getGradientAccumulationSteps() : null,
                p.hasLearningRate() ? p.getLearningRate() : null, p.hasWarmupSteps() ? p.getWarmupSteps() : null,
                p.hasSchedule() ? p.getSchedule() : null, p.hasWeightDecay() ? p.getWeightDecay() : null,
                p.hasMaxGradNorm() ? p.getMaxGradNorm() : null, p.hasMaxSeqLength() ? p.getMaxSeqLength() : null,
                p.hasEvalEverySteps() ? p.getEvalEverySteps() : null,
                p.hasCheckpointEverySteps() ? p.getCheckpointEverySteps() : null,
                p.hasEarlyStoppingPatience() ? p.getEarlyStoppingPatience() : null,
                p.hasValidationSplit() ? p.getValidationSplit() : null, p.hasPooling() ? p.getPooling() : null,
                p.hasAutoEpochs() && p.getAutoEpochs() ? Boolean.TRUE : null);
    }

    static Job job(JobView j) {
        Method method = method(j.method());
        Job.Builder b = Job.newBuilder().setId(j.id()).setModel(j.model()).setTrainingFile(j.trainingFile())
                .setSuffix(j.suffix()).setStatus(j.status()).setCreatedAt(j.createdAt())
                .setMethod(method).setSeed(j.seed()).setTrainedTokens(j.trainedTokens());
        if (j.validationFile() != null) {
            b.setValidationFile(j.validationFile());
        }
        if (j.fineTunedModel() != null) {
            b.setFineTunedModel(j.fineTunedModel());
        }
        if (j.finishedAt() != null) {
            b.setFinishedAt(j.finishedAt());
        }
        if (j.error() != null) {
            b.setError(j.error());
        }
        if (j.publishIf() != null) {
            b.setPublishIf(publishIf(j.publishIf()));
        }
        if (j.diagnostics() != null) {
            b.setDiagnostics(diagnosticsOptions(j.diagnostics()));
        }
        Struct report = JsonStructs.struct(j.report());
        if (report != null) {
            b.setReport(report);
        }
        b.setProgress(JobProgress.newBuilder().setStep(j.completedSteps()).setTotalSteps(j.totalSteps()));
        if (j.estimatedFinish() != null) {
            b.setEstimatedFinish(j.estimatedFinish());
        }
        return b.build();
    }

    /** The job's method with every hyperparameter and adapter setting filled in (the view holds the resolved defaults). */
    private static Method method(JobView.Method m) {
        JobView.Hyperparameters h = m.hyperparameters();
        JobView.Adapter a = m.adapter();
        Method method = Method.newBuilder().setType(m.type())
                .setHyperparameters(Hyperparameters.newBuilder().setEpochs(h.epochs()).setBatchSize(h.batchSize())
                        .setGradientAccumulationSteps(h.gradientAccumulationSteps()).setLearningRate(h.learningRate())
                        .setWarmupSteps(h.warmupSteps()).setSchedule(h.schedule()).setWeightDecay(h.weightDecay())
                        .setMaxGradNorm(h.maxGradNorm()).setMaxSeqLength(h.maxSeqLength()).setEvalEverySteps(h.evalEverySteps())
                        .setCheckpointEverySteps(h.checkpointEverySteps()).setEarlyStoppingPatience(h.earlyStoppingPatience())
                        .setValidationSplit(h.validationSplit()).setPooling(h.pooling()).setAutoEpochs(h.autoMinSteps() != null))
                .setAdapter(AdapterSettings.newBuilder().setR(a.r()).setAlpha(a.alpha()).setDropout(a.dropout())
                        .addAllTargetModules(a.targetModules()).setUseRslora(a.useRslora()).setMethod(a.method())
                        .addAllLayersToTransform(a.layersToTransform()).setNumVirtualTokens(a.numVirtualTokens())
                        .setBottleneckSize(a.bottleneckSize()).setPlacement(a.placement()).setPartialLayers(a.partialLayers()))
                .build();
        if (a.promptInitText() != null) { // proto strings take no null: an unset init text stays unset
            method = method.toBuilder().setAdapter(method.getAdapter().toBuilder().setPromptInitText(a.promptInitText())).build();
        }
        return method;
    }

    /** The publish gate's thresholds that the job set; the others stay unset. */
    private static PublishIf.Builder publishIf(JsonNode g) {
        PublishIf.Builder p = PublishIf.newBuilder();
        if (g.hasNonNull("min_eval_accuracy")) {
            p.setMinEvalAccuracy(g.get("min_eval_accuracy").asDouble());
        }
        if (g.hasNonNull("max_eval_loss_ratio")) {
            p.setMaxEvalLossRatio(g.get("max_eval_loss_ratio").asDouble());
        }
        if (g.hasNonNull("max_forgetting")) {
            p.setMaxForgetting(g.get("max_forgetting").asDouble());
        }
        if (g.hasNonNull("min_gain_over_baseline")) {
            p.setMinGainOverBaseline(g.get("min_gain_over_baseline").asDouble());
        }
        return p;
    }

    /** The diagnostics options that the job set; the others stay unset. */
    private static DiagnosticsOptions.Builder diagnosticsOptions(JsonNode d) {
        DiagnosticsOptions.Builder o = DiagnosticsOptions.newBuilder();
        if (d.hasNonNull("reference_file")) {
            o.setReferenceFile(d.get("reference_file").asText());
        }
        if (d.hasNonNull("layers")) {
            d.get("layers").forEach(l -> o.addLayers(l.asInt()));
        }
        if (d.hasNonNull("max_examples")) {
            o.setMaxExamples(d.get("max_examples").asInt());
        }
        return o;
    }

    static JobEvent event(JobEventView e) {
        JobEvent.Builder b = JobEvent.newBuilder().setId(e.id()).setCreatedAt(e.createdAt()).setLevel(e.level())
                .setMessage(e.message()).setType(e.type()).setStatus(e.status());
        JsonNode d = e.data();
        if ("metrics".equals(e.type()) && d != null && d.has("step")) {
            JobMetrics.Builder m = JobMetrics.newBuilder().setStep(d.get("step").asInt());
            if (d.has("train_loss")) {
                m.setTrainLoss(d.get("train_loss").asDouble());
            }
            if (d.has("eval_loss")) {
                m.setEvalLoss(d.get("eval_loss").asDouble());
            }
            if (d.has("eval_accuracy")) {
                m.setEvalAccuracy(d.get("eval_accuracy").asDouble());
            }
            if (d.has("learning_rate")) {
                m.setLearningRate(d.get("learning_rate").asDouble());
            }
            if (d.has("tokens_per_second")) {
                m.setTokensPerSecond(d.get("tokens_per_second").asDouble());
            }
            if (d.has("eta_seconds")) {
                m.setEtaSeconds(d.get("eta_seconds").asDouble());
            }
            if (d.has("total_steps")) {
                m.setTotalSteps(d.get("total_steps").asLong());
            }
            Struct details = JsonStructs.struct(d);
            if (details != null) {
                m.setDetails(details);
            }
            b.setData(m);
        }
        return b.build();
    }
}
