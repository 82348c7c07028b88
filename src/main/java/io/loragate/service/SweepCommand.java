package io.loragate.service;

import java.util.List;

/**
 * A new sweep as a transport parsed it; {@link SweepService} checks the values.
 *
 * @param methods         explicit methods (null or empty: the first {@code topK} recommended)
 * @param hyperparameters shared by every job; null: the defaults
 * @param suffix          adapter names are {@code <suffix>-<method>}; null: derived from the sweep id
 */
public record SweepCommand(String model, String trainingFile, String validationFile, String task, List<String> methods,
        Integer topK, JobCommand.Hyperparameters hyperparameters, TrainingBudget budget, Long seed, String suffix) {
}
