package io.loragate.service;

/**
 * Optional limits of a recommendation or sweep: methods estimated over them are excluded.
 *
 * @param maxTrainMinutes estimated training time per method, minutes; null: no limit
 * @param maxAdapterBytes adapter size on disk, bytes; null: no limit
 */
public record TrainingBudget(Double maxTrainMinutes, Long maxAdapterBytes) {
}
