package io.loragate.registry;

import java.time.Instant;

/** A checkpoint of a job after {@code step} optimizer steps; {@code hasState}: its files are still kept. */
public record CheckpointRecord(String jobId, long step, Instant created, String metricsJson, boolean hasState) {

    /** The id clients see: {@code ftckpt-<the job id's hex>-<step>}. */
    public String publicId() {
        return "ftckpt-" + jobId.substring(jobId.indexOf('-') + 1) + "-" + step;
    }
}
