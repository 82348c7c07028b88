package io.loragate.api.rest.dto;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;
import java.util.Map;
import org.eclipse.microprofile.openapi.annotations.enums.SchemaType;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

/** {@code /v1/files}: datasets for fine-tuning, each with its preflight report. */
public final class FileSchemas {

    private FileSchemas() {
    }

    @Schema(name = "FileUpload", description = "multipart/form-data")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record FileUpload(
            @Schema(required = true, type = SchemaType.STRING, format = "binary",
                    description = "JSON Lines dataset; at most loragate.files.max-bytes (256M) and loragate.files.max-lines (1000000)")
            String file,
            @Schema(defaultValue = "fine-tune", description = "fine-tune") String purpose) {
    }

    @Schema(name = "FileObject")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record FileObject(@Schema(required = true) String id, @Schema(required = true, enumeration = "file") String object,
            @Schema(required = true) long bytes, @Schema(name = "created_at", required = true) long createdAt,
            @Schema(required = true) String filename, @Schema(required = true) String purpose,
            @Schema(required = true, description = "processed: stored and validated") String status,
            @Schema(required = true, nullable = true) DatasetReport report) {
    }

    @Schema(name = "FileList")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record FileList(@Schema(required = true, enumeration = "list") String object, @Schema(required = true) List<FileObject> data) {
    }

    @Schema(name = "DatasetReport", description = "The preflight validation of a dataset")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record DatasetReport(
            @Schema(required = true, nullable = true, enumeration = {"chat", "prompt_completion", "classification", "text"})
            String format,
            @Schema(required = true) int examples, @Schema(required = true) TokenStats tokens,
            @Schema(name = "max_length", required = true) int maxLength,
            @Schema(required = true, description = "Examples longer than max_length") int truncated,
            @Schema(required = true) int duplicates,
            @Schema(name = "label_counts", nullable = true, description = "Classification datasets: examples per label")
            Map<String, Integer> labelCounts,
            @Schema(required = true, description = "The first line errors") List<LineError> errors,
            @Schema(name = "error_count", required = true) int errorCount) {
    }

    @Schema(name = "TokenStats")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record TokenStats(@Schema(required = true) int min, @Schema(required = true) int max,
            @Schema(required = true) double mean, @Schema(required = true) int p50, @Schema(required = true) int p95,
            @Schema(required = true) long total) {
    }

    @Schema(name = "LineError")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record LineError(@Schema(required = true) long line, @Schema(required = true) String reason) {
    }
}
