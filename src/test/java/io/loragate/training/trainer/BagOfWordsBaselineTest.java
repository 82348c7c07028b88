package io.loragate.training.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.training.data.DatasetExample;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BagOfWordsBaselineTest {

    static DatasetExample.Labeled ex(String text, String label) {
        return new DatasetExample.Labeled(text, label, null);
    }

    /** Two topics told apart by their words: held-out sentences that reuse them are all classified right. */
    static List<DatasetExample.Labeled> topics(int perLabel, int offset) {
        String[] sport = {"goal", "striker", "match", "referee", "league", "keeper", "penalty", "stadium"};
        String[] food = {"garlic", "butter", "oven", "recipe", "sauce", "bread", "simmer", "pan"};
        List<DatasetExample.Labeled> out = new ArrayList<>();
        for (int i = 0; i < perLabel; i++) {
            int k = i + offset;
            out.add(ex("the " + sport[k % 8] + " and the " + sport[(k + 3) % 8] + " today", "sports"));
            out.add(ex("the " + food[k % 8] + " and the " + food[(k + 5) % 8] + " today", "food"));
        }
        return out;
    }

    @Test
    void separatesTopicsByTheirWordsOnHeldOutExamples() {
        EvalMetrics m = BagOfWordsBaseline.evaluate(topics(12, 0), topics(6, 1));
        assertEquals(12, m.examples());
        assertEquals(1.0, m.accuracy(), 1e-12);
        assertTrue(m.loss() < Math.log(2), "better than chance in loss too: " + m.loss());
    }

    @Test
    void isDeterministic() {
        List<String> texts = topics(10, 0).stream().map(DatasetExample.Labeled::text).toList();
        List<String> labels = topics(10, 0).stream().map(DatasetExample.Labeled::label).toList();
        float[][] a = BagOfWordsBaseline.fit(texts, labels).logits(List.of("the garlic striker", "unknown words"));
        float[][] b = BagOfWordsBaseline.fit(texts, labels).logits(List.of("the garlic striker", "unknown words"));
        assertArrayEquals(a[0], b[0]);
        assertArrayEquals(a[1], b[1]);
    }

    @Test
    void aValidationLabelTheTrainingSetLacksIsAMissAndOneLabelHasNoBaseline() {
        List<DatasetExample.Labeled> val = new ArrayList<>(topics(2, 0));
        val.add(ex("the striker and the goal today", "politics"));
        EvalMetrics m = BagOfWordsBaseline.evaluate(topics(12, 0), val);
        assertEquals(4.0 / 5, m.accuracy(), 1e-12);
        assertNull(BagOfWordsBaseline.evaluate(List.of(ex("a", "x"), ex("b", "x")), val));
    }

    @Test
    void termsAreLowerCasedWordsAndTheirBigrams() {
        assertEquals(Map.of("hello", 2, "world", 1, "hello world", 1, "world hello", 1),
                BagOfWordsBaseline.termCounts("Hello, WORLD! hello"));
    }
}
