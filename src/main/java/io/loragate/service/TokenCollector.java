package io.loragate.service;

import io.loragate.engine.SequenceListener;
import io.loragate.model.TextTokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Accumulates one sequence's tokens, log-probabilities and text. */
class TokenCollector implements SequenceListener {

    private final boolean keepLogprobs;
    private long[] tokens = new long[16];
    private double[] logprobs = new double[16];
    private int count;
    final StringBuilder text = new StringBuilder();

    TokenCollector(boolean keepLogprobs) {
        this.keepLogprobs = keepLogprobs;
    }

    @Override
    public void onToken(long token, double logprob, String delta) {
        if (count == tokens.length) {
            tokens = Arrays.copyOf(tokens, count * 2);
            logprobs = Arrays.copyOf(logprobs, count * 2);
        }
        tokens[count] = token;
        logprobs[count] = logprob;
        count++;
        text.append(delta);
    }

    @Override
    public void onFinish(String reason, String rest, RuntimeException error) {
        text.append(rest);
    }

    long[] tokens() {
        return Arrays.copyOf(tokens, count);
    }

    double[] logprobs() {
        return keepLogprobs ? Arrays.copyOf(logprobs, count) : null;
    }

    List<String> tokenStrings(TextTokenizer tokenizer) {
        List<String> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            out.add(tokenizer.decodeRaw(new long[] {tokens[i]}));
        }
        return out;
    }
}
