package io.loragate.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Arrays;

/** Shared assertions on generated tokens. */
public final class GenerationTestSupport {

    private GenerationTestSupport() {
    }

    /**
     * Compares our greedy tokens with transformers' {@code generate} output, which keeps the EOS it
     * stopped at and pads the rest with {@code pad_token_id} 0.
     */
    public static void assertGreedy(long[] expected, Generation g, String what) {
        int n = expected.length;
        long[] got = Arrays.copyOf(g.tokens(), Math.min(g.tokens().length, n));
        if ("stop".equals(g.finishReason())) {
            long[] padded = Arrays.copyOf(got, n);
            padded[got.length] = 2;
            assertArrayEquals(expected, padded, what);
        } else {
            assertArrayEquals(expected, got, what);
        }
    }
}
