package io.loragate.recommend;

/**
 * How far the dataset is from what the frozen base already does, measured on a sample.
 *
 * <ul>
 * <li>{@code base_perplexity} (supervised tasks): the base's mean loss per target token;
 * {@code score = ln(perplexity) / ln(vocabulary)}, i.e. the base's loss as a share of a uniform
 * guess's (0: the base predicts the data perfectly, 1: no better than chance).</li>
 * <li>{@code linear_probe} (classification): a logistic regression on the base's frozen pooled
 * features, k-fold cross-validated; {@code lift = (accuracy − majority) / (1 − majority)} and
 * {@code score = 1 − clamp(lift, 0, 1)} (0: the features already separate the labels, 1: no better
 * than always answering the majority label).</li>
 * </ul>
 * The level is {@code low} below {@link Recommender#SHIFT_LOW_BELOW}, {@code high} at or above
 * {@link Recommender#SHIFT_HIGH_FROM}, else {@code medium}.
 *
 * @param measure        {@code base_perplexity}, {@code linear_probe} or {@code none} (nothing measurable)
 * @param sampleSize     examples measured
 * @param baseLoss       supervised: mean loss per target token of the base
 * @param basePerplexity supervised: exp(baseLoss)
 * @param probeAccuracy  classification: cross-validated probe accuracy
 * @param majorityRate   classification: share of the sample's most common label
 * @param score          0 (no shift) .. 1 (maximal shift)
 * @param level          {@code low}, {@code medium} or {@code high}
 * @param seconds        time the measurement took
 */
public record ShiftEstimate(String measure, int sampleSize, Double baseLoss, Double basePerplexity, Double probeAccuracy,
        Double majorityRate, double score, String level, double seconds) {

    public static final String LOW = "low";
    public static final String MEDIUM = "medium";
    public static final String HIGH = "high";

    /** A synthetic estimate with just a score (tests, what-if). */
    public static ShiftEstimate ofScore(double score) {
        return new ShiftEstimate("none", 0, null, null, null, null, score, Recommender.shiftLevel(score), 0);
    }
}
