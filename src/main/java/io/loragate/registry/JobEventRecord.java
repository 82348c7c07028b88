package io.loragate.registry;

import java.time.Instant;

/** One entry of a job's event log; {@code seq} counts from 1 per job. */
public record JobEventRecord(String jobId, long seq, Instant created, String level, String type, String message,
        String dataJson, String status) {

    /** The public event id. */
    public String id() {
        return "ftevent-" + jobId.substring(jobId.indexOf('-') + 1) + "-" + seq;
    }
}
