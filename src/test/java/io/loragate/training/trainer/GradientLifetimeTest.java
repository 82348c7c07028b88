package io.loragate.training.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
import io.loragate.model.safetensors.SafetensorsFile;
import io.loragate.training.data.TrainingExample;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Gradients must not depend on what the garbage collector does between forward and backward. DJL
 * makes arrays from Java data (and the constants of {@code mul(Number)}) as views of Java direct
 * buffers, freed once their wrapper is closed and collected; a backward that still needs one then
 * reads freed memory (see {@link io.loragate.model.Scalars}). Here the buffers are collected and the
 * freed memory is reused with garbage before every backward.
 */
class GradientLifetimeTest {

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama", "tiny-gpt2"})
    void gradientsAreTheSameWhenTheCollectorRunsBeforeBackward(String fixture) {
        try (CausalModel model = (CausalModel) BaseModel.load(Fixtures.hf(fixture), Device.cpu());
                SafetensorsFile ref = Fixtures.reference(fixture)) {
            TokenBatch batch = TokenBatch.of(List.of(
                    TrainingExample.allTokens(ref.readLongs("p0.input_ids")),
                    TrainingExample.allTokens(ref.readLongs("p2.input_ids"))));
            List<String> targets = new ArrayList<>(TrainableLora.defaultTargets(model.config().architecture()));
            PeftConfig base = PeftConfig.lora(4, 8, targets, "CAUSAL_LM");
            PeftConfig config = base.withSection(base.lora().with(false, false, 0.1));
            float[] quiet = gradients(model, config, batch, false);
            float[] collected = gradients(model, config, batch, true);
            assertEquals(0.0, Fixtures.maxAbsDiff(quiet, collected), fixture + ": gradients changed when the GC ran before backward");
        }
    }

    /** All gradients of one forward/backward, flattened; optionally with a collection and buffer churn in between. */
    private static float[] gradients(CausalModel model, PeftConfig config, TokenBatch batch, boolean churn) {
        try (TrainableLora lora = TrainableLora.create(model, config, 3);
                NDManager step = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            // B = 0 would hide A's gradient paths: give B a value first
            for (TrainableLora.Module m : lora.modules().values()) {
                NDArray alias = m.b().stopGradient();
                alias.attach(step);
                alias.addi(0.05f);
            }
            lora.train(11);
            try (NDManager fwd = step.newSubManager();
                    GradientCollector gc = Engine.getInstance().newGradientCollector();
                    KvCache cache = model.newCache(batch.batch())) {
                NDArray loss = CausalLmLoss.mean(model.forward(fwd, batch.tokens(), cache, lora, true), batch);
                if (churn) {
                    churn();
                }
                gc.backward(loss);
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

    /** Collects unreachable direct buffers, then allocates small ones filled with garbage into the freed memory. */
    private static void churn() {
        for (int round = 0; round < 3; round++) {
            System.gc();
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            List<ByteBuffer> keep = new ArrayList<>();
            for (int i = 0; i < 20000; i++) {
                ByteBuffer b = ByteBuffer.allocateDirect(4 + (i % 64) * 4);
                while (b.hasRemaining()) {
                    b.put((byte) 0x7f);
                }
                keep.add(b);
            }
            keep.clear();
        }
    }
}
