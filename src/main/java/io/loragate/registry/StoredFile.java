package io.loragate.registry;

import java.time.Instant;

/**
 * One uploaded file of a tenant, as the {@code files} table records it. Its content is the blob
 * {@code <data-dir>/files/<sha256[0:2]>/<sha256>}, which rows with the same content share.
 *
 * @param report the preflight validation report (JSON, written by the training layer), or null
 */
public record StoredFile(String id, String tenant, String filename, String purpose, long bytes, String sha256,
        long lines, Instant createdAt, String status, String report) {

    /** The only status today: the row exists only once the blob is whole and validated. */
    public static final String PROCESSED = "processed";
}
