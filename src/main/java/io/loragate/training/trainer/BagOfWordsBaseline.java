package io.loragate.training.trainer;

import io.loragate.training.data.DatasetExample;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * The obvious baseline a classification adapter must beat: TF-IDF over word unigrams and bigrams
 * with multinomial logistic regression, fitted on the job's training texts alone (no model). If this
 * beats the adapter, the adapter is not worth serving — the job report says so, and
 * {@code publish_if.min_gain_over_baseline} can refuse publication.
 *
 * <p>Features (scikit-learn's {@code TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)}
 * recipe): lower-cased runs of letters and digits, their bigrams, the {@link #MAX_FEATURES} terms of
 * highest document frequency in the training set (ties by term), weight {@code (1 + ln tf) · idf}
 * with {@code idf = ln((1 + n) / (1 + df)) + 1}, each row L2-normalised. Model: softmax regression
 * with a bias, minimising the mean cross-entropy plus {@code λ/2·‖W‖²} with {@code λ = 1/n}
 * (scikit-learn's {@code C = 1}), by {@link #STEPS} full-batch Nesterov steps of size {@code 1/L},
 * {@code L = 1 + λ} (the softmax Hessian is at most half the feature Gram matrix, and a normalised
 * row plus the bias has squared norm at most 2). Deterministic: no randomness anywhere.
 */
public final class BagOfWordsBaseline {

    /** Most terms kept (by document frequency). */
    public static final int MAX_FEATURES = 20_000;

    /** Full-batch accelerated gradient steps. */
    public static final int STEPS = 300;

    private final Map<String, Integer> vocabulary;
    private final double[] idf;
    private final List<String> labels;
    private final double[][] w; // (classes, d + 1), last column the bias

    private BagOfWordsBaseline(Map<String, Integer> vocabulary, double[] idf, List<String> labels, double[][] w) {
        this.vocabulary = vocabulary;
        this.idf = idf;
        this.labels = labels;
        this.w = w;
    }

    /**
     * The baseline's held-out metrics on {@code validation}, fitted on {@code train}; null when the
     * training set has fewer than two labels (nothing to separate). A validation label the training
     * set lacks counts as a miss.
     */
    public static EvalMetrics evaluate(List<DatasetExample.Labeled> train, List<DatasetExample.Labeled> validation) {
        if (validation.isEmpty() || train.stream().map(DatasetExample.Labeled::label).distinct().count() < 2) {
            return null;
        }
        BagOfWordsBaseline b = fit(train.stream().map(DatasetExample.Labeled::text).toList(),
                train.stream().map(DatasetExample.Labeled::label).toList());
        int[] truth = validation.stream().mapToInt(e -> b.labels.indexOf(e.label())).toArray();
        return ClassificationMetrics.of(b.logits(validation.stream().map(DatasetExample.Labeled::text).toList()), truth);
    }

    /** Fits the baseline on texts and their labels (at least two distinct labels). */
    public static BagOfWordsBaseline fit(List<String> texts, List<String> labelsOfTexts) {
        if (texts.size() != labelsOfTexts.size() || texts.isEmpty()) {
            throw new IllegalArgumentException(texts.size() + " texts and " + labelsOfTexts.size() + " labels");
        }
        List<String> labels = new ArrayList<>(new TreeSet<>(labelsOfTexts));
        if (labels.size() < 2) {
            throw new IllegalArgumentException("a baseline needs at least 2 labels");
        }
        int n = texts.size();
        List<Map<String, Integer>> counts = texts.stream().map(BagOfWordsBaseline::termCounts).toList();
        Map<String, Integer> df = new HashMap<>();
        for (Map<String, Integer> c : counts) {
            c.keySet().forEach(t -> df.merge(t, 1, Integer::sum));
        }
        List<String> kept = df.keySet().stream()
                .sorted(Comparator.comparing((String t) -> -df.get(t)).thenComparing(Comparator.naturalOrder()))
                .limit(MAX_FEATURES).toList();
        Map<String, Integer> vocabulary = new HashMap<>();
        double[] idf = new double[kept.size()];
        for (int j = 0; j < kept.size(); j++) {
            vocabulary.put(kept.get(j), j);
            idf[j] = Math.log((1.0 + n) / (1.0 + df.get(kept.get(j)))) + 1;
        }
        BagOfWordsBaseline shape = new BagOfWordsBaseline(vocabulary, idf, labels, null);
        Sparse[] x = counts.stream().map(shape::features).toArray(Sparse[]::new);
        int[] y = labelsOfTexts.stream().mapToInt(labels::indexOf).toArray();
        return new BagOfWordsBaseline(vocabulary, idf, labels, train(x, y, labels.size(), kept.size()));
    }

    /** The labels in the order of the logits' columns (sorted). */
    public List<String> labels() {
        return labels;
    }

    /** Logits {@code (texts, labels)}. */
    public float[][] logits(List<String> texts) {
        float[][] out = new float[texts.size()][];
        for (int i = 0; i < texts.size(); i++) {
            double[] z = scores(w, features(termCounts(texts.get(i))));
            out[i] = new float[z.length];
            for (int k = 0; k < z.length; k++) {
                out[i][k] = (float) z[k];
            }
        }
        return out;
    }

    /** A row of the design matrix: term indices and their weights. */
    private record Sparse(int[] index, double[] value) {
    }

    /** Lower-cased runs of letters and digits, and each adjacent pair of them, with their counts. */
    static Map<String, Integer> termCounts(String text) {
        List<String> words = new ArrayList<>();
        for (String token : text.toLowerCase(Locale.ROOT).split("[^\\p{L}\\p{N}]+")) {
            if (!token.isEmpty()) {
                words.add(token);
            }
        }
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (int i = 0; i < words.size(); i++) {
            counts.merge(words.get(i), 1, Integer::sum);
            if (i + 1 < words.size()) {
                counts.merge(words.get(i) + " " + words.get(i + 1), 1, Integer::sum);
            }
        }
        return counts;
    }

    private Sparse features(Map<String, Integer> counts) {
        List<int[]> hits = new ArrayList<>();
        for (Map.Entry<String, Integer> e : counts.entrySet()) {
            Integer j = vocabulary.get(e.getKey());
            if (j != null) {
                hits.add(new int[] {j, e.getValue()});
            }
        }
        hits.sort(Comparator.comparingInt(h -> h[0]));
        int[] index = new int[hits.size()];
        double[] value = new double[hits.size()];
        double norm = 0;
        for (int k = 0; k < hits.size(); k++) {
            index[k] = hits.get(k)[0];
            value[k] = (1 + Math.log(hits.get(k)[1])) * idf[index[k]];
            norm += value[k] * value[k];
        }
        norm = Math.sqrt(norm);
        for (int k = 0; k < value.length && norm > 0; k++) {
            value[k] /= norm;
        }
        return new Sparse(index, value);
    }

    /** Class scores {@code (classes)} of one row: {@code W·x + b}. */
    private static double[] scores(double[][] w, Sparse x) {
        int d = w[0].length - 1;
        double[] z = new double[w.length];
        for (int c = 0; c < w.length; c++) {
            double s = w[c][d];
            for (int k = 0; k < x.index.length; k++) {
                s += w[c][x.index[k]] * x.value[k];
            }
            z[c] = s;
        }
        return z;
    }

    /** Nesterov's accelerated gradient on the regularised mean cross-entropy; returns W {@code (classes, d + 1)}. */
    private static double[][] train(Sparse[] x, int[] y, int classes, int d) {
        int n = x.length;
        double lambda = 1.0 / n;
        double step = 1.0 / (1.0 + lambda);
        double[][] w = new double[classes][d + 1];
        double[][] previous = new double[classes][d + 1];
        double[][] look = new double[classes][d + 1];
        double t = 1;
        for (int it = 0; it < STEPS; it++) {
            double tNext = (1 + Math.sqrt(1 + 4 * t * t)) / 2;
            double momentum = (t - 1) / tNext;
            for (int c = 0; c < classes; c++) {
                for (int j = 0; j <= d; j++) {
                    look[c][j] = w[c][j] + momentum * (w[c][j] - previous[c][j]);
                }
            }
            double[][] grad = gradient(look, x, y, lambda);
            for (int c = 0; c < classes; c++) {
                System.arraycopy(w[c], 0, previous[c], 0, d + 1);
                for (int j = 0; j <= d; j++) {
                    w[c][j] = look[c][j] - step * grad[c][j];
                }
            }
            t = tNext;
        }
        return w;
    }

    /** The gradient of {@code mean CE + λ/2·‖W‖²} (bias unpenalised) at {@code w}. */
    private static double[][] gradient(double[][] w, Sparse[] x, int[] y, double lambda) {
        int classes = w.length;
        int d = w[0].length - 1;
        int n = x.length;
        double[][] g = new double[classes][d + 1];
        for (int i = 0; i < n; i++) {
            double[] z = scores(w, x[i]);
            double max = Double.NEGATIVE_INFINITY;
            for (double v : z) {
                max = Math.max(max, v);
            }
            double sum = 0;
            for (int c = 0; c < classes; c++) {
                z[c] = Math.exp(z[c] - max);
                sum += z[c];
            }
            for (int c = 0; c < classes; c++) {
                double r = (z[c] / sum - (c == y[i] ? 1 : 0)) / n; // dLoss/dScore, averaged
                for (int k = 0; k < x[i].index.length; k++) {
                    g[c][x[i].index[k]] += r * x[i].value[k];
                }
                g[c][d] += r;
            }
        }
        for (int c = 0; c < classes; c++) {
            for (int j = 0; j < d; j++) {
                g[c][j] += lambda * w[c][j];
            }
        }
        return g;
    }
}
