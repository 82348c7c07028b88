package io.loragate.recommend;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import io.loragate.diagnostics.LinearProbe;
import io.loragate.model.AdapterHook;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.model.EncoderModel;
import io.loragate.model.KvCache;
import io.loragate.model.TextTokenizer;
import io.loragate.runtime.ChatTemplate;
import io.loragate.training.data.CausalExamples;
import io.loragate.training.data.ClassificationExample;
import io.loragate.training.data.DatasetExample;
import io.loragate.training.data.TrainingExample;
import io.loragate.training.trainer.CausalLmLoss;
import io.loragate.training.trainer.TokenBatch;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Measures the domain shift of a dataset on the frozen base (see {@link ShiftEstimate}) on a
 * deterministic sample: the first {@code n} examples of a seeded shuffle. Forwards run without the
 * autograd graph and with no adapter.
 */
public final class ShiftEstimator {

    /** Examples measured at most. */
    public static final int SAMPLE = 64;
    /** Tokens per example at most. */
    public static final int MAX_TOKENS = 128;
    static final int BATCH = 8;
    static final long SEED = 0x5eed;

    private ShiftEstimator() {
    }

    /** The first {@code n} examples of a shuffle seeded by {@link #SEED} (all when fewer). */
    public static <T> List<T> sample(List<T> all, int n) {
        int[] order = new int[all.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        SplittableRandom rng = new SplittableRandom(SEED);
        for (int i = order.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        List<T> out = new ArrayList<>();
        for (int i = 0; i < Math.min(n, order.length); i++) {
            out.add(all.get(order[i]));
        }
        return out;
    }

    /** Base perplexity on the sample's target tokens (decoder bases). */
    public static ShiftEstimate perplexity(CausalModel model, TextTokenizer tokenizer, ChatTemplate template,
            List<DatasetExample> examples, int sampleSize, int maxTokens) {
        long start = System.nanoTime();
        Long eos = model.config().eosTokenIds().isEmpty() ? null : model.config().eosTokenIds().iterator().next();
        CausalExamples causal = new CausalExamples(tokenizer, eos, maxTokens);
        List<TrainingExample> tokenized = new ArrayList<>();
        for (DatasetExample e : sample(examples, sampleSize)) {
            TrainingExample t = e instanceof DatasetExample.Labeled x ? causal.text(x.text()) : causal.of(e, template);
            if (t != null && t.targetCount() > 0) {
                tokenized.add(t);
            }
        }
        double sum = 0;
        long targets = 0;
        boolean grad = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
        try {
            for (int i = 0; i < tokenized.size(); i += BATCH) {
                TokenBatch mb = TokenBatch.of(tokenized.subList(i, Math.min(tokenized.size(), i + BATCH)));
                try (NDManager fwd = model.manager().newSubManager(model.device()); KvCache cache = model.newCache(mb.batch())) {
                    NDArray logits = model.forward(fwd, mb.tokens(), cache, AdapterHook.NONE, true);
                    sum += CausalLmLoss.sum(logits, mb).getFloat();
                    targets += mb.targetCount();
                }
            }
        } finally {
            JniUtils.setGradMode(grad);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        if (targets == 0) {
            return new ShiftEstimate("none", 0, null, null, null, null, 0.5, Recommender.shiftLevel(0.5), seconds);
        }
        double loss = sum / targets;
        double score = Math.max(0, Math.min(1, loss / Math.log(model.config().vocabSize())));
        return new ShiftEstimate("base_perplexity", tokenized.size(), loss, Math.exp(loss), null, null, score,
                Recommender.shiftLevel(score), seconds);
    }

    /**
     * A linear probe on frozen features of the sample (encoders: the mean of the last hidden states
     * over real tokens; decoders: the last token's final hidden state, what their head reads),
     * cross-validated ({@link LinearProbe#crossValidatedAccuracy}, the diagnostics' probe) against the majority rate.
     */
    public static ShiftEstimate probe(BaseModel model, TextTokenizer tokenizer, List<DatasetExample.Labeled> examples,
            int sampleSize, int maxTokens) {
        long start = System.nanoTime();
        List<DatasetExample.Labeled> sample = sample(examples, sampleSize);
        TreeMap<String, Integer> index = new TreeMap<>();
        sample.forEach(e -> index.putIfAbsent(e.label(), 0));
        int k = 0;
        for (String l : index.keySet()) {
            index.put(l, k++);
        }
        int n = sample.size();
        int[] y = new int[n];
        int[] counts = new int[index.size()];
        List<long[]> ids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            y[i] = index.get(sample.get(i).label());
            counts[y[i]]++;
            ids.add(ClassificationExample.of(tokenizer, sample.get(i).text(), sample.get(i).label(), maxTokens).ids());
        }
        int majority = 0;
        for (int c : counts) {
            majority = Math.max(majority, c);
        }
        double majorityRate = n == 0 ? 1 : (double) majority / n;
        double[][] x = features(model, ids);
        double acc = index.size() < 2 ? Double.NaN : LinearProbe.crossValidatedAccuracy(x, y, index.size());
        double seconds = (System.nanoTime() - start) / 1e9;
        if (Double.isNaN(acc) || majorityRate >= 1) {
            return new ShiftEstimate("none", n, null, null, null, majorityRate, 0.5, Recommender.shiftLevel(0.5), seconds);
        }
        double lift = (acc - majorityRate) / (1 - majorityRate);
        double score = 1 - Math.max(0, Math.min(1, lift));
        return new ShiftEstimate("linear_probe", n, null, null, acc, majorityRate, score, Recommender.shiftLevel(score), seconds);
    }

    /** Frozen pooled features, one row per sequence. */
    static double[][] features(BaseModel model, List<long[]> ids) {
        double[][] out = new double[ids.size()][];
        int hidden = model.config().hiddenSize();
        boolean grad = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
        try {
            for (int i = 0; i < ids.size(); i += BATCH) {
                List<long[]> part = ids.subList(i, Math.min(ids.size(), i + BATCH));
                try (NDManager step = model.manager().newSubManager(model.device())) {
                    NDArray pooled;
                    if (model instanceof EncoderModel enc) {
                        pooled = enc.meanPool(enc.hidden(step, part, AdapterHook.NONE), part);
                    } else {
                        pooled = ((CausalModel) model).lastHidden(step, part.toArray(long[][]::new), AdapterHook.NONE);
                    }
                    float[] flat = pooled.toFloatArray();
                    for (int r = 0; r < part.size(); r++) {
                        double[] row = new double[hidden];
                        for (int j = 0; j < hidden; j++) {
                            row[j] = flat[r * hidden + j];
                        }
                        out[i + r] = row;
                    }
                }
            }
        } finally {
            JniUtils.setGradMode(grad);
        }
        return out;
    }
}
