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
        Sampler[] samplers = new Sampler[batch];
        long[][] generated = new long[batch][];
        double[][] logprobs = new double[batch][];
        int[] count = new int[batch];
        String[] finish = new String[batch];
        String[] text = new String[batch];
        for (int r = 0; r < batch; r++) {
            if (prompts[r].length == 0) {
                throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "prompt " + r + " is empty");
            }
            samplers[r] = new Sampler(params[r]);
            generated[r] = new long[params[r].maxTokens()];
            logprobs[r] = new double[params[r].maxTokens()];
        }
        try (KvCache cache = model.newCache(batch); NDManager scope = model.manager().newSubManager()) {
            long[][] next = prompts;
            while (true) {
                float[] logits;
                try (NDManager step = scope.newSubManager()) {
                    NDArray l = model.forward(step, next, cache, hook, false); // (batch, vocab)
                    logits = l.toFloatArray();
                }
                int vocab = logits.length / batch;
                long[][] following = new long[batch][];
                boolean any = false;
                for (int r = 0; r < batch; r++) {
                    if (finish[r] != null) {
                        following[r] = new long[0];
                        continue;
                    }
                    float[] row = Arrays.copyOfRange(logits, r * vocab, (r + 1) * vocab);
                    Sampler.Choice c = samplers[r].next(row);
                    Set<Long> stops = new HashSet<>(params[r].stopTokenIds());
                    if (!params[r].ignoreEos()) {
                        stops.addAll(model.config().eosTokenIds());
                    }
                    if (stops.contains(c.token())) {
                        finish[r] = "stop";
                        following[r] = new long[0];
                        continue;
                    }
                    generated[r][count[r]] = c.token();
                    logprobs[r][count[r]] = c.logprob();
                    count[r]++;
                    if (tokenizer != null && !params[r].stopStrings().isEmpty()) {
                        String t = tokenizer.decode(Arrays.copyOf(generated[r], count[r]));
                        int cut = params[r].firstStop(t, 0);
                        if (cut >= 0) {
                            text[r] = t.substring(0, cut);
                            finish[r] = "stop";
                            following[r] = new long[0];
                            continue;
                        }
                    }
                    if (count[r] >= params[r].maxTokens()) {
                        finish[r] = "length";
                        following[r] = new long[0];
                        continue;
                    }
                    following[r] = new long[] {c.token()};
                    any = true;
                }
                if (!any) {
                    break;
                }
                next = following;
            }
        }
        Generation[] out = new Generation[batch];
        for (int r = 0; r < batch; r++) {
            long[] toks = Arrays.copyOf(generated[r], count[r]);
            String t = text[r] != null ? text[r] : tokenizer == null ? null : tokenizer.decode(toks);
            out[r] = new Generation(toks, Arrays.copyOf(logprobs[r], count[r]), t, finish[r]);
        }
        return out;
    }
}
