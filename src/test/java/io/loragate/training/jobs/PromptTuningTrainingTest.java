package io.loragate.training.jobs;

import io.loragate.adapter.MethodOptions;
import io.loragate.adapter.AdapterMethods;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.loragate.Fixtures;
import io.loragate.adapter.LoraAdapter;
import io.loragate.adapter.MultiLoraHook;
import io.loragate.adapter.PromptPart;
import io.loragate.adapter.TrainableLora;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.model.EncoderModel;
import io.loragate.model.TextTokenizer;
import io.loragate.training.data.CausalExamples;
import io.loragate.training.data.ClassificationExample;
import io.loragate.training.data.TrainingExample;
import io.loragate.training.trainer.CausalLmTrainer;
import io.loragate.training.trainer.ClassificationTrainer;
import io.loragate.training.trainer.EvalMetrics;
import io.loragate.training.trainer.NoGrad;
import io.loragate.training.trainer.StepMetrics;
import io.loragate.training.trainer.TrainingConfig;
import io.loragate.training.trainer.TrainingListener;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prompt tuning trained through the jobs' method switch ({@link AdapterMethods}): the causal-LM
 * trainer and the classification trainer put the virtual tokens before every example, the loss
 * drops, and the saved PEFT folder serves exactly what the trainable adapter computes.
 */
class PromptTuningTrainingTest {

    static MethodOptions promptTuning(int k, String initText) {
        return new JobSpec.Adapter(8, 16, 0, List.of(), false, JobSpec.PROMPT_TUNING, List.of(), k, initText, 16, "pfeiffer", 1)
                .options();
    }

    @Test
    void causalLmPromptLearnsAndServesAsTrained(@TempDir Path dir) {
        try (CausalModel model = (CausalModel) BaseModel.load(Fixtures.hf("tiny-llama"), Device.cpu());
                TextTokenizer tok = TextTokenizer.load(Fixtures.hf("tiny-llama"))) {
            CausalExamples ex = new CausalExamples(tok, model.config().eosTokenIds().iterator().next(), 64);
            List<TrainingExample> examples = new ArrayList<>();
            for (String w : List.of("apple", "river", "stone", "cloud", "tiger", "lemon", "piano", "maple")) {
                examples.add(ex.promptCompletion("Q: " + w + "\nA:", " yes."));
            }
            TrainingConfig hyper = TrainingConfig.defaults().withEpochs(30).withBatchSize(4).withLearningRate(1e-1).withSeed(3);
            try (TrainableLora prompt = AdapterMethods.create(model, tok, "tiny-llama", promptTuning(8, "answer the question"),
                    "CAUSAL_LM", 3, null);
                    CausalLmTrainer trainer = new CausalLmTrainer(model, prompt, hyper)) {
                assertEquals(8, prompt.virtualTokens());
                assertTrue(prompt.modules().isEmpty(), "no LoRA pairs");
                double before = trainer.evaluate(examples);
                List<StepMetrics> steps = new ArrayList<>();
                trainer.train(examples, steps::add);
                double after = trainer.evaluate(examples);
                System.out.printf("prompt tuning k=8 on tiny-llama: %d steps, train loss %.3f -> %.3f, eval %.3f -> %.3f%n",
                        steps.size(), steps.get(0).loss(), steps.get(steps.size() - 1).loss(), before, after);
                // the fixture's lm_head (std 0.02 after an RMSNorm) bounds every logit to about ±1.3: no adapter that
                // leaves the head alone takes the loss (5.9 ≈ ln 384) below about 4.7 (see CausalLmTrainerTest)
                assertTrue(after < before - 0.2, "eval loss " + before + " -> " + after);
                long targets = examples.stream().mapToLong(TrainingExample::targetCount).sum();
                assertEquals(targets, steps.stream().mapToLong(StepMetrics::targetTokens).sum() / 30,
                        "no loss on virtual positions: the targets are the examples' own");
                prompt.save(dir);
                try (LoraAdapter served = LoraAdapter.load(dir, model.config().family(), model.linears(), model.paramShapes(), Device.cpu());
                        NDManager out = NDManager.newBaseManager(Device.cpu(), "PyTorch");
                        NoGrad ignored = new NoGrad()) {
                    double worst = 0;
                    for (TrainingExample e : examples.subList(0, 3)) {
                        long[] ids = PromptPart.prepend(e.ids(), 8);
                        float[] trained = model.logits(out, ids, prompt).toFloatArray();
                        float[] serving = model.logits(out, ids, MultiLoraHook.single(served)).toFloatArray();
                        worst = Math.max(worst, Fixtures.maxAbsDiff(trained, serving));
                    }
                    System.out.println("saved prompt served by MultiLoraHook vs trainable hook: max abs logit diff " + worst);
                    assertTrue(worst < 1e-5, "served logits differ by " + worst);
                }
            }
        }
    }

    /**
     * On tiny-llama ({@code score} over the last token's state) the prompt and head learn; on
     * tiny-bert-cls (a fresh {@code classifier} over the tanh pooler, which now reads the first
     * virtual token) the prompt gets gradients, though the random fixture's pooled state hardly
     * depends on the input (a head alone stays near chance there too); 3 labels, so the head starts from the base's classifier. Both serve as trained.
     */
    @Test
    void classificationPromptWithHeadLearnsAndServesAsTrained(@TempDir Path dir) {
        for (String fixture : List.of("tiny-llama", "tiny-bert-cls")) {
            try (BaseModel model = BaseModel.load(Fixtures.hf(fixture), Device.cpu());
                    TextTokenizer tok = TextTokenizer.load(Fixtures.hf(fixture))) {
                classify(model, tok, fixture, dir.resolve(fixture), fixture.equals("tiny-llama"));
            }
        }
    }

    private static void classify(BaseModel model, TextTokenizer tok, String fixture, Path dir, boolean mustLearn) {
        List<ClassificationExample> train = new ArrayList<>();
        String[][] data = {{"the cat sat on the mat", "animal"}, {"a dog barked at the cat", "animal"},
            {"the software is provided as is", "legal"}, {"permission is hereby granted", "legal"},
            {"the bird sang", "animal"}, {"without warranty of any kind", "legal"},
            {"bread and butter", "food"}, {"an apple pie with cream", "food"}, {"hot soup", "food"}};
        for (String[] d : data) {
            train.add(ClassificationExample.of(tok, d[0], d[1], 64));
        }
        TrainingConfig hyper = TrainingConfig.defaults().withEpochs(20).withBatchSize(3).withLearningRate(5e-2).withSeed(4);
        try (TrainableLora prompt = AdapterMethods.create(model, tok, fixture, promptTuning(4, null), "SEQ_CLS", 4,
                ClassificationTrainer.headSpec(model, ClassificationTrainer.labelSet(train)));
                ClassificationTrainer trainer = new ClassificationTrainer(model, prompt, hyper, train, train)) {
            float[] promptBefore = prompt.snapshot().get(PromptPart.KEY);
            double first = trainer.evaluateAdapter().loss();
            trainer.train(TrainingListener.NONE, 0);
            EvalMetrics after = trainer.evaluateAdapter();
            double moved = Fixtures.maxAbsDiff(promptBefore, prompt.snapshot().get(PromptPart.KEY));
            System.out.printf("prompt tuning k=4 + head on %s: loss %.3f -> %.3f, accuracy %.2f, prompt moved by up to %.3f%n",
                    fixture, first, after.loss(), after.accuracy(), moved);
            assertTrue(moved > 1e-3, "the prompt gets gradients");
            if (mustLearn) {
                assertTrue(after.loss() < 0.5 * first, "loss " + first + " -> " + after.loss());
            }
            prompt.save(dir);
            List<long[]> ids = train.stream().map(ClassificationExample::ids).toList();
            float[][] trained = trainer.logits(ids);
            try (LoraAdapter served = LoraAdapter.load(dir, model.config().family(), model.linears(), model.paramShapes(), Device.cpu());
                    NDManager out = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
                List<long[]> rows = PromptPart.prepend(ids, 4);
                float[][] serving;
                if (model instanceof EncoderModel encoder) {
                    serving = encoder.classify(rows, MultiLoraHook.single(served));
                } else {
                    MultiLoraHook hook = MultiLoraHook.single(served);
                    ai.djl.ndarray.NDArray h = ((CausalModel) model).lastHidden(out, rows.toArray(long[][]::new), hook);
                    float[] flat = hook.afterLinear(LoraAdapter.SEQUENCE_HEAD, h,
                            out.zeros(new ai.djl.ndarray.types.Shape(rows.size(), 3))).toFloatArray();
                    serving = new float[rows.size()][];
                    for (int i = 0; i < rows.size(); i++) {
                        serving[i] = java.util.Arrays.copyOfRange(flat, 3 * i, 3 * i + 3);
                    }
                }
                double worst = 0;
                for (int i = 0; i < ids.size(); i++) {
                    worst = Math.max(worst, Fixtures.maxAbsDiff(trained[i], serving[i]));
                }
                System.out.println(fixture + ": saved prompt + head served vs trainable: max abs logit diff " + worst);
                assertTrue(worst < 1e-5, "served logits differ by " + worst);
            }
        }
    }
}
