package io.loragate.training.data;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * The JSON Lines dataset formats. A line's shape decides its format: {@code messages} → chat,
 * {@code prompt}/{@code completion} → prompt_completion, {@code label} → classification, else
 * {@code text} → text. Ties between formats go to the earlier constant.
 */
public enum DatasetFormat {
    /** {@code {"messages": [{"role", "content"}...]}}: loss on the assistant turns. */
    CHAT("chat"),
    /** {@code {"prompt", "completion"}}: loss on the completion. */
    PROMPT_COMPLETION("prompt_completion"),
    /** {@code {"text", "label"}}: a label per text. */
    CLASSIFICATION("classification"),
    /** {@code {"text"}}: causal LM on everything. */
    TEXT("text");

    private final String wireName;

    DatasetFormat(String wireName) {
        this.wireName = wireName;
    }

    /** The name in reports and APIs ({@code prompt_completion}...). */
    @JsonValue
    public String wireName() {
        return wireName;
    }

    @JsonCreator
    public static DatasetFormat fromWireName(String name) {
        for (DatasetFormat f : values()) {
            if (f.wireName.equals(name)) {
                return f;
            }
        }
        throw new IllegalArgumentException("unknown dataset format '" + name + "'");
    }

    @Override
    public String toString() {
        return wireName;
    }
}
