package io.loragate.api.rest;

/** Long texts for the pooling tests. */
public final class EncoderRestTestTexts {

    private EncoderRestTestTexts() {
    }

    /** About {@code words} tokens of varied text (MiniLM: one token a word). */
    public static String longText(int words) {
        String[] w = {"river", "market", "engine", "garden", "letter", "window", "silver", "doctor", "winter", "island",
                "planet", "ticket", "forest", "camera", "bridge", "pencil", "summer", "castle", "rocket", "butter"};
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < words; i++) {
            sb.append(w[(i * 7 + i / 20) % w.length]).append(' ');
        }
        return sb.toString().trim();
    }

}
