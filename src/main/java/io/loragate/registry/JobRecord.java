package io.loragate.registry;

import java.time.Instant;

/**
 * A fine-tuning job's row. The method, gate and report are JSON that the training layer writes and
 * reads; the registry only stores them.
 *
 * @param diagnosticsJson the request's diagnostics options (JSON: reference_file, layers, max_examples) or null
 * @param estimatedFinish when the running job should finish, from its step timings; null until its first step and
 *                        whenever it is not running
 * @param owner           the replica running the job (null when it is not running)
 * @param leaseExpires    when the owner's lease ends unless renewed (the database's clock); null when not running
 * @param status one of {@link JobStore#VALIDATING}, {@link JobStore#QUEUED}, {@link JobStore#RUNNING},
 *               {@link JobStore#SUCCEEDED}, {@link JobStore#FAILED}, {@link JobStore#CANCELLED}
 */
public record JobRecord(String id, String tenant, String model, String trainingFile, String validationFile, String suffix,
        long seed, String methodJson, String publishIfJson, boolean activate, String status, boolean cancelRequested,
        String fineTunedModel, String error, long trainedTokens, long completedSteps, long totalSteps, String reportJson,
        int attempts, Instant created, Instant started, Instant finished, String diagnosticsJson,
        Instant estimatedFinish, String owner, Instant leaseExpires) {

    /** Whether the job can no longer change. */
    public boolean isFinal() {
        return JobStore.isFinal(status);
    }
}
