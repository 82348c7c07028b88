package io.loragate.service;

import java.util.List;
import java.util.Map;

/** Class probabilities per input, in input order. */
public record ClassificationResult(String model, List<Item> items, int promptTokens) {

    /** One input's most likely label and the probability of every label. */
    public record Item(int index, String label, Map<String, Double> scores) {
    }
}
