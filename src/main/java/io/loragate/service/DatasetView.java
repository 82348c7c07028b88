package io.loragate.service;

import java.util.List;
import java.util.Map;

/**
 * An uploaded dataset as the transports answer it: OpenAI's file fields and the preflight report
 * (null while it has none).
 */
public record DatasetView(String id, String filename, long bytes, String purpose, long createdAt, String status, Report report) {

    /**
     * The preflight validation.
     *
     * @param format the detected format's wire name, null when none was detected
     */
    public record Report(String format, int examples, TokenStats tokens, int maxLength, int truncated, int duplicates,
            Map<String, Integer> labelCounts, List<LineError> errors, int errorCount) {
    }

    public record TokenStats(int min, int max, double mean, int p50, int p95, long total) {
    }

    public record LineError(int line, String reason) {
    }
}
