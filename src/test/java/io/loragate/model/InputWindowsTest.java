package io.loragate.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.common.LoragateException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Windows of long inputs: framing, overlap, the limit, and the token-weighted pooling. */
class InputWindowsTest {

    private static final InputWindows.Frame BERT = new InputWindows.Frame(1, 1);

    /** [CLS]=101, text 1..n, [SEP]=102. */
    private static long[] text(int n) {
        long[] ids = new long[n + 2];
        ids[0] = 101;
        for (int i = 1; i <= n; i++) {
            ids[i] = i;
        }
        ids[n + 1] = 102;
        return ids;
    }

    @Test
    void anInputThatFitsIsOneRowItselfWithEitherPooling() {
        long[] ids = text(8);
        for (InputPooling p : InputPooling.values()) {
            InputWindows w = InputWindows.of(List.of(ids), p, BERT, 10, 4);
            assertTrue(w.oneRowEach());
            assertSame(ids, w.rows().get(0));
            assertEquals(0, w.cut());
            float[] v = {0.1f, 0.2f};
            assertSame(v, w.pool(new float[][] {v})[0]);
        }
    }

    @Test
    void truncateKeepsTheFirstTokensAndTheClosingSpecialToken() {
        InputWindows w = InputWindows.of(List.of(text(20)), InputPooling.TRUNCATE, BERT, 10, 4);
        assertArrayEquals(new long[] {101, 1, 2, 3, 4, 5, 6, 7, 8, 102}, w.rows().get(0));
        assertEquals(1, w.cut());
    }

    @Test
    void slidingWindowsAreFramedOverlapByAQuarterAndEndAtTheTextsEnd() {
        // room 10: 8 text tokens a window, stride 8 - 2 = 6: windows start at text 1, 7, 13 (ends at 20)
        InputWindows w = InputWindows.of(List.of(text(20)), InputPooling.SLIDING_WINDOW, BERT, 10, 4);
        assertEquals(3, w.rows().size());
        assertEquals(3, InputWindows.windowCount(22, BERT, 10));
        assertArrayEquals(new long[] {101, 1, 2, 3, 4, 5, 6, 7, 8, 102}, w.rows().get(0));
        assertArrayEquals(new long[] {101, 7, 8, 9, 10, 11, 12, 13, 14, 102}, w.rows().get(1));
        assertArrayEquals(new long[] {101, 13, 14, 15, 16, 17, 18, 19, 20, 102}, w.rows().get(2));
        assertEquals(0, w.cut());
        // one text token more needs a fourth, shorter window
        InputWindows more = InputWindows.of(List.of(text(21)), InputPooling.SLIDING_WINDOW, BERT, 10, 4);
        assertArrayEquals(new long[] {101, 19, 20, 21, 102}, more.rows().get(3));
    }

    @Test
    void poolingAveragesTheWindowsWeightedByTheirTokens() {
        InputWindows w = InputWindows.of(List.of(text(3), text(21)), InputPooling.SLIDING_WINDOW, BERT, 10, 4);
        assertEquals(5, w.rows().size()); // the short input, then 4 windows of 10, 10, 10 and 5 tokens
        assertArrayEquals(new int[] {0, 1, 1, 1, 1}, w.owner());
        float[][] v = {{7f, 7f}, {1f, 0f}, {0f, 1f}, {1f, 1f}, {3f, 0f}};
        float[][] pooled = w.pool(v);
        assertSame(v[0], pooled[0]);
        assertArrayEquals(new float[] {(10f + 10f + 15f) / 35f, (10f + 10f) / 35f}, pooled[1], 1e-6f);
        float[] mix = w.mix(); // (2 inputs, 5 rows)
        assertArrayEquals(new float[] {1f, 0, 0, 0, 0, 0, 10f / 35, 10f / 35, 10f / 35, 5f / 35}, mix, 1e-7f);
    }

    @Test
    void anInputOverTheWindowLimitIsRefusedServingAndCappedInTraining() {
        LoragateException e = assertThrows(LoragateException.class,
                () -> InputWindows.of(List.of(text(40)), InputPooling.SLIDING_WINDOW, BERT, 10, 4));
        assertEquals(LoragateException.Kind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().contains("more than the limit of 4 (loragate.limits.max-windows-per-input)"), e.getMessage());
        InputWindows capped = InputWindows.capped(List.of(text(40)), InputPooling.SLIDING_WINDOW, BERT, 10, 4);
        assertEquals(4, capped.rows().size());
        assertEquals(1, capped.cut());
    }

    @Test
    void poolingNamesAreParsedAndOthersRefused() {
        assertEquals(InputPooling.SLIDING_WINDOW, InputPooling.parse("sliding_window", "pooling"));
        assertEquals(null, InputPooling.parse(null, "pooling"));
        LoragateException e = assertThrows(LoragateException.class, () -> InputPooling.parse("max", "pooling"));
        assertEquals("pooling", e.param());
    }
}
