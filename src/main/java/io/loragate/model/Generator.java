package io.loragate.model;

import io.loragate.common.LoragateException;
import io.loragate.common.SamplingParams;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

/**
 * Static-batch generation: prefill every prompt together, then decode one token per unfinished row
 * per step against the KV cache until every row stops. (The serving engine does continuous batching
 * on top of the same forward; this is the simple loop for tools, tests and benchmarks.)
 */
public final class Generator {

    private Generator() {
    }

    /**
     * @param hook       the rows' adapters (row i of the batch is prompt i)
     * @param tokenizer  used for stop strings and the returned text; may be null
     */
    public static Generation[] generate(CausalModel model, long[][] prompts, AdapterHook hook, SamplingParams[] params,
            TextTokenizer tokenizer) {
        int batch = prompts.length;
        Row[] rows = new Row[batch];
        for (int r = 0; r < batch; r++) {
            if (prompts[r].length == 0) {
                throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "prompt " + r + " is empty");
            }
            rows[r] = new Row(params[r], model.config().eosTokenIds());
        }
        boolean greedy = Arrays.stream(params).allMatch(SamplingParams::isGreedy);
        try (KvCache cache = model.newCache(batch); NDManager scope = model.manager().newSubManager()) {
            long[][] next = prompts;
            while (true) {
                Sampler.Choice[] choices = new Sampler.Choice[batch];
                try (NDManager step = scope.newSubManager()) {
                    NDArray l = model.forward(step, next, cache, hook, false); // (batch, vocab)
                    if (greedy) {
                        // on the device: one token and one log-probability per row come back, not the logits
                        GreedyChoice[] g = GreedyChoice.of(l);
                        for (int r = 0; r < batch; r++) {
                            choices[r] = new Sampler.Choice(g[r].token(), g[r].logprob());
                        }
                    } else {
                        float[] logits = l.toFloatArray();
                        int vocab = logits.length / batch;
                        for (int r = 0; r < batch; r++) {
                            if (!rows[r].finished()) {
                                choices[r] = rows[r].sampler.next(Arrays.copyOfRange(logits, r * vocab, (r + 1) * vocab));
                            }
                        }
                    }
                }
                long[][] following = new long[batch][];
                boolean any = false;
                for (int r = 0; r < batch; r++) {
                    following[r] = rows[r].step(choices[r], tokenizer);
                    any |= following[r].length > 0;
                }
                if (!any) {
                    break;
                }
                next = following;
            }
        }
        Generation[] out = new Generation[batch];
        for (int r = 0; r < batch; r++) {
            out[r] = rows[r].generation(tokenizer);
        }
        return out;
    }

    /** One row's sampler and what it generated so far. */
    private static final class Row {
        final SamplingParams params;
        final Sampler sampler;
        final Set<Long> stops;
        final long[] generated;
        final double[] logprobs;
        int count;
        String finish;
        String text;

        Row(SamplingParams params, Set<Long> eosTokenIds) {
            this.params = params;
            this.sampler = new Sampler(params);
            this.stops = new HashSet<>(params.stopTokenIds());
            if (!params.ignoreEos()) {
                stops.addAll(eosTokenIds);
            }
            this.generated = new long[params.maxTokens()];
            this.logprobs = new double[params.maxTokens()];
        }

        boolean finished() {
            return finish != null;
        }

        /** Takes this row's next token; answers the token to feed next, or none when it finished. */
        long[] step(Sampler.Choice c, TextTokenizer tokenizer) {
            if (finish != null) {
                return new long[0];
            }
            if (stops.contains(c.token())) {
                finish = "stop";
                return new long[0];
            }
            generated[count] = c.token();
            logprobs[count] = c.logprob();
            count++;
            if (tokenizer != null && !params.stopStrings().isEmpty()) {
                String t = tokenizer.decode(Arrays.copyOf(generated, count));
                int cut = params.firstStop(t, 0);
                if (cut >= 0) {
                    text = t.substring(0, cut);
                    finish = "stop";
                    return new long[0];
                }
            }
            if (count >= params.maxTokens()) {
                finish = "length";
                return new long[0];
            }
            return new long[] {c.token()};
        }

        Generation generation(TextTokenizer tokenizer) {
            long[] toks = Arrays.copyOf(generated, count);
            String t = text != null ? text : tokenizer == null ? null : tokenizer.decode(toks);
            return new Generation(toks, Arrays.copyOf(logprobs, count), t, finish);
        }
    }
}
