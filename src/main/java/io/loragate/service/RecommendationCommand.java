package io.loragate.service;

/**
 * A recommendation request as a transport parsed it; {@link RecommendationService} checks the values.
 *
 * @param task       {@code supervised}, {@code classification} or null (from the dataset's format)
 * @param budget     null: none
 * @param topK       null: every method
 * @param epochs     null: the jobs' default
 * @param sampleSize examples the shift is measured on; null: the default
 */
public record RecommendationCommand(String trainingFile, String task, TrainingBudget budget, Integer topK, Integer epochs,
        Integer sampleSize) {
}
