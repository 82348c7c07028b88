package io.loragate.service;

import io.loragate.model.SamplingParams;
import java.util.List;

/**
 * A completion request as the transports hand it to {@link InferenceService}.
 *
 * @param model        the base model's id (no adapter) or an adapter id ({@code name} or {@code name@version})
 * @param prompts      one choice is generated per prompt (text prompts)
 * @param params       sampling and stopping
 * @param logprobs     return per-token log-probabilities
 */
public record CompletionCommand(String model, List<String> prompts, SamplingParams params, boolean logprobs) {
}
