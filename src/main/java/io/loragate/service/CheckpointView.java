package io.loragate.service;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One checkpoint of a fine-tuning job.
 *
 * @param metrics   the step's numbers when it was written (JSON)
 * @param stateKept whether the job can still resume from it
 */
public record CheckpointView(String id, long createdAt, String jobId, long step, JsonNode metrics, boolean stateKept) {
}
