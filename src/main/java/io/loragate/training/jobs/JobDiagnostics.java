package io.loragate.training.jobs;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.model.AdapterHook;
import io.loragate.registry.JobRecord;
import io.loragate.training.data.DatasetExample;
import io.loragate.training.data.TrainingExample;
import io.loragate.training.trainer.EvalMetrics;
import java.util.List;

/**
 * The diagnostics section of a job's final report (negative transfer, forgetting, CKA, probes,
 * slices), supplied by {@code io.loragate.diagnostics} (which sits above this package, as the
 * engine-aware {@link TrainingGate} does); without one a report has no diagnostics.
 */
public interface JobDiagnostics {

    /** No diagnostics. */
    JobDiagnostics NONE = in -> null;

    /**
     * What a finished job hands over.
     *
     * @param job               the job (tenant, options in {@link JobRecord#diagnosticsJson()})
     * @param spec              its resolved method
     * @param adapter           the trained adapter as a hook over the frozen base (eval mode)
     * @param labels            classification: the head's labels in output order; else empty
     * @param train             classification: the training examples (probes are fitted on them)
     * @param validation        classification: the validation examples
     * @param causalValidation  supervised: the tokenized validation examples
     * @param causalSlices      supervised: the slice of each of {@code causalValidation} (null: none)
     * @param base              the report's base metrics (classification: the untrained head)
     * @param adapterMetrics    the report's adapter metrics
     * @param bagOfWords        classification: the bag-of-words baseline's metrics (null: none, e.g. one label)
     */
    record Input(JobRecord job, JobSpec spec, AdapterHook adapter, List<String> labels, List<DatasetExample.Labeled> train,
            List<DatasetExample.Labeled> validation, List<TrainingExample> causalValidation, List<String> causalSlices,
            EvalMetrics base, EvalMetrics adapterMetrics, EvalMetrics bagOfWords) {
    }

    /**
     * @param fields          report fields to add (never the job report's own keys)
     * @param forgettingDelta adapter − base loss on the reference text, or null when not measured
     */
    record Outcome(ObjectNode fields, Double forgettingDelta) {
    }

    /** Runs the diagnostics (on the job's thread); null: none. */
    Outcome run(Input in);
}
