package io.loragate.recommend;

/**
 * Optional limits of a recommendation: methods estimated over them are excluded (with the reason).
 *
 * @param maxTrainMinutes estimated training time per method, minutes; null: no limit
 * @param maxAdapterBytes adapter size on disk, bytes; null: no limit
 */
public record Budget(Double maxTrainMinutes, Long maxAdapterBytes) {

    public static final Budget NONE = new Budget(null, null);
}
