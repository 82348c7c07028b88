package io.loragate.api.rest.dto;

import java.util.List;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

/** On-demand diagnostics, recommendations and sweeps: their requests (their reports are documented in docs/). */
public final class AdvisorSchemas {

    private AdvisorSchemas() {
    }

    @Schema(name = "DiagnosticsRequest")
    public record DiagnosticsRequest(@Schema(required = true, description = "A file id: the examples to diagnose on") String file,
            @Schema(maxItems = 48, description = "0-based layers; at most loragate.diagnostics.max-layers") List<Integer> layers,
            @Schema(name = "max_examples", minimum = "2", maximum = "64", description = "At most loragate.diagnostics.max-examples")
            Integer maxExamples,
            @Schema(name = "reference_file", description = "A file id whose texts measure forgetting") String referenceFile) {
    }

    @Schema(name = "Budget")
    public record Budget(@Schema(name = "max_train_minutes", minimum = "0", exclusiveMinimum = true) Double maxTrainMinutes,
            @Schema(name = "max_adapter_bytes", minimum = "1", format = "int64") Long maxAdapterBytes) {
    }

    @Schema(name = "RecommendationRequest")
    public record RecommendationRequest(@Schema(name = "training_file", required = true, description = "A file id")
            String trainingFile,
            @Schema(description = "supervised or classification; default: from the dataset's format") String task,
            Budget budget,
            @Schema(name = "top_k", minimum = "1", maximum = "8", description = "How many methods to rank") Integer topK,
            @Schema(minimum = "1", maximum = "1000", defaultValue = "3") Integer epochs,
            @Schema(name = "sample_size", minimum = "1", maximum = "1024", description = "Examples to measure the shift on")
            Integer sampleSize) {
    }

    @Schema(name = "SweepRequest")
    public record SweepRequest(@Schema(required = true) String model,
            @Schema(name = "training_file", required = true) String trainingFile,
            @Schema(name = "validation_file") String validationFile,
            @Schema(description = "supervised or classification") String task,
            @Schema(description = "Methods to compare; default: the recommender's top_k") List<String> methods,
            @Schema(name = "top_k", minimum = "1", maximum = "8") Integer topK,
            JobSchemas.Hyperparameters hyperparameters,
            Budget budget,
            @Schema(format = "int64") Long seed,
            @Schema(description = "Adapters are named <suffix>-<method>") String suffix) {
    }
}
