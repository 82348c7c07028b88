package io.loragate.diagnostics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import io.loragate.Fixtures;
import io.loragate.adapter.LoraAdapter;
import io.loragate.adapter.MultiLoraHook;
import io.loragate.adapter.PromptPart;
import io.loragate.adapter.TrainableLora;
import io.loragate.model.AdapterHook;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.model.EncoderModel;
import io.loragate.model.TextTokenizer;
import io.loragate.training.data.CausalExamples;
import io.loragate.training.data.ClassificationExample;
import io.loragate.training.data.TrainingExample;
import io.loragate.training.trainer.EvalMetrics;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The diagnostics on real (tiny) bases: tiny-llama (a decoder: CKA, forgetting, negative transfer,
 * slices, a decoder classifier) and tiny-bert-cls (an encoder classifier: probes, calibration,
 * slices; forgetting not applicable). Adapters are whatever hooks: a PEFT fixture LoRA and
 * deliberately bad hand-written hooks.
 */
class DiagnosticsTest {

    static CausalModel llama;
    static TextTokenizer llamaTok;
    static LoraAdapter adapter0;
    static EncoderModel bert;
    static TextTokenizer bertTok;

    static final Diagnostics.Settings SETTINGS = Diagnostics.Settings.DEFAULTS;

    static final String[][] TOPICS = {
        {"the striker scored a goal in the match", "the team won the cup final", "a fast runner broke the record",
            "the coach praised the goalkeeper", "fans cheered in the stadium", "the tennis player served well",
            "the cyclist climbed the mountain stage", "a late penalty decided the game"},
        {"bake the bread with flour and butter", "the soup needs salt and pepper", "fresh tomatoes make a good sauce",
            "she cooked rice with garlic", "the cake has sugar and eggs", "grill the fish with lemon",
            "a bowl of noodles with broth", "the chef chopped onions and carrots"},
        {"the laptop runs a new processor", "install the software update tonight", "the phone battery charges fast",
            "a server stores the database", "the program compiles without errors", "the network router restarted",
            "the robot uses a camera sensor", "upload the files to the cloud"}};

    @BeforeAll
    static void load() {
        llama = (CausalModel) BaseModel.load(Fixtures.hf("tiny-llama"), Device.cpu());
        llamaTok = TextTokenizer.load(Fixtures.hf("tiny-llama"));
        adapter0 = LoraAdapter.load(Fixtures.hf("tiny-llama").resolve("adapter0"), llama.config().family(), llama.linears(), llama.paramShapes(),
                Device.cpu());
        bert = (EncoderModel) BaseModel.load(Fixtures.hf("tiny-bert-cls"), Device.cpu());
        bertTok = TextTokenizer.load(Fixtures.hf("tiny-bert-cls"));
    }

    @AfterAll
    static void close() {
        adapter0.close();
        llamaTok.close();
        llama.close();
        bertTok.close();
        bert.close();
    }

    static List<Diagnostics.Lm> lmValidation() {
        CausalExamples ex = new CausalExamples(llamaTok, null, 64);
        List<Diagnostics.Lm> out = new ArrayList<>();
        for (int k = 0; k < TOPICS.length; k++) {
            for (String s : TOPICS[k]) {
                out.add(new Diagnostics.Lm(ex.text(s), k == 0 ? "sports" : k == 1 ? "food" : null));
            }
        }
        return out;
    }

    static Diagnostics.Reference reference() {
        CausalExamples ex = new CausalExamples(llamaTok, null, 64);
        return new Diagnostics.Reference("built-in", DiagnosticsService.builtInReference().stream().map(ex::text).toList());
    }

    /** Each class writes its words from its own alphabet (the fixtures' vocabularies are characters). */
    static final String[] ALPHABETS = {"abcde", "pqrst", "12345"};

    /**
     * Labelled synthetic sentences, 4 per class: 6 words of 3 to 5 characters of the class's alphabet
     * (seeded); {@code half} 0 and 1 draw different sentences. Slices: "even" and "odd" positions.
     */
    static List<Diagnostics.Labeled> labeled(TextTokenizer tok, List<String> labels, int half) {
        java.util.Random rng = new java.util.Random(100 + half);
        List<Diagnostics.Labeled> out = new ArrayList<>();
        for (int k = 0; k < ALPHABETS.length; k++) {
            for (int i = 0; i < 4; i++) {
                StringBuilder sb = new StringBuilder();
                for (int w = 0; w < 6; w++) {
                    if (w > 0) {
                        sb.append(' ');
                    }
                    for (int c = 0, n = 3 + rng.nextInt(3); c < n; c++) {
                        sb.append(ALPHABETS[k].charAt(rng.nextInt(ALPHABETS[k].length())));
                    }
                }
                out.add(new Diagnostics.Labeled(ClassificationExample.of(tok, sb.toString(), labels.get(k), 64).ids(),
                        labels.get(k), i % 2 == 0 ? "even" : "odd"));
            }
        }
        return out;
    }

    /**
     * A deliberately harmful "adapter": it multiplies the logits by -20, so that the likeliest token
     * becomes the least likely and every distribution gets sharper (a higher loss on any text).
     */
    static final class Wrecker implements AdapterHook {
        @Override
        public NDArray afterLinear(String module, NDArray x, NDArray y) {
            return module.equals("lm_head") ? y.mul(-20f) : y;
        }
    }

    @Test
    void theBaseAgainstItselfHasCkaOneAtEveryLayerNoForgettingAndNoNegativeTransfer() {
        Diagnostics.Result r = Diagnostics.causal(llama, AdapterHook.NONE, lmValidation(), reference(), SETTINGS);
        JsonNode layers = r.report().get("layers");
        assertEquals(llama.config().numLayers(), layers.size());
        for (JsonNode l : layers) {
            assertEquals(1.0, l.get("cka").asDouble(), 1e-6, "layer " + l.get("layer"));
        }
        JsonNode f = r.report().get("forgetting");
        assertTrue(f.get("applicable").asBoolean());
        assertEquals(0.0, f.get("delta").asDouble(), 1e-9);
        assertEquals(f.get("base_loss").asDouble(), f.get("adapter_loss").asDouble(), 1e-9);
        assertFalse(r.report().get("negative_transfer").asBoolean());
        assertEquals(r.base().loss(), r.adapter().loss(), 1e-9);
    }

    @Test
    void aRealAdapterChangesTheLayersItActsOnAndIsReportedPerSlice() {
        Diagnostics.Result r = Diagnostics.causal(llama, MultiLoraHook.single(adapter0), lmValidation(), reference(), SETTINGS);
        for (JsonNode l : r.report().get("layers")) {
            double cka = l.get("cka").asDouble();
            assertTrue(cka < 1 - 1e-6 && cka > 0, "adapter0 targets every layer; layer " + l.get("layer") + " cka " + cka);
        }
        JsonNode f = r.report().get("forgetting");
        assertEquals("built-in", f.get("reference").asText());
        assertEquals(f.get("adapter_loss").asDouble() - f.get("base_loss").asDouble(), f.get("delta").asDouble(), 1e-9);
        assertNotNull(r.forgettingDelta());
        JsonNode slices = r.report().get("slices");
        assertEquals(List.of("food", "sports"), iterator(slices.fieldNames()), "examples without a slice are in none");
        assertEquals(8, slices.get("sports").get("examples").asInt());
        assertTrue(slices.get("sports").get("adapter").has("perplexity"));
        assertTrue(slices.get("food").has("negative_transfer"));
        // the overall loss is the token-weighted mean of every example, slices included or not
        assertEquals(24, r.adapter().examples());
        assertTrue(r.report().get("diagnostics").get("cka_token_rows").asInt() > 24);
    }

    @Test
    void onlyTheAskedLayersAreAnalysedAndTheExampleCapHolds() {
        Diagnostics.Result r = Diagnostics.causal(llama, MultiLoraHook.single(adapter0), lmValidation(), null,
                new Diagnostics.Settings(5, List.of(1), 48));
        assertEquals(1, r.report().get("layers").size());
        assertEquals(1, r.report().get("layers").get(0).get("layer").asInt());
        assertEquals(5, r.adapter().examples());
        assertFalse(r.report().get("forgetting").get("applicable").asBoolean());
    }

    @Test
    void aHarmfulAdapterIsFlaggedAsNegativeTransferAndForgets() {
        Diagnostics.Result r = Diagnostics.causal(llama, new Wrecker(), lmValidation(), reference(), SETTINGS);
        assertTrue(r.report().get("negative_transfer").asBoolean());
        JsonNode m = r.report().get("negative_transfer_metrics").get(0);
        assertEquals("loss", m.get("metric").asText());
        assertEquals("base", m.get("baseline").asText());
        assertTrue(r.forgettingDelta() > 0.1, "delta " + r.forgettingDelta());
    }

    @Test
    void encoderClassifierProbesCalibrationSlicesAndNoForgetting() {
        List<String> labels = bert.config().labels();
        List<Diagnostics.Labeled> train = labeled(bertTok, labels, 0);
        List<Diagnostics.Labeled> val = labeled(bertTok, labels, 1);
        // the base's own classifier, untouched: a classifier with random weights
        Diagnostics.Result r = Diagnostics.classification(bert, AdapterHook.NONE, labels, train, val, null, Map.of(), SETTINGS);
        JsonNode rep = r.report();
        JsonNode probe = rep.get("base_probe");
        assertEquals(12, probe.get("examples").asInt());
        assertTrue(probe.has("ece") && probe.get("reliability").size() == 10 && probe.has("macro_f1"));
        assertTrue(probe.get("accuracy").asDouble() > 0.5, "the topics are separable by their words: " + probe);
        for (JsonNode l : rep.get("layers")) {
            assertEquals(1.0, l.get("cka").asDouble(), 1e-6);
            double a = l.get("probe_accuracy_base").asDouble();
            assertTrue(a >= 0 && a <= 1);
            assertEquals(a, l.get("probe_accuracy_adapter").asDouble(), 1e-12, "the same features give the same probe");
        }
        JsonNode f = rep.get("forgetting");
        assertFalse(f.get("applicable").asBoolean());
        assertTrue(f.get("reason").asText().contains("encoder"));
        assertEquals(List.of("even", "odd"), iterator(rep.get("slices").fieldNames()));
        assertEquals(6, rep.get("slices").get("odd").get("examples").asInt());
        assertTrue(rep.get("slices").get("odd").get("adapter").has("ece"));
        assertTrue(rep.get("slices").get("odd").has("base_probe"));
        assertEquals(12, rep.get("diagnostics").get("probe_train_examples").asInt());
    }

    /** A classifier "adapter" whose head always answers the first label, with high confidence. */
    static final class AlwaysFirst implements AdapterHook {
        @Override
        public NDArray afterLinear(String module, NDArray x, NDArray y) {
            if (module.equals(EncoderModel.HEAD) || module.equals(LoraAdapter.SEQUENCE_HEAD)) {
                NDManager m = y.getManager();
                float[] bias = new float[(int) y.getShape().get(1)];
                bias[0] = 1000f;
                return y.mul(0f).add(m.create(bias));
            }
            return y;
        }
    }

    @Test
    void aWorseClassifierThanTheProbeIsNegativeTransferOnEncoderAndDecoder() {
        List<String> labels = bert.config().labels();
        Diagnostics.Result r = Diagnostics.classification(bert, new AlwaysFirst(), labels, labeled(bertTok, labels, 0),
                labeled(bertTok, labels, 1), null, Map.of(), SETTINGS);
        assertEquals(1.0 / 3, r.adapter().accuracy(), 1e-12);
        assertTrue(r.report().get("negative_transfer").asBoolean());
        assertEquals("accuracy", r.report().get("negative_transfer_metrics").get(0).get("metric").asText());
        assertEquals("base_probe", r.report().get("negative_transfer_metrics").get(0).get("baseline").asText());
        assertEquals(2.0 / 3, r.adapter().ece(), 1e-6, "confidence 1, accuracy 1/3");

        // a decoder classifier: the head reads each input's last hidden state; a baseline passed by the caller counts too
        List<String> names = List.of("sports", "food", "tech");
        EvalMetrics perfect = new EvalMetrics(12, 0.0, null, 1.0, 1.0, 0.0, null);
        Diagnostics.Result d = Diagnostics.classification(llama, new AlwaysFirst(), names, labeled(llamaTok, names, 0),
                labeled(llamaTok, names, 1), reference(), Map.of("base", perfect), SETTINGS);
        assertTrue(d.report().get("negative_transfer").asBoolean());
        assertEquals("base", d.report().get("negative_transfer_metrics").get(0).get("baseline").asText());
        assertEquals(llama.config().numLayers(), d.report().get("layers").size());
        assertTrue(d.report().get("forgetting").get("applicable").asBoolean(), "a decoder has an LM loss");
        assertEquals(0.0, d.forgettingDelta(), 1e-9, "the hook only touches the head, not the language model");
    }

    private static long[] concat(long[] a, long[] b) {
        long[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** {@code e} after the real tokens {@code t}, which are context, never targets. */
    private static TrainingExample after(long[] t, TrainingExample e) {
        boolean[] target = new boolean[t.length + e.length()];
        System.arraycopy(e.target(), 0, target, t.length, e.length());
        return new TrainingExample(concat(t, e.ids()), target);
    }

    private static double meanLoss(double[][] rowLosses) {
        double sum = 0;
        double targets = 0;
        for (double[] r : rowLosses) {
            sum += r[0];
            targets += r[1];
        }
        return sum / targets;
    }

    /**
     * Prompt tuning: the diagnostics put the adapter's virtual tokens in front of every input. Closed
     * form: a prompt whose embeddings are those of real tokens {@code t} scores exactly as the base
     * does on the same inputs with {@code t} in front (as context): validation loss, forgetting loss.
     * CKA compares the same real tokens (the virtual positions are dropped), so every layer has a value.
     */
    @Test
    void promptTuningDiagnosticsPutTheVirtualTokensInFront() {
        String initText = "permission is hereby granted";
        long[] t = llamaTok.encode(initText);
        try (TrainableLora prompt = PromptPart.trainable(llama, llamaTok, t.length, initText, "CAUSAL_LM", "tiny-llama", 3,
                null)) {
            prompt.eval();
            Diagnostics.Result r = Diagnostics.causal(llama, prompt, lmValidation(), reference(), SETTINGS);
            boolean previous = ai.djl.pytorch.jni.JniUtils.isGradMode();
            ai.djl.pytorch.jni.JniUtils.setGradMode(false);
            double expected;
            double expectedReference;
            try {
                expected = meanLoss(Diagnostics.rowLosses(llama,
                        lmValidation().stream().map(e -> after(t, e.example())).toList(), null));
                expectedReference = meanLoss(Diagnostics.rowLosses(llama,
                        reference().examples().stream().limit(SETTINGS.maxExamples()).map(e -> after(t, e)).toList(), null));
            } finally {
                ai.djl.pytorch.jni.JniUtils.setGradMode(previous);
            }
            System.out.printf("prompt tuning diagnostics: adapter loss %.6f vs base with the tokens in front %.6f (base"
                    + " alone %.6f); forgetting adapter loss %.6f vs %.6f%n", r.adapter().loss(), expected, r.base().loss(),
                    r.report().get("forgetting").get("adapter_loss").asDouble(), expectedReference);
            assertEquals(expected, r.adapter().loss(), 1e-5);
            assertTrue(Math.abs(r.adapter().loss() - r.base().loss()) > 1e-4, "the prompt changes the loss: the diagnostics"
                    + " must not measure the base");
            assertEquals(expectedReference, r.report().get("forgetting").get("adapter_loss").asDouble(), 1e-5);
            assertEquals(t.length, r.report().get("diagnostics").get("virtual_tokens").asInt());

            Diagnostics.Result self = Diagnostics.causal(llama, AdapterHook.NONE, lmValidation(), null, SETTINGS);
            assertEquals(self.report().get("diagnostics").get("cka_token_rows").asInt(),
                    r.report().get("diagnostics").get("cka_token_rows").asInt(), "the same real tokens, without the virtual ones");
            assertEquals(llama.config().numLayers(), r.report().get("layers").size());
            for (JsonNode l : r.report().get("layers")) {
                double cka = l.get("cka").asDouble(Double.NaN);
                assertTrue(cka > 0 && cka < 1 - 1e-6, "layer " + l.get("layer") + ": the prompt changes every position's"
                        + " context; cka " + l.get("cka"));
            }
        }
    }

    /**
     * The same closed form for classifiers: an encoder (tiny-bert-cls's own head, near uniform on this
     * random model, so the hidden states show the prompt: CKA below 1) and a decoder whose prompt
     * adapter carries a score head. The hook itself, fed the real tokens in front instead of the
     * virtual ones (which it leaves alone), gives the expected logits.
     */
    @Test
    void promptTuningClassifierDiagnosticsEqualTheBaseWithThoseTokensInFront() {
        String initText = "permission is hereby granted";
        List<String> names = List.of("sports", "food", "tech");
        record Case(BaseModel model, TextTokenizer tok, List<String> labels, TrainableLora.HeadSpec head) {
        }
        for (Case c : List.of(new Case(bert, bertTok, bert.config().labels(), null),
                new Case(llama, llamaTok, names, new TrainableLora.HeadSpec(LoraAdapter.SEQUENCE_HEAD,
                        llama.config().hiddenSize(), names, false, null, null)))) {
            long[] t = c.tok().encode(initText);
            List<Diagnostics.Labeled> val = labeled(c.tok(), c.labels(), 1);
            int[] truth = val.stream().mapToInt(e -> c.labels().indexOf(e.label())).toArray();
            try (TrainableLora prompt = PromptPart.trainable(c.model(), c.tok(), t.length, initText, "SEQ_CLS", "fixture", 3,
                    c.head())) {
                prompt.eval();
                Diagnostics.Result r = Diagnostics.classification(c.model(), prompt, c.labels(), labeled(c.tok(), c.labels(), 0),
                        val, null, Map.of(), SETTINGS);
                EvalMetrics expected;
                EvalMetrics withoutPrompt;
                boolean previous = ai.djl.pytorch.jni.JniUtils.isGradMode();
                ai.djl.pytorch.jni.JniUtils.setGradMode(false);
                try {
                    expected = io.loragate.training.trainer.ClassificationMetrics.of(Diagnostics.headLogits(c.model(),
                            val.stream().map(e -> concat(t, e.ids())).toList(), new HiddenStates(prompt, java.util.Set.of(), 0),
                            c.labels().size()), truth);
                    withoutPrompt = io.loragate.training.trainer.ClassificationMetrics.of(Diagnostics.headLogits(c.model(),
                            val.stream().map(Diagnostics.Labeled::ids).toList(), new HiddenStates(prompt, java.util.Set.of(), 0),
                            c.labels().size()), truth);
                } finally {
                    ai.djl.pytorch.jni.JniUtils.setGradMode(previous);
                }
                String name = c.model().config().architectureName();
                System.out.printf("%s prompt tuning classifier diagnostics: adapter loss %.6f vs the tokens in front %.6f"
                        + " (no prompt %.6f); layers %s%n", name, r.adapter().loss(), expected.loss(), withoutPrompt.loss(),
                        r.report().get("layers"));
                assertEquals(expected.loss(), r.adapter().loss(), 1e-5, name);
                assertEquals(expected.accuracy(), r.adapter().accuracy(), 1e-12, name);
                assertEquals(expected.ece(), r.adapter().ece(), 1e-5, name);
                for (JsonNode l : r.report().get("layers")) {
                    double cka = l.get("cka").asDouble(Double.NaN);
                    assertTrue(cka > 0 && cka < 1 - 1e-3, name + " layer " + l.get("layer") + ": the prompt changes the real"
                            + " tokens' states; cka " + l.get("cka"));
                    assertTrue(l.get("probe_accuracy_adapter").isNumber(), name);
                }
                if (c.head() != null) {
                    assertTrue(Math.abs(withoutPrompt.loss() - r.adapter().loss()) > 1e-4, "the prompt changes the decoder"
                            + " classifier's loss");
                }
            }
        }
    }

    static List<String> iterator(java.util.Iterator<String> it) {
        List<String> out = new ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
