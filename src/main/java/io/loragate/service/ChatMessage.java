package io.loragate.service;

/** One turn of a chat as the transports hand it to {@link GenerationService#chat}: role and text, unchecked. */
public record ChatMessage(String role, String content) {
}
