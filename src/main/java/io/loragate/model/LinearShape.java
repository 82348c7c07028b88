package io.loragate.model;

/**
 * A named linear layer of the base: {@code y = x·Wᵀ + b} with {@code W} of shape {@code (out, in)}
 * as seen by the math (GPT-2's Conv1D stores it transposed; this record does not care).
 */
public record LinearShape(String module, long in, long out) {
}
