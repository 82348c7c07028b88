package io.loragate.service;

import io.loragate.common.SamplingParams;
import java.util.List;

/**
 * A completion request as the transports hand it to {@link GenerationService}.
 *
 * @param model             the base model's id (no adapter) or an adapter id ({@code name} or {@code name@version})
 * @param prompts           one choice is generated per prompt (text prompts)
 * @param params            sampling and stopping
 * @param logprobs          return per-token log-probabilities
 * @param addSpecialTokens  let the tokenizer add its special tokens (BOS); false for text rendered by a
 *                          model's own chat template, which already holds them
 */
public record CompletionCommand(String model, List<String> prompts, SamplingParams params, boolean logprobs,
        boolean addSpecialTokens) {

    public CompletionCommand(String model, List<String> prompts, SamplingParams params, boolean logprobs) {
        this(model, prompts, params, logprobs, true);
    }
}
