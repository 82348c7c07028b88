package io.loragate.training.data;

import java.util.List;
import java.util.Objects;

/**
 * One valid example of a dataset, as its line said it. {@code slice} is the line's optional
 * {@code "slice"} string (a subgroup for evaluation), or null.
 */
public sealed interface DatasetExample {

    /** The line's {@code slice}, or null. */
    String slice();

    /** The dataset format this example belongs to. */
    DatasetFormat format();

    /** A conversation with at least one assistant turn. */
    record Chat(List<ChatMessage> messages, String slice) implements DatasetExample {
        public Chat {
            messages = List.copyOf(messages);
        }

        @Override
        public DatasetFormat format() {
            return DatasetFormat.CHAT;
        }
    }

    /** A prompt (context) and a non-empty completion (the target). */
    record PromptCompletion(String prompt, String completion, String slice) implements DatasetExample {
        public PromptCompletion {
            Objects.requireNonNull(prompt, "prompt");
            Objects.requireNonNull(completion, "completion");
        }

        @Override
        public DatasetFormat format() {
            return DatasetFormat.PROMPT_COMPLETION;
        }
    }

    /** Plain text. */
    record Text(String text, String slice) implements DatasetExample {
        public Text {
            Objects.requireNonNull(text, "text");
        }

        @Override
        public DatasetFormat format() {
            return DatasetFormat.TEXT;
        }
    }

    /** A text and its label (an integer label is kept as its decimal string). */
    record Labeled(String text, String label, String slice) implements DatasetExample {
        public Labeled {
            Objects.requireNonNull(text, "text");
            Objects.requireNonNull(label, "label");
        }

        @Override
        public DatasetFormat format() {
            return DatasetFormat.CLASSIFICATION;
        }
    }
}
