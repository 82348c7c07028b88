package io.loragate.training.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.loragate.Fixtures;
import io.loragate.adapter.LoraAdapter;
import io.loragate.adapter.LoraSection;
import io.loragate.adapter.MultiLoraHook;
import io.loragate.adapter.PeftConfig;
import io.loragate.adapter.TrainableLora;
import io.loragate.model.AdapterHook;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.model.TextTokenizer;
import io.loragate.training.data.CausalExamples;
import io.loragate.training.data.TrainingExample;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A fresh LoRA trained on tiny-llama: it learns, it is reproducible, and what it saves serves. */
public class CausalLmTrainerTest {

    public static final List<String> SENTENCES = List.of(
            "the cat sat on the mat.",
            "transfer learning is thrift.",
            "permission is hereby granted.",
            "the software is provided as is.");

    static CausalModel model;
    static List<TrainingExample> examples;

    @BeforeAll
    static void load() {
        model = (CausalModel) BaseModel.load(Fixtures.hf("tiny-llama"), Device.cpu());
        try (TextTokenizer tok = TextTokenizer.load(Fixtures.hf("tiny-llama"))) {
            CausalExamples ex = new CausalExamples(tok, model.config().eosTokenIds().iterator().next(), 64);
            examples = new ArrayList<>();
            for (int copy = 0; copy < 2; copy++) {
                SENTENCES.forEach(s -> examples.add(ex.text(s)));
            }
        }
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /**
     * The default targets plus {@code lm_head}: the fixture's head is random with std 0.02 after an
     * RMSNorm, which bounds every logit to about ±1.3, so no adapter that leaves the head alone can
     * take the loss (5.9 ≈ ln 384) below about 4.7, whatever it learns.
     */
    static PeftConfig config(double dropout) {
        List<String> targets = new ArrayList<>(TrainableLora.defaultTargets(model.config().architecture()));
        targets.add("lm_head");
        return withDropout(PeftConfig.lora(4, 8, targets, "CAUSAL_LM"), dropout);
    }

    static PeftConfig withDropout(PeftConfig c, double dropout) {
        LoraSection keys = c.lora();
        return c.withSection(keys.with(keys.useRslora(), keys.useDora(), dropout));
    }

    /** 8 examples, batch 4, accumulation 2: one optimizer step per epoch, 30 epochs. */
    static TrainingConfig hyper() {
        return TrainingConfig.defaults().withEpochs(30).withBatchSize(4).withGradientAccumulation(2)
                .withLearningRate(2e-2).withWarmup(3, LrSchedule.Kind.COSINE).withWeightDecay(0.01).withSeed(7);
    }

    record Run(List<StepMetrics> steps, Map<String, float[]> weights, double evalBefore, double evalAfter) {
    }

    static Run train(double dropout, Path saveTo) {
        List<StepMetrics> steps = new ArrayList<>();
        int baseArrays = model.manager().getManagedArrays().size();
        try (TrainableLora lora = TrainableLora.create(model, config(dropout), 7);
                CausalLmTrainer trainer = new CausalLmTrainer(model, lora, hyper())) {
            double before = trainer.evaluate(examples);
            Set<List<Integer>> liveAfterEachStep = new HashSet<>();
            TrainingResult r = trainer.train(examples, m -> {
                steps.add(m);
                if (m.step() > 1) {
                    liveAfterEachStep.add(List.of(model.manager().getManagedArrays().size(), lora.liveArrays(),
                            trainer.liveArrays()));
                }
            });
            assertEquals(30, r.steps());
            assertEquals(1, liveAfterEachStep.size(), "arrays alive after each step (base, LoRA, optimizer): " + liveAfterEachStep);
            assertEquals(baseArrays, liveAfterEachStep.iterator().next().get(0), "nothing attached to the base's manager");
            double after = trainer.evaluate(examples);
            if (saveTo != null) {
                lora.save(saveTo);
                assertServesLikeTheTrainableHook(lora, saveTo);
            }
            return new Run(steps, lora.snapshot(), before, after);
        }
    }

    @Test
    void lossDropsAndTheSameSeedGivesTheSameAdapter(@TempDir Path dir) {
        long t0 = System.nanoTime();
        Run a = train(0.1, dir.resolve("adapter"));
        Run b = train(0.1, null);
        StepMetrics first = a.steps().get(0);
        StepMetrics last = a.steps().get(a.steps().size() - 1);
        System.out.printf("30 steps: train loss %.4f -> %.4f, eval loss %.4f -> %.4f, last lr %.2e, grad norm %.3f,"
                + " %.0f tokens/s, %.2f s per run%n", first.loss(), last.loss(), a.evalBefore(), a.evalAfter(),
                last.learningRate(), last.gradNorm(), last.tokensPerSecond(), (System.nanoTime() - t0) / 2e9);
        assertEquals(0.0, first.learningRate(), "warmup starts at 0, as in Transformers");
        assertEquals(a.evalBefore(), first.loss(), 1e-5, "B = 0: the fresh adapter is the base (and dropout cannot change that)");
        assertTrue(a.evalAfter() < 0.7 * a.evalBefore(), "eval loss " + a.evalBefore() + " -> " + a.evalAfter());
        assertTrue(last.loss() < 0.7 * first.loss(), "train loss " + first.loss() + " -> " + last.loss());
        for (StepMetrics m : a.steps()) {
            assertFalse(m.skipped());
            assertTrue(m.tokens() > 0 && m.targetTokens() > 0 && m.tokensPerSecond() > 0 && m.gradNorm() > 0);
        }
        double maxDiff = 0;
        for (Map.Entry<String, float[]> e : a.weights().entrySet()) {
            maxDiff = Math.max(maxDiff, Fixtures.maxAbsDiff(e.getValue(), b.weights().get(e.getKey())));
        }
        System.out.println("same seed, two runs: max abs diff of the adapters " + maxDiff);
        assertEquals(0.0, maxDiff, "two runs with the same seed");
        for (int i = 0; i < a.steps().size(); i++) {
            assertEquals(a.steps().get(i).loss(), b.steps().get(i).loss(), 0.0, "step " + i + " loss");
        }
    }

    /** The saved PEFT folder loads as a serving adapter whose logits equal the trainable hook's. */
    static void assertServesLikeTheTrainableHook(TrainableLora lora, Path folder) {
        try (LoraAdapter served = LoraAdapter.load(folder, model.config().family(), model.linears(), model.paramShapes(), Device.cpu());
                NDManager out = NDManager.newBaseManager(Device.cpu(), "PyTorch");
                NoGrad ignored = new NoGrad()) {
            assertEquals(lora.moduleNames().size(), served.loraModules().size());
            double worst = 0;
            for (TrainingExample e : examples.subList(0, 4)) {
                NDArray trained = model.logits(out, e.ids(), lora);
                NDArray serving = model.logits(out, e.ids(), MultiLoraHook.single(served));
                NDArray base = model.logits(out, e.ids(), AdapterHook.NONE);
                worst = Math.max(worst, Fixtures.maxAbsDiff(trained.toFloatArray(), serving.toFloatArray()));
                assertTrue(Fixtures.maxAbsDiff(base.toFloatArray(), serving.toFloatArray()) > 1e-2, "the adapter changes the output");
            }
            System.out.println("saved adapter served by MultiLoraHook vs trainable hook: max abs logit diff " + worst);
            assertTrue(worst < 1e-5, "served logits differ by " + worst);
        }
    }

    /**
     * Accumulation is a mean over every target token of the step: batch 4 in one forward and batch 2
     * accumulated twice make the same update (examples of different lengths, so padding differs too).
     */
    @Test
    void accumulatingTwoHalfBatchesEqualsOneBatch() {
        List<TrainingExample> four = examples.subList(0, 4);
        TrainingConfig one = TrainingConfig.defaults().withEpochs(1).withBatchSize(4).withLearningRate(1e-2).withSeed(5);
        Map<String, float[]> whole = trainOnce(four, one);
        Map<String, float[]> halves = trainOnce(four, one.withBatchSize(2).withGradientAccumulation(2));
        double diff = 0;
        for (String k : whole.keySet()) {
            diff = Math.max(diff, Fixtures.maxAbsDiff(whole.get(k), halves.get(k)));
        }
        System.out.println("batch 4 vs 2×2 accumulated: max abs diff of the adapters after one step " + diff);
        assertTrue(diff < 1e-6, "accumulated update differs by " + diff);
    }

    private static Map<String, float[]> trainOnce(List<TrainingExample> data, TrainingConfig c) {
        try (TrainableLora lora = TrainableLora.create(model, config(0.0), 9); CausalLmTrainer trainer = new CausalLmTrainer(model, lora, c)) {
            // a non-zero B, so that every matrix gets a gradient in the first step
            try (NDManager m = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
                for (TrainableLora.Module mod : lora.modules().values()) {
                    NDArray alias = mod.b().stopGradient();
                    alias.attach(m);
                    alias.addi(0.01f);
                }
            }
            assertEquals(1, trainer.train(data, TrainingListener.NONE).steps());
            return lora.snapshot();
        }
    }

    /**
     * Stop after 12 of 30 steps, save the adapter as a PEFT folder and the optimizer state, resume
     * in a fresh LoRA and trainer: the final adapter is the uninterrupted run's, bit for bit.
     */
    @Test
    void aResumedRunEndsWithTheSameAdapter(@TempDir Path dir) {
        Map<String, float[]> straight;
        try (TrainableLora lora = TrainableLora.create(model, config(0.1), 7); CausalLmTrainer trainer = new CausalLmTrainer(model, lora, hyper())) {
            trainer.train(examples, TrainingListener.NONE);
            straight = lora.snapshot();
        }
        Map<String, float[]> optimizerState;
        long done;
        try (TrainableLora lora = TrainableLora.create(model, config(0.1), 7); CausalLmTrainer trainer = new CausalLmTrainer(model, lora, hyper())) {
            TrainingResult r = trainer.train(examples, m -> {
                if (m.step() == 12) {
                    trainer.requestStop();
                }
            });
            done = r.steps();
            lora.save(dir.resolve("checkpoint"));
            optimizerState = trainer.optimizer().stateSnapshot();
        }
        Map<String, float[]> resumed;
        try (TrainableLora lora = TrainableLora.load(model, dir.resolve("checkpoint"));
                CausalLmTrainer trainer = new CausalLmTrainer(model, lora, hyper())) {
            trainer.optimizer().restore(optimizerState, done);
            TrainingResult r = trainer.train(examples, TrainingListener.NONE, done);
            assertEquals(30, r.steps());
            resumed = lora.snapshot();
        }
        double diff = 0;
        for (String k : straight.keySet()) {
            diff = Math.max(diff, Fixtures.maxAbsDiff(straight.get(k), resumed.get(k)));
        }
        System.out.println("stopped at step 12 and resumed vs uninterrupted: max abs diff " + diff);
        assertEquals(0.0, diff);
    }

    @Test
    void stopRequestEndsTheRunAfterTheCurrentStep() {
        try (TrainableLora lora = TrainableLora.create(model, config(0.0), 1);
                CausalLmTrainer trainer = new CausalLmTrainer(model, lora, hyper())) {
            TrainingResult r = trainer.train(examples, m -> {
                if (m.step() == 3) {
                    trainer.requestStop();
                }
            });
            assertTrue(r.stopped());
            assertEquals(3, r.steps());
        }
    }
}
