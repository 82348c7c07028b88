package io.loragate.training.trainer;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.loragate.Fixtures;
import io.loragate.adapter.PeftConfig;
import io.loragate.adapter.TrainableLora;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.model.KvCache;
import io.loragate.model.WeightFormat;
import io.loragate.model.safetensors.SafetensorsFile;
import io.loragate.training.data.TrainingExample;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * LoRA trains on a base held in int8: the backward runs through the per-call float32 copy of each
 * weight (closed by the forward, kept alive by autograd) and gives the float32 base's gradients up to
 * the rounding of the weights.
 */
class WeightFormatTrainingTest {

    @Test
    void loraGradientsOnAnInt8BaseMatchTheFloat32Base() {
        try (CausalModel exact = (CausalModel) BaseModel.load(Fixtures.hf("tiny-llama"), Device.cpu());
                CausalModel held = (CausalModel) BaseModel.load(Fixtures.hf("tiny-llama"), Device.cpu(), WeightFormat.INT8);
                SafetensorsFile ref = Fixtures.reference("tiny-llama")) {
            TokenBatch batch = TokenBatch.of(List.of(
                    TrainingExample.allTokens(ref.readLongs("p0.input_ids")),
                    TrainingExample.allTokens(ref.readLongs("p2.input_ids"))));
            List<String> targets = new ArrayList<>(TrainableLora.defaultTargets(exact.config().architecture()));
            PeftConfig config = PeftConfig.lora(4, 8, targets, "CAUSAL_LM");
            float[] a = gradients(exact, config, batch);
            float[] b = gradients(held, config, batch);
            double scale = 0;
            for (float g : a) {
                scale = Math.max(scale, Math.abs(g));
            }
            double err = Fixtures.maxAbsDiff(a, b) / scale;
            System.out.printf("weight-format int8 tiny-llama LoRA gradients: max |dg| / max |g| = %.2e%n", err);
            assertTrue(scale > 0, "gradients must flow");
            // the same 1e-1 as the logits (WeightFormatParityTest): a gradient through a stale or freed weight is O(1) off
            assertTrue(err < 1e-1, "gradients on the int8 base are off by " + err + " of the largest");
        }
    }

    /** All LoRA gradients of one forward/backward (same seed, B nudged off zero), flattened. */
    private static float[] gradients(CausalModel model, PeftConfig config, TokenBatch batch) {
        try (TrainableLora lora = TrainableLora.create(model, config, 3);
                NDManager step = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            for (TrainableLora.Module m : lora.modules().values()) {
                NDArray alias = m.b().stopGradient();
                alias.attach(step);
                alias.addi(0.05f);
            }
            lora.train(11);
            try (NDManager fwd = step.newSubManager();
                    GradientCollector gc = Engine.getInstance().newGradientCollector();
                    KvCache cache = model.newCache(batch.batch())) {
                gc.backward(CausalLmLoss.mean(model.forward(fwd, batch.tokens(), cache, lora, true), batch));
            }
            List<Float> all = new ArrayList<>();
            for (NDArray p : lora.parameters().values()) {
                NDArray g = p.getGradient();
                g.attach(step);
                for (float f : g.toFloatArray()) {
                    all.add(f);
                }
            }
            float[] out = new float[all.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = all.get(i);
            }
            return out;
        }
    }
}
