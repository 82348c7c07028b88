package io.loragate.training.jobs;

import io.loragate.adapter.MethodOptions;
import io.loragate.adapter.AdapterMethods;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.loragate.Fixtures;
import io.loragate.adapter.LoraAdapter;
import io.loragate.adapter.MultiLoraHook;
import io.loragate.adapter.PeftConfig;
import io.loragate.adapter.TrainableLora;
import io.loragate.model.AdapterHook;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.model.EncoderModel;
import io.loragate.model.KvCache;
import io.loragate.common.LoragateException;
import io.loragate.model.TextTokenizer;
import io.loragate.model.safetensors.SafetensorsFile;
import io.loragate.training.data.CausalExamples;
import io.loragate.training.data.ClassificationExample;
import io.loragate.training.data.TrainingExample;
import io.loragate.training.trainer.CausalLmTrainer;
import io.loragate.training.trainer.ClassificationTrainer;
import io.loragate.training.trainer.ClassificationTrainerTest;
import io.loragate.training.trainer.TrainingConfig;
import io.loragate.training.trainer.TrainingListener;
import io.loragate.training.trainer.TrainingResult;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Partial fine-tuning: the linear layers of the last layers (or named ones) trained in full from the
 * base's values and saved as PEFT {@code modules_to_save}; served by the same replacement path as a
 * classifier head, alone and in mixed batches.
 */
class PartialFineTuningTest {

    static final long[] PROMPT = {1, 17, 42, 99, 7, 230, 5};

    static MethodOptions partial(List<String> targets, List<Integer> layers, int partialLayers) {
        return LinearProbeTest.method(JobSpec.PARTIAL, targets, layers, partialLayers);
    }

    /** {@link ClassificationTrainerTest#baseChecksums} as a sorted list (the manager's iteration order is not stable). */
    static List<String> baseChecksums(BaseModel model) {
        List<String> sums = new ArrayList<>();
        ClassificationTrainerTest.baseChecksums(model).forEach((k, v) -> sums.add(k.substring(k.indexOf(':') + 1) + "=" + v));
        sums.sort(null);
        return sums;
    }

    static float[] logits(CausalModel model, long[] ids, AdapterHook hook) {
        try (NDManager m = model.manager().newSubManager()) {
            return model.logits(m, ids, hook).toFloatArray();
        }
    }

    /** With 0 steps every trained copy is the base's layer and the adapter is the base, before and after a save. */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama", "tiny-gpt2"})
    void anUntrainedPartialAdapterIsTheBase(String fixture, @TempDir Path out) {
        try (CausalModel model = (CausalModel) BaseModel.load(Fixtures.hf(fixture), Device.cpu());
                TrainableLora lora = AdapterMethods.create(model, fixture, partial(List.of(), List.of(), 1), "CAUSAL_LM", 1, null)) {
            int last = model.config().numLayers() - 1;
            Set<String> expected = new TreeSet<>();
            model.linears().keySet().stream().filter(m -> m.contains("." + last + ".")).forEach(expected::add);
            assertEquals(fixture.equals("tiny-gpt2") ? 4 : 7, expected.size(), expected.toString());
            assertEquals(expected, new TreeSet<>(lora.saved().keySet()));
            assertTrue(lora.modules().isEmpty() && lora.head() == null);
            assertEquals(new ArrayList<>(lora.saved().keySet()), lora.config().modulesToSave());
            for (TrainableLora.Saved s : lora.saved().values()) {
                assertArrayEquals(model.parameter(s.module() + ".weight").toFloatArray(), s.weight().toFloatArray(), s.module());
                NDArray b = model.parameter(s.module() + ".bias");
                assertEquals(b == null, s.bias() == null);
                if (b != null) {
                    assertArrayEquals(b.toFloatArray(), s.bias().toFloatArray(), s.module());
                }
                assertEquals(fixture.equals("tiny-gpt2"), s.storedInOut(), s.module());
            }
            float[] base = logits(model, PROMPT, AdapterHook.NONE);
            // The trainable copy of a Conv1D (GPT-2) weight multiplies the transposed layout, so MKL may
            // sum in another order on some CPUs: equal up to float rounding, as the served copy below.
            double trainableDiff = Fixtures.maxAbsDiff(base, logits(model, PROMPT, lora));
            assertTrue(trainableDiff < 1e-5, "an untrained copy changes nothing, but the logits moved by " + trainableDiff);

            Path folder = out.resolve("partial");
            lora.save(folder);
            PeftConfig saved = PeftConfig.read(folder.resolve(PeftConfig.FILE_NAME));
            assertTrue(saved.targetModules().isEmpty());
            assertEquals(fixture.equals("tiny-gpt2"), saved.fanInFanOut(), "Conv1D weights are saved (in, out), as GPT-2 stores them");
            try (SafetensorsFile f = SafetensorsFile.open(folder.resolve(LoraAdapter.WEIGHTS_FILE))) {
                for (String module : expected) {
                    assertArrayEquals(model.paramShapes().get(module + ".weight"), f.tensors().get("base_model.model." + module
                            + ".weight").shape(), module + ": the checkpoint's own layout");
                }
            }
            try (LoraAdapter adapter = LoraAdapter.load(folder, model.config().family(), model.linears(), model.paramShapes(), Device.cpu())) {
                assertEquals(expected, new TreeSet<>(adapter.replacedModules()));
                assertTrue(adapter.loraModules().isEmpty());
                double diff = Fixtures.maxAbsDiff(base, logits(model, PROMPT, MultiLoraHook.single(adapter)));
                System.out.println(fixture + " partial, 0 steps: served vs base logits, max abs diff " + diff);
                assertTrue(diff < 1e-5, "served untrained copy differs from the base by " + diff);
            }
        }
    }

    /**
     * Trained on tiny-llama: the loss drops, the base's arrays are untouched, the first layer's output
     * is still the base's bit for bit while the last layer's differs, the saved folder serves the
     * trainer's logits, and in one batch with a LoRA row and a base row every row equals itself alone.
     */
    @Test
    void trainingChangesOnlyTheChosenLayersAndServesAloneAndMixed(@TempDir Path out) {
        Path fixture = Fixtures.hf("tiny-llama");
        try (CausalModel model = (CausalModel) BaseModel.load(fixture, Device.cpu()); TextTokenizer tok = TextTokenizer.load(fixture)) {
            CausalExamples ex = new CausalExamples(tok, model.config().eosTokenIds().iterator().next(), 64);
            List<TrainingExample> examples = new ArrayList<>();
            for (String s : List.of("the cat sat on the mat.", "transfer learning is thrift.", "permission is hereby granted.",
                    "the software is provided as is.")) {
                examples.add(ex.text(s));
            }
            List<String> before = baseChecksums(model);
            TrainingConfig hyper = TrainingConfig.defaults().withEpochs(8).withBatchSize(4).withLearningRate(1e-2).withSeed(5);
            Path folder = out.resolve("partial");
            float[] trainedLogits;
            try (TrainableLora lora = AdapterMethods.create(model, "tiny-llama", partial(List.of(), List.of(), 1), "CAUSAL_LM", 5, null);
                    CausalLmTrainer trainer = new CausalLmTrainer(model, lora, hyper)) {
                assertEquals(7, lora.saved().size());
                assertTrue(lora.saved().keySet().stream().allMatch(m -> m.startsWith("model.layers.1.")));
                double evalBefore = trainer.evaluate(examples);
                TrainingResult r = trainer.train(examples, TrainingListener.NONE);
                double evalAfter = trainer.evaluate(examples);
                System.out.printf("partial (last layer of tiny-llama): %d steps, train loss %.3f -> %.3f, eval %.3f -> %.3f, %d trainable%n",
                        r.steps(), r.firstLoss(), r.lastLoss(), evalBefore, evalAfter, lora.parameterCount());
                assertEquals(evalBefore, r.firstLoss(), 1e-5, "the untrained copy is the base");
                assertTrue(evalAfter < 0.9 * evalBefore, "eval loss " + evalBefore + " -> " + evalAfter);
                assertEquals(before, baseChecksums(model), "the base's weights changed");

                lora.eval();
                LayerCapture adapted = new LayerCapture(lora);
                LayerCapture plain = new LayerCapture(AdapterHook.NONE);
                trainedLogits = logits(model, PROMPT, adapted);
                logits(model, PROMPT, plain);
                assertArrayEquals(plain.layers.get(0), adapted.layers.get(0), "layer 0 is not trained: its output is the base's");
                double lastDiff = Fixtures.maxAbsDiff(plain.layers.get(1), adapted.layers.get(1));
                assertTrue(lastDiff > 1e-3, "the trained last layer's output moved by only " + lastDiff);
                lora.save(folder);
            }
            LoraAdapter loraFixture = LoraAdapter.load(fixture.resolve("adapter0"), model.config().family(), model.linears(), model.paramShapes(), Device.cpu());
            try (LoraAdapter adapter = LoraAdapter.load(folder, model.config().family(), model.linears(), model.paramShapes(), Device.cpu()); loraFixture) {
                float[] served = logits(model, PROMPT, MultiLoraHook.single(adapter));
                double diff = Fixtures.maxAbsDiff(trainedLogits, served);
                System.out.println("partial: served vs trainable hook logits, max abs diff " + diff);
                assertTrue(diff < 1e-5, "served logits differ by " + diff);

                // one batch: partial, LoRA (which also adapts layer 1's projections) and the base, in every rotation
                long[][] prompts = {PROMPT, {3, 8, 13, 21, 34}, {2, 4, 6, 8, 10, 12, 14, 16}};
                LoraAdapter[] choices = {adapter, loraFixture, null};
                for (int shift = 0; shift < 3; shift++) {
                    List<LoraAdapter> rows = new ArrayList<>();
                    for (int p = 0; p < 3; p++) {
                        rows.add(choices[(p + shift) % 3]);
                    }
                    for (MultiLoraHook hook : List.of(MultiLoraHook.perForward(rows), new MultiLoraHook(rows))) {
                        try (hook; NDManager m = model.manager().newSubManager(); KvCache cache = model.newCache(3)) {
                            NDArray batch = model.forward(m, prompts, cache, hook, true); // (3, t, vocab), left-padded
                            long t = batch.getShape().get(1);
                            for (int p = 0; p < 3; p++) {
                                float[] row = batch.get(p).get((t - prompts[p].length) + ":").toFloatArray();
                                LoraAdapter a = rows.get(p);
                                float[] alone = logits(model, prompts[p], a == null ? AdapterHook.NONE : MultiLoraHook.single(a));
                                double d = Fixtures.maxAbsDiff(alone, row);
                                assertTrue(d < 1e-5, "rotation " + shift + " row " + p + " (" + (a == adapter ? "partial"
                                        : a == null ? "base" : "lora") + "): batched vs alone " + d);
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * Named modules in chosen layers, with a classification head on tiny-bert-cls: both are trained,
     * saved as modules_to_save and served with the trainer's logits.
     */
    @Test
    void namedModulesTrainWithTheClassificationHead(@TempDir Path out) {
        Path fixture = Fixtures.hf("tiny-bert-cls");
        try (EncoderModel tiny = (EncoderModel) BaseModel.load(fixture, Device.cpu()); TextTokenizer tok = TextTokenizer.load(fixture)) {
            List<ClassificationExample> tr = ClassificationTrainerTest.tokenize(tok, ClassificationTrainerTest.topics());
            List<String> labels = ClassificationTrainer.labelSet(tr);
            assertThrows(LoragateException.class, () -> AdapterMethods.create(tiny, "t", partial(List.of(), List.of(), 3),
                    "SEQ_CLS", 1, ClassificationTrainer.headSpec(tiny, labels)), "3 of 2 layers");
            assertThrows(LoragateException.class, () -> AdapterMethods.create(tiny, "t", partial(List.of("nonexistent"), List.of(), 1),
                    "SEQ_CLS", 1, ClassificationTrainer.headSpec(tiny, labels)));
            TrainingConfig hyper = TrainingConfig.defaults().withEpochs(1).withBatchSize(8).withLearningRate(2e-3).withSeed(9);
            try (TrainableLora lora = AdapterMethods.create(tiny, "tiny-bert-cls", partial(List.of("intermediate.dense"), List.of(0), 1),
                    "SEQ_CLS", 9, ClassificationTrainer.headSpec(tiny, labels));
                    ClassificationTrainer run = new ClassificationTrainer(tiny, lora, hyper, tr, tr.subList(0, 6))) {
                String module = "bert.encoder.layer.0.intermediate.dense";
                assertEquals(List.of(module), new ArrayList<>(lora.saved().keySet()));
                assertEquals(List.of(module, EncoderModel.HEAD), lora.config().modulesToSave());
                Map<String, float[]> start = lora.snapshot();
                TrainingResult r = run.train(TrainingListener.NONE, 0);
                Map<String, float[]> end = lora.snapshot();
                assertEquals(Set.of(module + ".modules_to_save.default.weight", module + ".modules_to_save.default.bias",
                        "classifier.modules_to_save.default.weight", "classifier.modules_to_save.default.bias"), end.keySet());
                end.forEach((k, v) -> assertTrue(Fixtures.maxAbsDiff(start.get(k), v) > 0, k + " was not trained"));
                assertTrue(r.steps() > 0);
                run.saveAdapter(out.resolve("p"));
                List<long[]> ids = tr.subList(0, 6).stream().map(ClassificationExample::ids).toList();
                float[][] inTrainer = run.logits(ids);
                try (LoraAdapter adapter = LoraAdapter.load(out.resolve("p"), tiny.config().family(), tiny.linears(), tiny.paramShapes(), Device.cpu())) {
                    assertEquals(Set.of(module, EncoderModel.HEAD), adapter.replacedModules());
                    float[][] served = tiny.classify(ids, MultiLoraHook.single(adapter));
                    for (int i = 0; i < ids.size(); i++) {
                        double d = Fixtures.maxAbsDiff(inTrainer[i], served[i]);
                        assertTrue(d < 1e-5, "row " + i + ": served differs by " + d + " " + Arrays.toString(served[i]));
                    }
                }
            }
        }
    }
}
