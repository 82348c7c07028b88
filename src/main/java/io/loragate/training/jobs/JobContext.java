package io.loragate.training.jobs;

import io.loragate.registry.JobLeases;
import io.loragate.registry.JobStore;
import io.loragate.runtime.ResidentModel;
import io.loragate.training.data.Datasets;

/**
 * What a {@link JobRunner} works with, handed over by {@link FineTuningJobs} when the job starts.
 *
 * @param store       the job rows, their events and folders
 * @param datasets    the job's files
 * @param resident    the frozen base it trains on
 * @param checkpoints where its checkpoints go and which one it resumes from
 * @param publication the gate, the registration and the activation of its adapter
 * @param gate        lets serving come first between steps
 * @param diagnostics the final report's diagnostics ({@link JobDiagnostics#NONE}: none)
 * @param leases      who owns the job: checked with every write of the steps and before publication
 * @param replica     this replica's id, the job's owner while it runs here
 * @param leaseDuration how long a renewal extends the lease
 * @param stepWriteInterval at most how long step events wait before they are written ({@link StepJournal})
 */
record JobContext(JobStore store, Datasets datasets, ResidentModel resident, JobCheckpoints checkpoints,
        Publication publication, TrainingGate gate, JobDiagnostics diagnostics, JobLeases leases, String replica,
        java.time.Duration leaseDuration, java.time.Duration stepWriteInterval) {
}
