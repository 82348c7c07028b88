package io.loragate.service;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One event of a fine-tuning job.
 *
 * @param type   {@code message} or {@code metrics}
 * @param data   metrics events: the step's numbers (JSON); null otherwise
 * @param status the job's status when the event was written
 */
public record JobEventView(String id, long createdAt, String level, String message, String type, JsonNode data,
        String status) {
}
