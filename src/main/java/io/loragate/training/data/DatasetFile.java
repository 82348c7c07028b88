package io.loragate.training.data;

/**
 * A stored dataset file with its preflight validation report.
 *
 * @param createdAt Unix time in seconds of the upload
 * @param status    {@code processed}: stored and validated
 * @param report    the validation at {@code loragate.training.max-seq-length}
 */
public record DatasetFile(String id, String filename, long bytes, String purpose, long createdAt, String status,
        DatasetReport report) {
}
