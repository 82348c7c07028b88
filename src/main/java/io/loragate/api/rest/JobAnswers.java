package io.loragate.api.rest;

import io.loragate.api.rest.dto.JobSchemas;
import io.loragate.service.CheckpointView;
import io.loragate.service.JobEventView;
import io.loragate.service.JobView;
import java.util.List;

/**
 * The service's job views as the documented answers of {@code /v1/fine_tuning/jobs}. The gate, the
 * diagnostics options, the report, event data and checkpoint metrics are stored JSON documents and
 * pass through as they were written.
 */
final class JobAnswers {

    private JobAnswers() {
    }

    static JobSchemas.FineTuningJob job(JobView j) {
        JobSchemas.ResolvedHyperparameters hyperparameters = hyperparameters(j.method().hyperparameters());
        return new JobSchemas.FineTuningJob("fine_tuning.job", j.id(), j.model(), j.createdAt(), j.finishedAt(), j.status(),
                j.trainingFile(), j.validationFile(), j.suffix(), j.fineTunedModel(), j.seed(),
                new JobSchemas.ResolvedMethod(j.method().type(), hyperparameters, adapter(j.method().adapter())), hyperparameters,
                j.publishIf(), j.diagnostics(), j.activate(), j.trainedTokens(),
                new JobSchemas.JobProgress(j.completedSteps(), j.totalSteps()),
                // OpenAI's field: Unix seconds, null until the running job has timed a step (and once it stops running)
                j.estimatedFinish(), j.error() == null ? null : new JobSchemas.JobError("job_failed", j.error()), j.report(), List.of());
    }

    static JobSchemas.JobEvent event(JobEventView e) {
        return new JobSchemas.JobEvent("fine_tuning.job.event", e.id(), e.createdAt(), e.level(), e.message(), e.type(), e.data(),
                e.status());
    }

    static JobSchemas.JobCheckpoint checkpoint(CheckpointView c) {
        return new JobSchemas.JobCheckpoint("fine_tuning.job.checkpoint", c.id(), c.createdAt(), c.jobId(), c.step(), c.metrics(),
                c.stateKept());
    }

    private static JobSchemas.ResolvedHyperparameters hyperparameters(JobView.Hyperparameters h) {
        return new JobSchemas.ResolvedHyperparameters(h.epochs(), h.batchSize(), h.gradientAccumulationSteps(), h.learningRate(),
                h.warmupSteps(), h.schedule(), h.weightDecay(), h.maxGradNorm(), h.maxSeqLength(), h.evalEverySteps(),
                h.checkpointEverySteps(), h.earlyStoppingPatience(), h.validationSplit(), h.pooling(), h.autoMinSteps());
    }

    private static JobSchemas.ResolvedAdapter adapter(JobView.Adapter a) {
        return new JobSchemas.ResolvedAdapter(a.r(), a.alpha(), a.dropout(), a.targetModules(), a.useRslora(), a.method(),
                a.layersToTransform(), a.numVirtualTokens(), a.promptInitText(), a.bottleneckSize(), a.placement(), a.partialLayers());
    }
}
