package io.loragate.training.trainer;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.loragate.Fixtures;
import io.loragate.adapter.LoraAdapter;
import io.loragate.adapter.MultiLoraHook;
import io.loragate.adapter.PeftConfig;
import io.loragate.adapter.TrainableLora;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.model.TextTokenizer;
import io.loragate.training.data.CausalExamples;
import io.loragate.training.data.TrainingExample;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Training through the new families' forwards (fused projections split, per-head norms, sliding
 * windows, dynamic rope): a LoRA on the family's default targets learns, and the saved adapter
 * serves exactly as the trainable hook computed.
 */
class FamilyTrainingTest {

    @ParameterizedTest
    @ValueSource(strings = {"tiny-phi3", "tiny-qwen3", "tiny-mistral-sw", "tiny-llama-dynamic"})
    void aLoraOnTheFamilysDefaultTargetsLearnsAndServesAsTrained(String fixture, @TempDir Path dir) {
        try (CausalModel model = (CausalModel) BaseModel.load(Fixtures.hf(fixture), Device.cpu());
                TextTokenizer tok = TextTokenizer.load(Fixtures.hf(fixture))) {
            CausalExamples ex = new CausalExamples(tok, model.config().eosTokenIds().iterator().next(), 64);
            List<TrainingExample> examples = new ArrayList<>();
            for (String s : CausalLmTrainerTest.SENTENCES) {
                // long enough to pass the fixtures' windows (8 tokens) and dynamic threshold (16 positions)
                examples.add(ex.text(s + " " + s + " " + s));
            }
            List<String> targets = new ArrayList<>(TrainableLora.defaultTargets(model.config().family()));
            targets.add("lm_head"); // the tied random head bounds the logits: see CausalLmTrainerTest.config
            TrainingConfig hyper = TrainingConfig.defaults().withEpochs(15).withBatchSize(4).withLearningRate(2e-2).withSeed(7);
            try (TrainableLora lora = TrainableLora.create(model, PeftConfig.lora(4, 8, targets, "CAUSAL_LM"), 7);
                    CausalLmTrainer trainer = new CausalLmTrainer(model, lora, hyper)) {
                double before = trainer.evaluate(examples);
                trainer.train(examples, m -> { });
                double after = trainer.evaluate(examples);
                assertTrue(after < before - 0.2, fixture + ": eval loss " + before + " -> " + after);
                lora.save(dir);
                try (LoraAdapter served = LoraAdapter.load(dir, model.config().family(), model.linears(), model.paramShapes(), Device.cpu());
                        NDManager out = NDManager.newBaseManager(Device.cpu(), "PyTorch");
                        NoGrad ignored = new NoGrad()) {
                    for (TrainingExample e : examples) {
                        float[] trained = model.logits(out, e.ids(), lora).toFloatArray();
                        float[] serving = model.logits(out, e.ids(), MultiLoraHook.single(served)).toFloatArray();
                        double diff = Fixtures.maxAbsDiff(trained, serving);
                        assertTrue(diff < 1e-5, fixture + ": served logits differ from the trained hook's by " + diff);
                    }
                }
            }
        }
    }
}
