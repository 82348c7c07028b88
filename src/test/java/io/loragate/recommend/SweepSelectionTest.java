package io.loragate.recommend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How a sweep picks its best row, compares it with the bag-of-words baseline, and warns about small validation sets. */
class SweepSelectionTest {

    static SweepSelection.Candidate c(String method, Double accuracy, Double loss, long params) {
        return new SweepSelection.Candidate(method, accuracy, loss, params);
    }

    static String bestEitherOrder(List<SweepSelection.Candidate> rows, boolean cls, Integer n, Double baseline) {
        String forward = SweepSelection.choose(rows, cls, n, baseline).best();
        List<SweepSelection.Candidate> reversed = new ArrayList<>(rows);
        Collections.reverse(reversed);
        assertEquals(forward, SweepSelection.choose(reversed, cls, n, baseline).best(), "the row order must not decide");
        return forward;
    }

    @Test
    void theHighestValidationAccuracyWinsWhenItLeadsByMoreThanOneExample() {
        List<SweepSelection.Candidate> rows = List.of(c("lora", 0.90, 0.30, 100), c("rslora", 0.93, 0.50, 100),
                c("dora", 0.91, 0.20, 110));
        assertEquals("rslora", bestEitherOrder(rows, true, 100, 0.87));
        SweepSelection.Choice choice = SweepSelection.choose(rows, true, 100, 0.87);
        assertTrue(choice.reason().startsWith("highest validation accuracy (0.930)"), choice.reason());
    }

    @Test
    void accuraciesWithinOneValidationExampleAreTiedAndTheLowerLossWins() {
        // 0.93 and 0.92 on 100 examples: one example apart; dora's loss is lower
        List<SweepSelection.Candidate> rows = List.of(c("rslora", 0.93, 0.40, 100), c("dora", 0.92, 0.25, 110),
                c("lora", 0.90, 0.10, 100));
        assertEquals("dora", bestEitherOrder(rows, true, 100, null));
        SweepSelection.Choice choice = SweepSelection.choose(rows, true, 100, null);
        assertTrue(choice.reason().contains("tied within one validation example with rslora"), choice.reason());
        // on 1,000 examples the same accuracies are ten examples apart: no tie
        assertEquals("rslora", bestEitherOrder(rows, true, 1000, null));
    }

    @Test
    void identicalRowsAreBrokenByFewerParametersThenNameNeverByOrder() {
        List<SweepSelection.Candidate> rows = List.of(c("lora", 0.9, 0.3, 200), c("ia3", 0.9, 0.3, 50), c("dora", 0.9, 0.3, 50));
        assertEquals("dora", bestEitherOrder(rows, true, 100, null));
    }

    @Test
    void aCausalLmSweepPicksTheLowestValidationLoss() {
        List<SweepSelection.Candidate> rows = List.of(c("lora", null, 2.5, 100), c("prompt_tuning", null, 2.1, 10),
                c("ia3", null, null, 5));
        assertEquals("prompt_tuning", bestEitherOrder(rows, false, 400, null));
        assertTrue(SweepSelection.choose(rows, false, 400, null).warnings().isEmpty());
        assertNull(SweepSelection.choose(List.of(c("lora", null, null, 1)), false, 10, null).best());
    }

    @Test
    void theSweepSaysPlainlyWhenNoRowBeatsTheBaseline() {
        List<SweepSelection.Candidate> rows = List.of(c("lora", 0.58, 1.14, 100), c("partial", 0.60, 1.45, 900));
        SweepSelection.Choice choice = SweepSelection.choose(rows, true, 400, 0.64);
        assertEquals("partial", choice.best());
        assertEquals(1, choice.warnings().size(), choice.warnings().toString());
        assertTrue(choice.warnings().get(0).startsWith("no method beats the bag-of-words baseline"), choice.warnings().get(0));
        assertTrue(choice.warnings().get(0).contains("0.640"), choice.warnings().get(0));
        // one row above it: no such warning
        assertTrue(SweepSelection.choose(rows, true, 400, 0.59).warnings().isEmpty());
        assertTrue(SweepSelection.beats(0.60, 0.59));
        assertFalse(SweepSelection.beats(0.64, 0.64), "equal is not beating");
    }

    @Test
    void aValidationSetUnder200ExamplesDrawsAWarningWithItsStandardError() {
        List<SweepSelection.Candidate> rows = List.of(c("lora", 0.80, 0.4, 100));
        SweepSelection.Choice small = SweepSelection.choose(rows, true, 100, 0.5);
        assertEquals(1, small.warnings().size(), small.warnings().toString());
        // sqrt(0.8 * 0.2 / 100) = 0.04
        assertTrue(small.warnings().get(0).contains("100 examples") && small.warnings().get(0).contains("0.040"),
                small.warnings().get(0));
        assertTrue(SweepSelection.choose(rows, true, SweepSelection.SMALL_VALIDATION_BELOW, 0.5).warnings().isEmpty());
        assertEquals(1, SweepSelection.choose(List.of(c("lora", null, 2.0, 1)), false, 50, null).warnings().size());
    }

    @Test
    void theMarkdownTableHasTheBaselineRowTheChoiceAndTheWarnings() {
        Sweeps.Row row = new Sweeps.Row("lora", "ftjob-1", "succeeded", null, "a@1", null, 2e-3, 100L, 1000L, "measured", 1.0, 1.0,
                0.7, 0.4, 0.57, null, 0.5, 0.58, 0.57, 0.1, null, null, false);
        Sweeps.Baseline baseline = new Sweeps.Baseline("bag_of_words", 100L, 0.64, 0.63, 0.9);
        SweepSelection.Choice choice = SweepSelection.choose(List.of(c("lora", 0.58, 0.4, 100)), true, 100, 0.64);
        String md = SweepTable.markdown(List.of(row), baseline, choice);
        assertTrue(md.contains("| beats baseline |"), md);
        assertTrue(md.contains("| lora | succeeded |") && md.contains("| no |"), md);
        assertTrue(md.contains("| bag-of-words baseline |") && md.contains("— → 0.6400"), md);
        assertTrue(md.contains("Best: lora (highest validation accuracy (0.580))"), md);
        assertTrue(md.contains("Warning: no method beats the bag-of-words baseline"), md);
    }
}
