package io.loragate.training.jobs;

import io.loragate.adapter.MethodOptions;
import io.loragate.adapter.AdapterMethods;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.loragate.Fixtures;
import io.loragate.adapter.LoraAdapter;
import io.loragate.adapter.LoraWriter;
import io.loragate.adapter.MultiLoraHook;
import io.loragate.adapter.PeftConfig;
import io.loragate.adapter.TrainableLora;
import io.loragate.model.AdapterHook;
import io.loragate.model.BaseModel;
import io.loragate.model.EncoderModel;
import io.loragate.common.ModelFormatException;
import io.loragate.model.TextTokenizer;
import io.loragate.model.onnx.MiniLmImporter;
import io.loragate.training.data.ClassificationExample;
import io.loragate.training.trainer.ClassificationTrainer;
import io.loragate.training.trainer.ClassificationTrainerTest;
import io.loragate.training.trainer.EvalMetrics;
import io.loragate.training.trainer.TrainingConfig;
import io.loragate.training.trainer.TrainingListener;
import io.loragate.training.trainer.TrainingResult;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
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
 * The linear probe: a classification head over the frozen base's pooled features, nothing inside the
 * base changes. Saved as a PEFT LoRA folder with {@code target_modules: []} and
 * {@code modules_to_save: [classifier]}, which loads and serves like any classification adapter.
 */
class LinearProbeTest {

    @TempDir
    static Path dir;
    static EncoderModel miniLm;
    static TextTokenizer tokenizer;
    static final List<ClassificationTrainerTest.Labeled> TRAIN = new ArrayList<>();
    static final List<ClassificationTrainerTest.Labeled> HELD_OUT = new ArrayList<>();

    @BeforeAll
    static void load() {
        Path folder = MiniLmImporter.ensureImported(dir.resolve("data"));
        miniLm = (EncoderModel) BaseModel.load(folder, Device.cpu());
        tokenizer = TextTokenizer.load(folder);
        Map<String, List<ClassificationTrainerTest.Labeled>> byLabel = new TreeMap<>();
        ClassificationTrainerTest.topics().forEach(l -> byLabel.computeIfAbsent(l.label(), k -> new ArrayList<>()).add(l));
        Random rng = new Random(11);
        for (List<ClassificationTrainerTest.Labeled> group : byLabel.values()) { // stratified: 15 of 20 per label to training
            Collections.shuffle(group, rng);
            TRAIN.addAll(group.subList(0, 15));
            HELD_OUT.addAll(group.subList(15, group.size()));
        }
    }

    @AfterAll
    static void close() {
        tokenizer.close();
        miniLm.close();
    }

    /** A job's adapter settings for {@code method} (the rest at their defaults). */
    static MethodOptions method(String method, List<String> targets, List<Integer> layers, int partialLayers) {
        return new JobSpec.Adapter(8, 16, 0.0, targets, false, method, layers, 8, null, 16, "pfeiffer", partialLayers).options();
    }

    @Test
    void aProbeLearnsOnFrozenFeaturesLeavesTheBaseAloneAndServesTheSameLogits(@TempDir Path out) {
        List<ClassificationExample> tr = ClassificationTrainerTest.tokenize(tokenizer, TRAIN);
        List<ClassificationExample> ho = ClassificationTrainerTest.tokenize(tokenizer, HELD_OUT);
        List<String> labels = ClassificationTrainer.labelSet(tr);
        double lr = JobSpec.defaultLearningRate(JobSpec.CLASSIFICATION, JobSpec.LINEAR_PROBE);
        assertEquals(1e-2, lr);
        TrainingConfig hyper = TrainingConfig.defaults().withEpochs(6).withBatchSize(8).withLearningRate(lr).withSeed(3);
        Map<String, Double> before = ClassificationTrainerTest.baseChecksums(miniLm);
        try (TrainableLora probe = AdapterMethods.create(miniLm, "all-minilm-l6-v2", method(JobSpec.LINEAR_PROBE, List.of(),
                List.of(), 1), "SEQ_CLS", 3, ClassificationTrainer.headSpec(miniLm, labels));
                ClassificationTrainer run = new ClassificationTrainer(miniLm, probe, hyper, tr, ho)) {
            assertTrue(probe.modules().isEmpty() && probe.saved().isEmpty(), "no LoRA, no layer of the base");
            assertEquals(Set.of("classifier.modules_to_save.default.weight", "classifier.modules_to_save.default.bias"),
                    probe.parameters().keySet());
            assertEquals(labels.size() * (miniLm.config().hiddenSize() + 1L), probe.parameterCount());
            EvalMetrics base = run.evaluateBase();
            TrainingResult r = run.train(TrainingListener.NONE, 0);
            EvalMetrics trained = run.evaluateAdapter();
            System.out.printf("linear probe on MiniLM topics: %d steps, train loss %.3f -> %.3f, held-out accuracy %.3f -> %.3f,"
                    + " loss %.3f -> %.3f%n", r.steps(), r.firstLoss(), r.lastLoss(), base.accuracy(), trained.accuracy(),
                    base.loss(), trained.loss());
            assertTrue(trained.accuracy() >= base.accuracy() + 0.25, "held-out accuracy " + base.accuracy() + " -> " + trained.accuracy());
            assertTrue(trained.accuracy() >= 1.0 / 3 + 0.4, "held-out accuracy " + trained.accuracy() + " is near chance");
            assertTrue(trained.loss() < base.loss(), "held-out loss " + base.loss() + " -> " + trained.loss());
            assertEquals(before, ClassificationTrainerTest.baseChecksums(miniLm), "the base's weights changed");

            // inside the base nothing changes: every layer's hidden states with the probe's hook are the base's, bit for bit
            List<long[]> ids = ho.stream().map(ClassificationExample::ids).toList();
            probe.eval();
            LayerCapture withProbe = new LayerCapture(probe);
            LayerCapture plain = new LayerCapture(AdapterHook.NONE);
            float[][][] hp = miniLm.lastHidden(ids, withProbe);
            float[][][] hb = miniLm.lastHidden(ids, plain);
            assertEquals(miniLm.config().numLayers(), plain.layers.size());
            assertEquals(plain.layers.keySet(), withProbe.layers.keySet());
            plain.layers.forEach((layer, v) -> assertArrayEquals(v, withProbe.layers.get(layer), "layer " + layer));
            for (int i = 0; i < hb.length; i++) {
                for (int t = 0; t < hb[i].length; t++) {
                    assertArrayEquals(hb[i][t], hp[i][t]);
                }
            }

            // saved: a PEFT LoRA folder without LoRA pairs, the head as modules_to_save, the labels
            Path folder = out.resolve("probe");
            run.saveAdapter(folder);
            PeftConfig saved = PeftConfig.read(folder.resolve(PeftConfig.FILE_NAME));
            assertEquals("LORA", saved.peftType());
            assertTrue(saved.targetModules().isEmpty() && !saved.targetModules().isRegex());
            assertEquals(List.of("classifier"), saved.modulesToSave());
            assertEquals("[\"food\",\"sports\",\"tech\"]", saved.extras().get(TrainableLora.LABELS_KEY).toString());
            float[][] inTrainer = run.logits(ids);
            try (LoraAdapter adapter = LoraAdapter.load(folder, miniLm.config().family(), miniLm.linears(), miniLm.paramShapes(), Device.cpu())) {
                assertEquals(0, adapter.rank());
                assertTrue(adapter.loraModules().isEmpty());
                assertEquals(Set.of("classifier"), adapter.replacedModules());
                assertEquals(labels, adapter.labels(adapter.headLabels(EncoderModel.HEAD)));
                float[][] served = miniLm.classify(ids, MultiLoraHook.single(adapter), labels.size());
                double worst = 0;
                for (int i = 0; i < ids.size(); i++) {
                    worst = Math.max(worst, Fixtures.maxAbsDiff(inTrainer[i], served[i]));
                }
                System.out.println("linear probe: served vs in-trainer logits, max abs diff " + worst);
                assertTrue(worst < 1e-5, "served logits differ by " + worst);
            }
        }
    }

    @Test
    void aProbeNeedsAClassificationHead() {
        var e = assertThrows(io.loragate.common.LoragateException.class, () -> AdapterMethods.create(miniLm, "m",
                method(JobSpec.LINEAR_PROBE, List.of(), List.of(), 1), "CAUSAL_LM", 1, null));
        assertTrue(e.getMessage().contains("classification"), e.getMessage());
    }

    /** {@code target_modules: []} means "no LoRA": allowed exactly when modules_to_save is not empty. */
    @Test
    void anEmptyTargetListNeedsModulesToSave(@TempDir Path out) {
        Path file = out.resolve(PeftConfig.FILE_NAME);
        PeftConfig ok = PeftConfig.parse(file, "{\"peft_type\":\"LORA\",\"r\":8,\"target_modules\":[],\"modules_to_save\":[\"classifier\"]}");
        assertTrue(ok.targetModules().isEmpty());
        assertEquals(List.of("classifier"), ok.modulesToSave());
        assertThrows(ModelFormatException.class, () -> PeftConfig.parse(file, "{\"peft_type\":\"LORA\",\"target_modules\":[]}"));
        assertThrows(ModelFormatException.class, () -> PeftConfig.parse(file,
                "{\"peft_type\":\"LORA\",\"target_modules\":[],\"modules_to_save\":[]}"));
        assertThrows(ModelFormatException.class, () -> PeftConfig.parse(file, "{\"peft_type\":\"LORA\",\"modules_to_save\":[\"classifier\"]}"));
        // a folder that saves nothing it names changes nothing: refused at load
        new LoraWriter(ok).write(out.resolve("empty"));
        var e = assertThrows(ModelFormatException.class,
                () -> LoraAdapter.load(out.resolve("empty"), miniLm.config().family(), miniLm.linears(), miniLm.paramShapes(), Device.cpu()));
        assertTrue(e.getMessage().contains("change nothing"), e.getMessage());
        // and the trainer refuses a config with neither LoRA nor anything to save
        PeftConfig none = PeftConfig.lora(8, 16, List.of(), "SEQ_CLS");
        assertThrows(io.loragate.common.LoragateException.class, () -> TrainableLora.create(miniLm, none, 1, null));
    }
}
