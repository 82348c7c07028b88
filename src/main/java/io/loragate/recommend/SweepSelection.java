package io.loragate.recommend;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * Which row of a sweep to take, and what the choice is worth: classification picks the highest
 * validation accuracy, rows within one validation example of it count as tied and the lower
 * validation loss wins; a causal LM picks the lowest validation loss. Remaining ties go to fewer
 * trainable parameters, then the method's name: never to the row's place in the table. The
 * warnings say when no row beats the bag-of-words baseline and when the validation set is too
 * small to separate the rows.
 */
final class SweepSelection {

    /** Validation sets smaller than this draw a warning: one standard error of an accuracy is about 0.03 at 200. */
    static final int SMALL_VALIDATION_BELOW = 200;

    private SweepSelection() {
    }

    /**
     * The choice.
     *
     * @param best     the chosen method (null: no row finished with a validation metric)
     * @param reason   why it was chosen (null when {@code best} is)
     * @param warnings plain sentences; empty when none
     */
    record Choice(String best, String reason, List<String> warnings) {
    }

    /** One candidate: a succeeded row's validation numbers. */
    record Candidate(String method, Double accuracy, Double loss, Long trainableParams) {
    }

    /**
     * @param classification    compare accuracies (else losses)
     * @param validationExamples the examples every row was evaluated on (null: unknown)
     * @param baselineAccuracy  the bag-of-words baseline's validation accuracy (null: none)
     */
    static Choice choose(List<Candidate> candidates, boolean classification, Integer validationExamples, Double baselineAccuracy) {
        List<String> warnings = new ArrayList<>();
        List<Candidate> scored = candidates.stream()
                .filter(c -> classification ? c.accuracy() != null : c.loss() != null).toList();
        if (scored.isEmpty()) {
            return new Choice(null, null, warnings);
        }
        Candidate best = classification ? byAccuracy(scored, validationExamples) : scored.stream().min(byLoss()).orElseThrow();
        String reason = classification ? accuracyReason(best, scored, validationExamples)
                : String.format(Locale.ROOT, "lowest validation loss (%.4f)", best.loss());
        if (classification && baselineAccuracy != null && !beats(best.accuracy(), baselineAccuracy)) {
            warnings.add(String.format(Locale.ROOT, "no method beats the bag-of-words baseline: its validation accuracy is %.3f,"
                    + " the best adapter's (%s) %.3f; the baseline is the better classifier on this data"
                    + " (publish_if.min_gain_over_baseline refuses to publish such adapters)", baselineAccuracy, best.method(),
                    best.accuracy()));
        }
        if (validationExamples != null && validationExamples < SMALL_VALIDATION_BELOW) {
            warnings.add(smallValidation(validationExamples, classification ? best.accuracy() : null));
        }
        return new Choice(best.method(), reason, warnings);
    }

    /** Strictly above the baseline. */
    static boolean beats(double accuracy, double baselineAccuracy) {
        return accuracy > baselineAccuracy + 1e-12;
    }

    /** The highest accuracy; rows within one validation example of it are tied and the lowest loss among them wins. */
    private static Candidate byAccuracy(List<Candidate> scored, Integer validationExamples) {
        double top = scored.stream().mapToDouble(Candidate::accuracy).max().orElseThrow();
        double tie = tolerance(validationExamples);
        return scored.stream().filter(c -> c.accuracy() >= top - tie).min(byLoss()).orElseThrow();
    }

    /** One validation example as a share of accuracy (a rounding margin when the count is unknown). */
    private static double tolerance(Integer validationExamples) {
        return (validationExamples == null || validationExamples < 1 ? 0 : 1.0 / validationExamples) + 1e-9;
    }

    /** Lower loss (a missing loss last), then fewer trainable parameters, then the method's name. */
    private static Comparator<Candidate> byLoss() {
        return Comparator.comparing((Candidate c) -> c.loss() == null ? Double.POSITIVE_INFINITY : c.loss())
                .thenComparing(c -> c.trainableParams() == null ? Long.MAX_VALUE : c.trainableParams())
                .thenComparing(Candidate::method);
    }

    private static String accuracyReason(Candidate best, List<Candidate> scored, Integer validationExamples) {
        double tie = tolerance(validationExamples);
        double top = scored.stream().mapToDouble(Candidate::accuracy).max().orElseThrow();
        List<String> tied = scored.stream().filter(c -> c != best && c.accuracy() >= top - tie).map(Candidate::method).toList();
        String reason = String.format(Locale.ROOT, "highest validation accuracy (%.3f)", best.accuracy());
        if (!tied.isEmpty()) {
            reason += String.format(Locale.ROOT, "; tied within one validation example with %s, broken by the lower validation"
                    + " loss (%s)", String.join(", ", tied), best.loss() == null ? "n/a" : String.format(Locale.ROOT, "%.4f",
                    best.loss()));
        }
        return reason;
    }

    private static String smallValidation(int n, Double accuracy) {
        if (accuracy == null) {
            return String.format(Locale.ROOT, "the validation set has %d examples (fewer than %d): differences between rows may be"
                    + " noise; give a validation_file of at least %d examples", n, SMALL_VALIDATION_BELOW, SMALL_VALIDATION_BELOW);
        }
        double p = Math.min(0.99, Math.max(0.01, accuracy));
        double se = Math.sqrt(p * (1 - p) / n);
        return String.format(Locale.ROOT, "the validation set has %d examples (fewer than %d): one standard error of an accuracy"
                + " near %.2f is %.3f, so rows closer than about %.2f are not separated; give a validation_file of at least %d"
                + " examples", n, SMALL_VALIDATION_BELOW, accuracy, se, 2 * se, SMALL_VALIDATION_BELOW);
    }
}
