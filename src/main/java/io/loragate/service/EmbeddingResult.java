package io.loragate.service;

import java.util.List;

/** Sentence embeddings, one L2-normalised vector per input, in input order. */
public record EmbeddingResult(String model, List<float[]> vectors, int promptTokens) {
}
