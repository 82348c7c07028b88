package io.loragate.training.data;

import java.util.Objects;

/** One turn of a chat training example: {@code system}, {@code user} or {@code assistant}. */
public record ChatMessage(String role, String content) {

    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
    }

    public boolean isAssistant() {
        return role.equals("assistant");
    }
}
