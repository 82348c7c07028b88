package io.loragate.training.jobs;

import io.loragate.adapter.AdapterMethods;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import io.loragate.model.TextTokenizer;
import io.loragate.training.data.CausalExamples;
import io.loragate.training.data.ClassificationExample;
import io.loragate.training.data.TrainingExample;
import io.loragate.training.trainer.CausalLmTrainer;
import io.loragate.training.trainer.CausalLmTrainerTest;
import io.loragate.training.trainer.ClassificationTrainer;
import io.loragate.training.trainer.LrSchedule;
import io.loragate.training.trainer.NoGrad;
import io.loragate.training.trainer.StepMetrics;
import io.loragate.training.trainer.TrainingConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * IA3, DoRA and bottleneck adapters made the way a job makes them ({@link JobSpec#resolve} then
 * {@link AdapterMethods#create}), trained a few steps on tiny-llama: the loss drops, and the saved
 * folder, loaded for serving, gives the trainable hook's logits.
 */
class MethodsTrainingTest {

    static CausalModel model;
    static List<TrainingExample> examples;

    @BeforeAll
    static void load() {
        model = (CausalModel) BaseModel.load(Fixtures.hf("tiny-llama"), Device.cpu());
        try (TextTokenizer tok = TextTokenizer.load(Fixtures.hf("tiny-llama"))) {
            CausalExamples ex = new CausalExamples(tok, model.config().eosTokenIds().iterator().next(), 64);
            examples = new ArrayList<>();
            CausalLmTrainerTest.SENTENCES.forEach(s -> examples.add(ex.text(s)));
        }
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static JobSpec spec(String method, String placement, List<Integer> layers) {
        JobRequest.AdapterSettings settings = new JobRequest.AdapterSettings(4, 8.0, 0.0, null, null, method, layers, null, null,
                8, placement, null);
        return JobSpec.resolve(new JobRequest.Method("supervised", null, settings),
                TrainableLora.defaultTargets(model.config().architecture()), 64, 64);
    }

    @ParameterizedTest
    @CsvSource({"ia3,pfeiffer,IA3,3e-1", "dora,pfeiffer,LORA,2e-2", "bottleneck,houlsby,LORAGATE_BOTTLENECK,2e-2",
        "bottleneck,pfeiffer,LORAGATE_BOTTLENECK,2e-2"})
    void trainsSavesAndServesTheSame(String method, String placement, String peftType, double lr, @TempDir Path dir) {
        JobSpec spec = spec(method, placement, List.of());
        TrainingConfig hyper = TrainingConfig.defaults().withEpochs(12).withBatchSize(4).withLearningRate(lr)
                .withWarmup(0, LrSchedule.Kind.CONSTANT).withSeed(3);
        List<StepMetrics> steps = new ArrayList<>();
        try (TrainableLora adapter = AdapterMethods.create(model, "tiny-llama", spec.adapter().options(), "CAUSAL_LM", 3, null);
                CausalLmTrainer trainer = new CausalLmTrainer(model, adapter, hyper)) {
            assertEquals(peftType, adapter.config().peftType());
            assertEquals(method.equals("dora"), adapter.config().isLora() && adapter.config().lora().useDora());
            double before = trainer.evaluate(examples);
            int baseArrays = model.manager().getManagedArrays().size();
            java.util.Set<List<Integer>> live = new java.util.HashSet<>();
            trainer.train(examples, m -> {
                steps.add(m);
                if (m.step() > 1) {
                    live.add(List.of(model.manager().getManagedArrays().size(), adapter.liveArrays()));
                }
            });
            assertEquals(1, live.size(), "arrays alive after each step (base, adapter): " + live);
            assertEquals(baseArrays, live.iterator().next().get(0), "nothing attached to the base's manager");
            double after = trainer.evaluate(examples);
            StepMetrics first = steps.get(0);
            StepMetrics last = steps.get(steps.size() - 1);
            System.out.printf("%s (%s): %d trainable, %d steps, train loss %.4f -> %.4f, eval %.4f -> %.4f%n", method, placement,
                    adapter.parameterCount(), steps.size(), first.loss(), last.loss(), before, after);
            assertEquals(before, first.loss(), 1e-4, "a fresh adapter is the base");
            assertTrue(after < before - 0.05, "eval loss " + before + " -> " + after);
            for (StepMetrics m : steps) {
                assertFalse(m.skipped());
                assertTrue(m.gradNorm() > 0);
            }
            Path folder = dir.resolve("adapter");
            adapter.save(folder);
            assertEquals(peftType, PeftConfig.read(folder.resolve(PeftConfig.FILE_NAME)).peftType());
            try (LoraAdapter served = LoraAdapter.load(folder, model);
                    NDManager out = NDManager.newBaseManager(Device.cpu(), "PyTorch");
                    NoGrad ignored = new NoGrad()) {
                assertEquals(1, served.parts().size());
                double worst = 0;
                for (TrainingExample e : examples) {
                    NDArray trained = model.logits(out, e.ids(), adapter);
                    NDArray serving = model.logits(out, e.ids(), MultiLoraHook.single(served));
                    NDArray base = model.logits(out, e.ids(), AdapterHook.NONE);
                    worst = Math.max(worst, Fixtures.maxAbsDiff(trained.toFloatArray(), serving.toFloatArray()));
                    assertTrue(Fixtures.maxAbsDiff(base.toFloatArray(), serving.toFloatArray()) > 1e-3, "the adapter changes the output");
                }
                System.out.printf("%s: served vs trainable max abs logit diff %.2e%n", method, worst);
                assertTrue(worst < 1e-5, "served logits differ by " + worst);
            }
        }
    }

    /**
     * With LoRA dropout in training, PEFT's DoRA forward is {@code base(x) + (g − 1)·W·xd + g·scale·B·A·xd}
     * with {@code xd = dropout(x)} (the same mask for both terms) and {@code g = magnitude / ‖W + scale·B·A‖}.
     * Rebuilt here from the adapter's values and the mask its seed draws; away from the start
     * (where {@code g = 1} hides the first term), and different from scaling the undropped base.
     */
    @Test
    void doraTrainingWithDropoutIsPeftsForward() {
        JobRequest.AdapterSettings settings = new JobRequest.AdapterSettings(4, 8.0, 0.3, List.of("q_proj"), null, "dora", null,
                null, null, null, null, null);
        JobSpec spec = JobSpec.resolve(new JobRequest.Method("supervised", null, settings),
                TrainableLora.defaultTargets(model.config().architecture()), 64, 64);
        String module = "model.layers.1.self_attn.q_proj";
        try (TrainableLora adapter = AdapterMethods.create(model, "tiny-llama", spec.adapter().options(), "CAUSAL_LM", 3, null);
                NDManager m = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            java.util.Random noise = new java.util.Random(5);
            java.util.Map<String, float[]> values = adapter.snapshot();
            values.forEach((k, v) -> {
                for (int i = 0; i < v.length; i++) {
                    v[i] = k.endsWith("lora_magnitude_vector") ? v[i] * (float) (0.7 + 0.6 * noise.nextDouble())
                            : v[i] + (float) (0.05 * noise.nextGaussian());
                }
            });
            adapter.restore(values);
            NDArray w = model.parameter(module + ".weight"); // (out, in); tiny-llama has no bias
            long in = w.getShape().get(1);
            float[] xs = new float[(int) (2 * 3 * in)];
            for (int i = 0; i < xs.length; i++) {
                xs[i] = (float) noise.nextGaussian();
            }
            NDArray x = m.create(xs, new ai.djl.ndarray.types.Shape(2, 3, in));
            NDArray y = x.matMul(w.transpose());

            adapter.train(11);
            float[] got = adapter.afterLinear(module, x, y).toFloatArray();
            adapter.eval();

            java.util.SplittableRandom rng = new java.util.SplittableRandom(11); // the adapter's mask, drawn in order
            float keep = (float) (1.0 / (1.0 - 0.3));
            float[] mask = new float[xs.length];
            for (int i = 0; i < mask.length; i++) {
                mask[i] = rng.nextDouble() < 0.3 ? 0f : keep;
            }
            NDArray xd = x.mul(m.create(mask, x.getShape()));
            TrainableLora.Module lora = adapter.modules().get(module);
            NDArray a = lora.a().duplicate();
            NDArray b = lora.b().duplicate();
            NDArray magnitude = adapter.parameters().get("base_model.model." + module + ".lora_magnitude_vector").duplicate();
            NDArray g = magnitude.div(b.matMul(a).mul(lora.scale()).add(w).square().sum(new int[] {1}).sqrt());
            NDArray delta = xd.matMul(a.transpose()).matMul(b.transpose()).mul(lora.scale());
            float[] peft = y.add(xd.matMul(w.transpose()).mul(g.sub(1))).add(delta.mul(g)).toFloatArray();
            float[] undropped = y.add(delta).mul(g).toFloatArray();
            double diff = Fixtures.maxAbsDiff(peft, got);
            double old = Fixtures.maxAbsDiff(undropped, got);
            System.out.printf("DoRA with dropout: max abs diff to PEFT's forward %.2e, to scaling the undropped base %.2e%n", diff, old);
            assertTrue(diff < 1e-5, "PEFT's forward differs by " + diff);
            assertTrue(old > 1e-2, "the test must tell the two apart: " + old);
        }
    }

    @ParameterizedTest
    @CsvSource({"ia3", "bottleneck", "dora"})
    void layersToTransformLimitsEveryMethod(String method) {
        JobSpec spec = spec(method, "houlsby", List.of(1));
        try (TrainableLora adapter = AdapterMethods.create(model, "tiny-llama", spec.adapter().options(), "CAUSAL_LM", 1, null)) {
            assertFalse(adapter.parameters().isEmpty());
            adapter.parameters().keySet().forEach(k -> assertTrue(k.contains("layers.1."), method + ": " + k));
        }
    }

    /** BERT's default IA3 targets are regular expressions, which PEFT's layers_to_transform ignores: the job names the modules. */
    @Test
    void ia3LayersToTransformLimitsBertsRegexTargets() {
        try (BaseModel bert = BaseModel.load(Fixtures.hf("tiny-bert-cls"), Device.cpu())) {
            JobRequest.AdapterSettings settings = new JobRequest.AdapterSettings(null, null, null, null, null, "ia3", List.of(1), null,
                    null, null, null, null);
            JobSpec spec = JobSpec.resolve(new JobRequest.Method("supervised", null, settings),
                    TrainableLora.defaultTargets(bert.config().architecture()), 32, 64);
            try (TrainableLora adapter = AdapterMethods.create(bert, "tiny-bert-cls", spec.adapter().options(), "FEATURE_EXTRACTION", 1, null)) {
                assertEquals(3, adapter.parameters().size(), adapter.parameters().keySet().toString()); // key, value, output.dense
                adapter.parameters().keySet().forEach(k -> assertTrue(k.contains("layer.1."), k));
            }
        }
    }

    /** A classification job's adapter on tiny-bert-cls: the method's part plus the head, saved and served alike. */
    @ParameterizedTest
    @CsvSource({"ia3", "bottleneck", "dora"})
    void classificationHeadTrainsWithEveryMethodOnBert(String method, @TempDir Path dir) {
        try (io.loragate.model.EncoderModel bert = (io.loragate.model.EncoderModel) BaseModel.load(Fixtures.hf("tiny-bert-cls"),
                Device.cpu()); TextTokenizer tok = TextTokenizer.load(Fixtures.hf("tiny-bert-cls"))) {
            List<ClassificationExample> train = new ArrayList<>();
            for (int i = 0; i < CausalLmTrainerTest.SENTENCES.size(); i++) { // the base's classifier has 3 labels
                train.add(ClassificationExample.of(tok, CausalLmTrainerTest.SENTENCES.get(i), List.of("a", "b", "c").get(i % 3), 32));
            }
            JobRequest.AdapterSettings settings = new JobRequest.AdapterSettings(4, 8.0, 0.0, null, null, method, null, null,
                    null, 8, "houlsby", null);
            JobSpec spec = JobSpec.resolve(new JobRequest.Method("classification", null, settings),
                    TrainableLora.defaultTargets(bert.config().architecture()), 32, 64);
            TrainingConfig hyper = TrainingConfig.defaults().withEpochs(3).withBatchSize(2).withLearningRate(1e-2).withSeed(1);
            try (TrainableLora adapter = AdapterMethods.create(bert, "tiny-bert-cls", spec.adapter().options(), "SEQ_CLS", 1,
                    ClassificationTrainer.headSpec(bert, ClassificationTrainer.labelSet(train)));
                    ClassificationTrainer trainer = new ClassificationTrainer(bert, adapter, hyper, train, train)) {
                trainer.train(m -> { }, 0);
                List<long[]> ids = train.stream().map(ClassificationExample::ids).toList();
                float[][] trained = trainer.logits(ids);
                Path folder = dir.resolve("adapter");
                adapter.save(folder);
                try (LoraAdapter served = LoraAdapter.load(folder, bert)) {
                    assertEquals(1, served.parts().size());
                    assertEquals(List.of("classifier"), List.copyOf(served.replacedModules()));
                    float[][] serving = bert.classify(ids, MultiLoraHook.single(served), 0);
                    double worst = 0;
                    for (int i = 0; i < ids.size(); i++) {
                        worst = Math.max(worst, Fixtures.maxAbsDiff(trained[i], serving[i]));
                    }
                    System.out.printf("BERT %s + head: served vs trainable max abs logit diff %.2e%n", method, worst);
                    assertTrue(worst < 1e-5, method + ": " + worst);
                }
            }
        }
    }
}
