package io.loragate.training.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.loragate.Fixtures;
import io.loragate.adapter.LoraAdapter;
import io.loragate.adapter.MultiLoraHook;
import io.loragate.adapter.PeftConfig;
import io.loragate.adapter.TrainableLora;
import io.loragate.model.AdapterHook;
import io.loragate.model.BaseModel;
import io.loragate.model.EncoderModel;
import io.loragate.model.Scalars;
import io.loragate.model.TextTokenizer;
import io.loragate.model.onnx.MiniLmImporter;
import io.loragate.training.data.ClassificationExample;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sequence classification with LoRA + a head on the embedded all-MiniLM-L6-v2 (a sentence encoder
 * without a classifier: the head reads the mean pool) and on tiny-bert-cls (a classifier checkpoint:
 * the head starts from the base's, over the tanh pooler).
 */
public class ClassificationTrainerTest {

    public record Labeled(String text, String label) {
    }

    @TempDir
    static Path dir;
    static EncoderModel miniLm;
    static TextTokenizer tokenizer;
    static List<Labeled> train = new ArrayList<>();
    static List<Labeled> heldOut = new ArrayList<>();

    @BeforeAll
    static void load() {
        Path folder = MiniLmImporter.ensureImported(dir.resolve("data"));
        miniLm = (EncoderModel) BaseModel.load(folder, Device.cpu());
        tokenizer = TextTokenizer.load(folder);
        split(topics(), 15, 11);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
        miniLm.close();
    }

    /** The 60 sentences of {@code datasets/topics.jsonl} (sports, food, tech: 20 each). */
    public static List<Labeled> topics() {
        List<Labeled> out = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        try (InputStream in = ClassificationTrainerTest.class.getResourceAsStream("/datasets/topics.jsonl")) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank()) {
                    JsonNode n = json.readTree(line);
                    out.add(new Labeled(n.get("text").asText(), n.get("label").asText()));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** Stratified seeded split: per label (in sorted order), a shuffle, the first {@code perLabel} to training. */
    static void split(List<Labeled> all, int perLabel, long seed) {
        Map<String, List<Labeled>> byLabel = new TreeMap<>();
        all.forEach(l -> byLabel.computeIfAbsent(l.label(), k -> new ArrayList<>()).add(l));
        Random rng = new Random(seed);
        for (List<Labeled> group : byLabel.values()) {
            Collections.shuffle(group, rng);
            train.addAll(group.subList(0, perLabel));
            heldOut.addAll(group.subList(perLabel, group.size()));
        }
    }

    public static List<ClassificationExample> tokenize(TextTokenizer tok, List<Labeled> data) {
        return data.stream().map(l -> ClassificationExample.of(tok, l.text(), l.label(), 64)).toList();
    }

    static PeftConfig lora(double dropout) {
        PeftConfig c = PeftConfig.lora(8, 16, List.of("query", "value"), "SEQ_CLS");
        return CausalLmTrainerTest.withDropout(c, dropout);
    }

    /** Per base array: a checksum of its values, and that it has no gradient. */
    public static Map<String, Double> baseChecksums(BaseModel model) {
        Map<String, Double> sums = new LinkedHashMap<>();
        int i = 0;
        for (NDArray a : model.manager().getManagedArrays().stream().filter(x -> x instanceof NDArray).map(x -> (NDArray) x).toList()) {
            assertFalse(a.hasGradient(), "a base array requires a gradient");
            double s = 0;
            float[] v = a.getDataType().isFloating() ? a.toFloatArray() : new float[0];
            for (int k = 0; k < v.length; k++) {
                s += v[k] * (1 + (k % 7));
            }
            sums.put(i++ + ":" + a.getShape(), s);
        }
        return sums;
    }

    @Test
    void miniLmLearnsTheTopicsAndTheSavedAdapterServesTheSamePredictions(@TempDir Path out) {
        List<ClassificationExample> tr = tokenize(tokenizer, train);
        List<ClassificationExample> ho = tokenize(tokenizer, heldOut);
        assertEquals(45, tr.size());
        assertEquals(15, ho.size());
        TrainingConfig hyper = TrainingConfig.defaults().withEpochs(6).withBatchSize(8).withLearningRate(3e-3)
                .withWarmup(2, LrSchedule.Kind.LINEAR).withWeightDecay(0.01).withSeed(3);
        Map<String, Double> before = baseChecksums(miniLm);
        int baseArrays = miniLm.manager().getManagedArrays().size();
        long t0 = System.nanoTime();
        try (ClassificationTrainer run = ClassificationTrainer.create(miniLm, lora(0.1), hyper, tr, ho)) {
            assertEquals(List.of("food", "sports", "tech"), run.labels());
            EvalMetrics base = run.evaluateBase();
            Set<List<Integer>> live = new HashSet<>();
            List<StepMetrics> steps = new ArrayList<>();
            TrainingResult r = run.train(m -> {
                steps.add(m);
                if (m.step() > 1) {
                    live.add(List.of(miniLm.manager().getManagedArrays().size(), run.lora.liveArrays(), run.liveArrays()));
                }
            }, 0);
            double seconds = (System.nanoTime() - t0) / 1e9;
            EvalMetrics trained = run.evaluateAdapter();
            System.out.printf("MiniLM topics: %d steps in %.1f s, train loss %.3f -> %.3f; held-out accuracy base head %.3f"
                    + " -> adapter %.3f, macro-F1 %.3f -> %.3f, ECE %.3f -> %.3f, loss %.3f -> %.3f%n", r.steps(), seconds,
                    r.firstLoss(), r.lastLoss(), base.accuracy(), trained.accuracy(), base.macroF1(), trained.macroF1(),
                    base.ece(), trained.ece(), base.loss(), trained.loss());
            assertEquals(run.totalSteps(), r.steps());
            assertEquals(36, r.steps());
            assertEquals(1, live.size(), "arrays alive after each step (base, LoRA, optimizer): " + live);
            assertEquals(baseArrays, live.iterator().next().get(0), "nothing attached to the base's manager");
            steps.forEach(m -> assertTrue(!m.skipped() && m.gradNorm() > 0 && m.targetTokens() > 0));
            assertTrue(trained.accuracy() >= base.accuracy() + 0.25, "held-out accuracy " + base.accuracy() + " -> " + trained.accuracy());
            assertTrue(trained.accuracy() >= 1.0 / 3 + 0.4, "held-out accuracy " + trained.accuracy() + " is near chance");
            assertTrue(trained.loss() < base.loss(), "held-out loss " + base.loss() + " -> " + trained.loss());
            assertEquals(before, baseChecksums(miniLm), "the base's weights changed");

            // the saved PEFT folder: LoRA + classifier head + label names, served by the multi-adapter hook
            Path folder = out.resolve("topics");
            run.saveAdapter(folder);
            PeftConfig saved = PeftConfig.read(folder.resolve(PeftConfig.FILE_NAME));
            assertEquals(List.of("classifier"), saved.modulesToSave());
            assertEquals("[\"food\",\"sports\",\"tech\"]", saved.extras().get(TrainableLora.LABELS_KEY).toString());
            List<long[]> ids = ho.stream().map(ClassificationExample::ids).toList();
            float[][] inTrainer = run.logits(ids);
            try (LoraAdapter adapter = LoraAdapter.load(folder, miniLm.config().family(), miniLm.linears(), miniLm.paramShapes(), Device.cpu())) {
                assertEquals(3, adapter.headLabels(EncoderModel.HEAD));
                assertEquals(run.labels(), adapter.labels(3));
                float[][] served = miniLm.classify(ids, MultiLoraHook.single(adapter), 3);
                assertArrayEquals(ClassificationMetrics.predictions(inTrainer), ClassificationMetrics.predictions(served));
                double worst = 0;
                for (int i = 0; i < ids.size(); i++) {
                    worst = Math.max(worst, Fixtures.maxAbsDiff(inTrainer[i], served[i]));
                }
                System.out.println("served vs in-trainer logits: max abs diff " + worst);
                assertTrue(worst < 1e-4, "served logits differ by " + worst);
            }
        }
    }

    /**
     * For a fresh adapter (LoRA B = 0, so the features are the base's) the head's gradient of the
     * mean cross-entropy is {@code (softmax − onehot)ᵀ·pooled / batch} for the weight and the mean
     * of {@code softmax − onehot} for the bias, computed here in Java from the pooled features.
     */
    @Test
    void headGradientMatchesTheClosedForm() {
        List<ClassificationExample> batch = tokenize(tokenizer, train.subList(0, 8));
        List<long[]> ids = batch.stream().map(ClassificationExample::ids).toList();
        List<String> labels = ClassificationTrainer.labelSet(tokenize(tokenizer, train));
        int[] y = batch.stream().mapToInt(e -> labels.indexOf(e.label())).toArray();
        int n = ids.size();
        int hidden = miniLm.config().hiddenSize();
        int k = labels.size();
        try (TrainableLora lora = TrainableLora.create(miniLm, lora(0.0), 5, ClassificationTrainer.headSpec(miniLm, labels));
                NDManager m = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            float[] pooled;
            try (NoGrad ignored = new NoGrad(); NDManager f = m.newSubManager()) {
                pooled = miniLm.classifierInput(f, ids, AdapterHook.NONE).toFloatArray(); // (n, hidden)
            }
            try (NDManager fwd = m.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray loss = Scalars.div(ClassificationTrainer.crossEntropySum(miniLm.logits(fwd, ids, lora, k), y), n);
                gc.backward(loss);
            }
            float[] w = lora.head().weight().toFloatArray(); // (k, hidden)
            float[] b = lora.head().bias().toFloatArray();
            double[] gw = new double[k * hidden];
            double[] gb = new double[k];
            for (int i = 0; i < n; i++) {
                float[] z = new float[k];
                for (int c = 0; c < k; c++) {
                    double s = b[c];
                    for (int h = 0; h < hidden; h++) {
                        s += (double) w[c * hidden + h] * pooled[i * hidden + h];
                    }
                    z[c] = (float) s;
                }
                double[] p = ClassificationMetrics.softmax(z);
                for (int c = 0; c < k; c++) {
                    double d = (p[c] - (c == y[i] ? 1 : 0)) / n;
                    gb[c] += d;
                    for (int h = 0; h < hidden; h++) {
                        gw[c * hidden + h] += d * pooled[i * hidden + h];
                    }
                }
            }
            NDArray gW = lora.head().weight().getGradient();
            NDArray gB = lora.head().bias().getGradient();
            gW.attach(m);
            gB.attach(m);
            float[] autoW = gW.toFloatArray();
            float[] autoB = gB.toFloatArray();
            double worst = 0;
            double largest = 0;
            for (int i = 0; i < gw.length; i++) {
                worst = Math.max(worst, Math.abs(gw[i] - autoW[i]));
                largest = Math.max(largest, Math.abs(gw[i]));
            }
            for (int c = 0; c < k; c++) {
                worst = Math.max(worst, Math.abs(gb[c] - autoB[c]));
            }
            System.out.printf("head gradient vs closed form: max abs diff %.3g (largest component %.3g)%n", worst, largest);
            assertTrue(largest > 1e-3, "a vanishing gradient would make the comparison empty");
            assertTrue(worst < 1e-5, "head gradient differs from the closed form by " + worst);
            // B = 0: the LoRA's A gets no gradient yet, B does
            for (TrainableLora.Module mod : lora.modules().values()) {
                NDArray gb2 = mod.b().getGradient();
                gb2.attach(m);
                assertTrue(gb2.abs().max().getFloat() > 0, mod.name() + ": lora_B got no gradient");
            }
        }
    }

    /**
     * Stop after 5 of 12 steps, take {@code state()}, build a new run around an adapter initialised
     * differently, {@code restore} and finish: every parameter equals the uninterrupted run's.
     * On tiny-bert-cls (a classifier checkpoint: the head starts from the base's, over the pooler),
     * with dropout, weight decay and accumulation.
     */
    @Test
    void aResumedRunEndsWithTheSameAdapter() {
        Path fixture = Fixtures.hf("tiny-bert-cls");
        try (EncoderModel tiny = (EncoderModel) BaseModel.load(fixture, Device.cpu()); TextTokenizer tok = TextTokenizer.load(fixture)) {
            List<Labeled> some = new ArrayList<>(train.subList(0, 8)); // 8 of each label
            some.addAll(train.subList(15, 23));
            some.addAll(train.subList(30, 38));
            List<ClassificationExample> tr = tokenize(tok, some);
            List<ClassificationExample> va = tokenize(tok, heldOut);
            TrainingConfig hyper = TrainingConfig.defaults().withEpochs(4).withBatchSize(4).withGradientAccumulation(2)
                    .withLearningRate(5e-3).withWarmup(2, LrSchedule.Kind.COSINE).withWeightDecay(0.01).withSeed(21);
            Map<String, float[]> straight;
            try (ClassificationTrainer run = ClassificationTrainer.create(tiny, lora(0.1), hyper, tr, va)) {
                assertEquals(12, run.totalSteps());
                float[][] base = tiny.classifierValues();
                assertArrayEquals(base[0], run.lora.head().weight().toFloatArray(), "3 labels: the head starts from the base's");
                assertEquals(12, run.train(TrainingListener.NONE, 0).steps());
                straight = run.state();
            }
            Map<String, float[]> checkpoint;
            try (ClassificationTrainer run = ClassificationTrainer.create(tiny, lora(0.1), hyper, tr, va)) {
                TrainingResult r = run.train(m -> {
                    if (m.step() == 5) {
                        run.requestStop();
                    }
                }, 0);
                assertTrue(r.stopped());
                assertEquals(5, r.steps());
                assertEquals(5, run.optimizerSteps());
                checkpoint = run.state();
            }
            List<String> labels = ClassificationTrainer.labelSet(tr);
            try (TrainableLora other = TrainableLora.create(tiny, lora(0.1), 999, ClassificationTrainer.headSpec(tiny, labels));
                    ClassificationTrainer run = new ClassificationTrainer(tiny, other, hyper, tr, va)) {
                run.restore(checkpoint, 5);
                TrainingResult r = run.train(TrainingListener.NONE, 5);
                assertEquals(12, r.steps());
                Map<String, float[]> resumed = run.state();
                assertEquals(straight.keySet(), resumed.keySet());
                assertTrue(straight.containsKey("classifier.modules_to_save.default.weight"));
                double diff = 0;
                for (String key : straight.keySet()) {
                    diff = Math.max(diff, Fixtures.maxAbsDiff(straight.get(key), resumed.get(key)));
                }
                System.out.println("classification: stopped at step 5 and resumed vs uninterrupted: max abs diff " + diff);
                assertTrue(diff <= 1e-5, "resumed run differs by " + diff);
                EvalMetrics e = run.evaluateAdapter();
                assertEquals(va.size(), e.examples());
            }
        }
    }

    /** On a decoder the head is {@code score} (no bias) over the last hidden state; the saved folder serves the same logits. */
    @Test
    void decoderHeadTrainsAndServes(@TempDir Path out) {
        Path fixture = Fixtures.hf("tiny-llama");
        try (io.loragate.model.CausalModel llama = (io.loragate.model.CausalModel) BaseModel.load(fixture, Device.cpu());
                TextTokenizer tok = TextTokenizer.load(fixture)) {
            List<ClassificationExample> tr = tokenize(tok, train.subList(0, 30)); // food and sports
            PeftConfig peft = CausalLmTrainerTest.withDropout(PeftConfig.lora(4, 8, List.of("q_proj", "v_proj"), "SEQ_CLS"), 0.0);
            TrainingConfig hyper = TrainingConfig.defaults().withEpochs(2).withBatchSize(8).withLearningRate(1e-2).withSeed(4);
            try (ClassificationTrainer run = ClassificationTrainer.create(llama, peft, hyper, tr, tr)) {
                assertEquals(LoraAdapter.SEQUENCE_HEAD, run.lora.head().module());
                assertEquals(null, run.lora.head().bias());
                TrainingResult r = run.train(TrainingListener.NONE, 0);
                assertTrue(r.lastLoss() < r.firstLoss(), "loss " + r.firstLoss() + " -> " + r.lastLoss());
                run.saveAdapter(out.resolve("score"));
                List<long[]> ids = tr.subList(0, 4).stream().map(ClassificationExample::ids).toList();
                float[][] inTrainer = run.logits(ids);
                try (LoraAdapter adapter = LoraAdapter.load(out.resolve("score"), llama.config().family(), llama.linears(), llama.paramShapes(), Device.cpu());
                        NDManager m = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
                    assertEquals(2, adapter.sequenceHeadLabels());
                    assertEquals(List.of("food", "sports"), adapter.labels(2));
                    AdapterHook hook = MultiLoraHook.single(adapter);
                    NDArray h = llama.lastHidden(m, ids.toArray(long[][]::new), hook);
                    float[] served = hook.afterLinear(LoraAdapter.SEQUENCE_HEAD, h, m.zeros(new ai.djl.ndarray.types.Shape(4, 2))).toFloatArray();
                    for (int i = 0; i < 4; i++) {
                        assertTrue(Fixtures.maxAbsDiff(inTrainer[i], java.util.Arrays.copyOfRange(served, 2 * i, 2 * i + 2)) < 1e-4);
                    }
                }
            }
        }
    }

    /** A validation label the training data never had counts as an error, not as a crash. */
    @Test
    void unknownValidationLabelsAreErrors() {
        Path fixture = Fixtures.hf("tiny-bert-cls");
        try (EncoderModel tiny = (EncoderModel) BaseModel.load(fixture, Device.cpu()); TextTokenizer tok = TextTokenizer.load(fixture)) {
            List<ClassificationExample> tr = tokenize(tok, train.subList(0, 30)); // food and sports only
            List<ClassificationExample> va = List.of(ClassificationExample.of(tok, "a new phone", "tech", 64));
            try (ClassificationTrainer run = ClassificationTrainer.create(tiny, lora(0.0), TrainingConfig.defaults(), tr, va)) {
                assertEquals(List.of("food", "sports"), run.labels());
                assertEquals(2, run.lora.head().weight().getShape().get(0), "2 labels on a 3-label base: a fresh head");
                EvalMetrics e = run.evaluateAdapter();
                assertEquals(0.0, e.accuracy());
                assertTrue(Double.isNaN(e.loss()));
            }
        }
    }
}
