package io.loragate.model.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.loragate.model.AdapterHook;
import io.loragate.model.BaseModel;
import io.loragate.model.EncoderModel;
import io.loragate.model.TextTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The imported folder run by our BERT forward matches ONNX Runtime running the original ONNX file:
 * sentence embeddings (mean pooling + L2 normalisation, the sentence-transformers recipe for this
 * model) within 1e-4 per component, in padded mixed-length batches and one sentence at a time.
 */
class OnnxParityTest {

    static final double TOL = 1e-4;
    static final int BATCH = 6;

    /** Short and long, ASCII and not: accents, CJK, Cyrillic, Arabic, emoji, an empty string. */
    static final List<String> SENTENCES = List.of(
            "Hello!",
            "",
            "The quick brown fox jumps over the lazy dog.",
            "Transfer learning isn't magic; it's thrift.",
            "A platform team serves one base model to many tenants, each with its own small adapter.",
            "Crème brûlée, façade, naïve café — déjà vu in São Paulo and Zürich.",
            "Ångström, Øresund, Łódź, İstanbul, ÆØÅ æøå.",
            "東京は日本の首都です。",
            "我喜欢在周末读书和喝茶。",
            "한국어 문장도 처리할 수 있어야 합니다.",
            "Привет, как дела? Всё хорошо.",
            "مرحبا بالعالم، كيف حالك اليوم؟",
            "Emoji test 🚀🔥 with a smile 😊 and a flag 🇫🇷.",
            "🤖",
            "Mixed: naïve 東京 🚀 Москва café 123,456.78 $9.99 #hashtag @user https://example.com/x?y=1",
            "UPPER CASE and lower case should embed the same after lowercasing.",
            "   leading and trailing spaces   ",
            "Tabs\tand\nnewlines\nin one input.",
            "Numbers 3.14159 2.71828 1e-12 and code: for (int i = 0; i < n; i++) { sum += a[i]; }",
            "Why is the sky blue? Rayleigh scattering of sunlight by molecules in the atmosphere.",
            longText(120),
            longText(190),
            String.join(" ", java.util.Collections.nCopies(18, "Größenordnung 大きさ 🚀")));

    @TempDir
    static Path dir;
    static EncoderModel model;
    static TextTokenizer tokenizer;
    static OrtEnvironment env;
    static OrtSession session;
    static List<long[]> ids;
    static float[][][] ortHidden;   // per sentence: (len, 384)
    static float[][] ortEmbeddings; // per sentence: (384)

    @BeforeAll
    static void setUp() throws OrtException {
        Path folder = MiniLmImporter.ensureImported(dir.resolve("data"));
        model = (EncoderModel) BaseModel.load(folder, Device.cpu());
        tokenizer = TextTokenizer.load(folder);
        ids = SENTENCES.stream().map(tokenizer::encode).toList();
        System.out.println("onnx parity: token counts " + ids.stream().map(r -> r.length).toList());
        env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
        opts.setIntraOpNumThreads(2);
        session = env.createSession(EmbeddedOnnx.extract(dir).toString(), opts);
        ortHidden = new float[ids.size()][][];
        ortEmbeddings = new float[ids.size()][];
        for (int i = 0; i < ids.size(); i++) {
            ortHidden[i] = ortLastHidden(ids.get(i));
            ortEmbeddings[i] = meanPoolNormalise(ortHidden[i]);
        }
    }

    @AfterAll
    static void tearDown() throws OrtException {
        if (session != null) {
            session.close();
        }
        if (tokenizer != null) {
            tokenizer.close();
        }
        if (model != null) {
            model.close();
        }
    }

    @Test
    void inputsCoverShortLongAndUnknownTokens() {
        int max = ids.stream().mapToInt(r -> r.length).max().orElseThrow();
        assertTrue(max >= 200 && max <= 256, "longest input has " + max + " tokens");
        assertEquals(2, ids.get(1).length, "the empty string is [CLS] [SEP]");
        assertTrue(Arrays.stream(ids.get(13)).anyMatch(t -> t == 100), "the lone emoji becomes [UNK]");
        assertTrue(ids.get(0).length < 10, "tokenizer.json's fixed padding to 128 is not applied");
    }

    @Test
    void embeddingsMatchOnnxRuntimeOneAtATime() {
        double worst = 0;
        for (int i = 0; i < ids.size(); i++) {
            float[] ours = model.embed(List.of(ids.get(i)), EncoderModel.Pooling.MEAN, AdapterHook.NONE)[0];
            worst = Math.max(worst, check("single", i, ours, ortEmbeddings[i]));
        }
        System.out.printf("onnx parity: single sentences, max abs diff of embeddings %.3g%n", worst);
    }

    @Test
    void embeddingsMatchOnnxRuntimeInPaddedBatches() {
        double worst = 0;
        for (List<Integer> batch : mixedBatches()) {
            float[][] ours = model.embed(batch.stream().map(ids::get).toList(), EncoderModel.Pooling.MEAN, AdapterHook.NONE);
            for (int b = 0; b < batch.size(); b++) {
                worst = Math.max(worst, check("batched", batch.get(b), ours[b], ortEmbeddings[batch.get(b)]));
            }
        }
        System.out.printf("onnx parity: padded batches of %d, max abs diff of embeddings %.3g%n", BATCH, worst);
    }

    @Test
    void clsPoolingMatchesOnnxRuntimeFirstToken() {
        float[][] ours = model.embed(ids, EncoderModel.Pooling.CLS, AdapterHook.NONE);
        double worst = 0;
        for (int i = 0; i < ids.size(); i++) {
            worst = Math.max(worst, check("cls", i, ours[i], normalise(ortHidden[i][0])));
        }
        System.out.printf("onnx parity: CLS pooling, max abs diff %.3g%n", worst);
    }

    /** Per token, looser: hidden states are not normalised and reach magnitudes around 10. */
    @Test
    void lastHiddenStatesMatchOnnxRuntime() {
        double worst = 0;
        for (List<Integer> batch : mixedBatches()) {
            float[][][] ours = model.lastHidden(batch.stream().map(ids::get).toList(), AdapterHook.NONE);
            for (int b = 0; b < batch.size(); b++) {
                float[][] ort = ortHidden[batch.get(b)];
                assertEquals(ort.length, ours[b].length, "sentence " + batch.get(b) + " length");
                for (int t = 0; t < ort.length; t++) {
                    worst = Math.max(worst, maxAbsDiff(ours[b][t], ort[t]));
                }
            }
        }
        System.out.printf("onnx parity: last hidden states, max abs diff %.3g%n", worst);
        assertTrue(worst < 1e-3, "last hidden states differ from ONNX Runtime by " + worst);
    }

    /** Sentence indices in batches that each pair long with short inputs, so every batch pads a lot. */
    private static List<List<Integer>> mixedBatches() {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < ids.size(); i++) {
            order.add(i);
        }
        order.sort(Comparator.comparingInt(i -> ids.get(i).length));
        List<Integer> mixed = new ArrayList<>();
        for (int lo = 0, hi = order.size() - 1; lo <= hi; lo++, hi--) {
            mixed.add(order.get(hi));
            if (lo != hi) {
                mixed.add(order.get(lo));
            }
        }
        List<List<Integer>> batches = new ArrayList<>();
        for (int start = 0; start < mixed.size(); start += BATCH) {
            batches.add(mixed.subList(start, Math.min(start + BATCH, mixed.size())));
        }
        return batches;
    }

    private static double check(String mode, int i, float[] ours, float[] ort) {
        double d = maxAbsDiff(ours, ort);
        assertTrue(d < TOL, mode + " sentence " + i + " (" + ids.get(i).length + " tokens, \""
                + abbreviate(SENTENCES.get(i)) + "\"): max abs diff " + d);
        return d;
    }

    /** ONNX Runtime's {@code last_hidden_state} for one unpadded sequence: (len, hidden). */
    private static float[][] ortLastHidden(long[] tokens) throws OrtException {
        long[][] input = {tokens};
        long[][] mask = {filled(tokens.length, 1)};
        long[][] types = {filled(tokens.length, 0)};
        try (ai.onnxruntime.OnnxTensor a = ai.onnxruntime.OnnxTensor.createTensor(env, input);
                ai.onnxruntime.OnnxTensor b = ai.onnxruntime.OnnxTensor.createTensor(env, mask);
                ai.onnxruntime.OnnxTensor c = ai.onnxruntime.OnnxTensor.createTensor(env, types);
                OrtSession.Result r = session.run(Map.of("input_ids", a, "attention_mask", b, "token_type_ids", c))) {
            float[][][] out = (float[][][]) r.get("last_hidden_state").orElseThrow().getValue(); // (1, len, hidden)
            return out[0];
        }
    }

    /** sentence-transformers' recipe: mean over the tokens, then L2 normalisation. */
    private static float[] meanPoolNormalise(float[][] hidden) {
        int h = hidden[0].length;
        double[] sum = new double[h];
        for (float[] token : hidden) {
            for (int k = 0; k < h; k++) {
                sum[k] += token[k];
            }
        }
        float[] mean = new float[h];
        for (int k = 0; k < h; k++) {
            mean[k] = (float) (sum[k] / hidden.length);
        }
        return normalise(mean);
    }

    private static float[] normalise(float[] v) {
        double norm = 0;
        for (float x : v) {
            norm += (double) x * x;
        }
        norm = Math.max(Math.sqrt(norm), 1e-12);
        float[] out = new float[v.length];
        for (int k = 0; k < v.length; k++) {
            out[k] = (float) (v[k] / norm);
        }
        return out;
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    private static long[] filled(int n, long v) {
        long[] a = new long[n];
        Arrays.fill(a, v);
        return a;
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 37) + "...";
    }

    /** Varied English prose of about {@code words} words (roughly as many tokens plus punctuation). */
    private static String longText(int words) {
        String[] pool = ("Loragate keeps one frozen base model resident on the accelerator while tenants train small "
                + "adapters, which are published as immutable versions and swapped in without dropping a request; "
                + "the scheduler batches requests for many different adapters into one forward pass, and each "
                + "segment adds its own low-rank delta after the shared base matmul.").split(" ");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < words; i++) {
            sb.append(i == 0 ? "" : " ").append(pool[(i * 7) % pool.length]);
        }
        return sb.append('.').toString();
    }
}
