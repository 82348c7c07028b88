package io.loragate.training.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.loragate.Fixtures;
import io.loragate.adapter.TrainableLora;
import io.loragate.model.AdapterHook;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.model.KvCache;
import io.loragate.model.safetensors.SafetensorsFile;
import io.loragate.training.data.TrainingExample;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** AdamW, clipping, schedules and the masked loss against their definitions, in double precision. */
class OptimizerTest {

    /** Three steps with weight decay against torch.optim.AdamW's single-tensor update written out in double. */
    @Test
    void adamWIsPyTorchsUpdate() {
        float[] p0 = {0.5f, -1.25f, 2f, 0f, -0.1f};
        float[][] grads = {{0.1f, -0.2f, 0.3f, 1e-4f, -5f}, {-0.3f, 0.1f, 0.2f, 0f, 4f}, {0.05f, 0.05f, -0.5f, 2f, -1f}};
        double lr = 1e-2;
        double wd = 0.1;
        double b1 = 0.9;
        double b2 = 0.999;
        double eps = 1e-8;
        double[] p = new double[p0.length];
        double[] m = new double[p0.length];
        double[] v = new double[p0.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = p0[i];
        }
        try (NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            NDArray param = manager.create(p0);
            param.setRequiresGradient(true);
            Map<String, NDArray> params = new LinkedHashMap<>();
            params.put("p", param);
            try (AdamW adam = new AdamW(params, b1, b2, eps, wd, manager)) {
                for (int t = 1; t <= grads.length; t++) {
                    try (NDManager step = manager.newSubManager()) {
                        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                            // d/dp of sum(p·g) is g
                            NDArray c = step.create(grads[t - 1]).duplicate();
                            gc.backward(param.mul(c).sum());
                        }
                        adam.step(lr, step);
                    }
                    for (int i = 0; i < p.length; i++) {
                        double g = grads[t - 1][i];
                        p[i] *= 1 - lr * wd;
                        m[i] = b1 * m[i] + (1 - b1) * g;
                        v[i] = b2 * v[i] + (1 - b2) * g * g;
                        double mHat = m[i] / (1 - Math.pow(b1, t));
                        double denom = Math.sqrt(v[i]) / Math.sqrt(1 - Math.pow(b2, t)) + eps;
                        p[i] -= lr * mHat / denom;
                    }
                    float[] ours = param.toFloatArray();
                    for (int i = 0; i < p.length; i++) {
                        assertEquals(p[i], ours[i], 1e-6, "step " + t + " element " + i);
                    }
                    assertEquals(0f, param.getGradient().sum().getFloat(), "gradients are zeroed after a step");
                }
                assertEquals(3, adam.steps());
            }
        }
    }

    @Test
    void clippingScalesByTheGlobalNorm() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            NDArray a = m.create(new float[] {3, 0});
            NDArray b = m.create(new float[] {0, 4, 0});
            double norm = GradClip.clipByGlobalNorm(List.of(a, b), 1.0, m);
            assertEquals(5.0, norm, 1e-6);
            double coef = 1.0 / (5.0 + 1e-6);
            assertEquals(3 * coef, a.getFloat(0), 1e-6);
            assertEquals(4 * coef, b.getFloat(1), 1e-6);
            assertEquals(1.0, GradClip.clipByGlobalNorm(List.of(a, b), 10.0, m), 1e-5, "below the limit");
            assertEquals(3 * coef, a.getFloat(0), 1e-6, "left unchanged below the limit");
        }
    }

    @Test
    void schedulesAreTransformers() {
        LrSchedule linear = new LrSchedule(LrSchedule.Kind.LINEAR, 1.0, 2, 10);
        assertEquals(0.0, linear.lr(0));
        assertEquals(0.5, linear.lr(1));
        assertEquals(1.0, linear.lr(2));
        assertEquals(0.5, linear.lr(6), 1e-12);
        assertEquals(0.125, linear.lr(9), 1e-12);
        LrSchedule cosine = new LrSchedule(LrSchedule.Kind.COSINE, 2.0, 0, 4);
        assertEquals(2.0, cosine.lr(0), 1e-12);
        assertEquals(1.0 + Math.cos(Math.PI / 4), cosine.lr(1), 1e-12);
        assertEquals(1.0, cosine.lr(2), 1e-12);
        assertEquals(1.0, new LrSchedule(LrSchedule.Kind.CONSTANT, 1.0, 0, 3).lr(2));
    }

    /**
     * A left-padded batch with loss masks gives, per row, the cross-entropy of that row alone over
     * its target tokens (padding changes nothing; context tokens do not count).
     */
    @Test
    void maskedPaddedLossEqualsEachRowsOwnCrossEntropy() {
        try (CausalModel model = (CausalModel) BaseModel.load(Fixtures.hf("tiny-llama"), Device.cpu());
                TrainableLora lora = TrainableLora.load(model, Fixtures.hf("tiny-llama").resolve("adapter0"));
                SafetensorsFile ref = Fixtures.reference("tiny-llama");
                NDManager m = NDManager.newBaseManager(Device.cpu(), "PyTorch");
                NoGrad ignored = new NoGrad()) {
            long[] p0 = ref.readLongs("p0.input_ids");
            long[] p2 = ref.readLongs("p2.input_ids");
            boolean[] t0 = new boolean[p0.length];
            for (int i = 5; i < p0.length; i++) {
                t0[i] = true; // "completion" from token 5 on
            }
            List<TrainingExample> rows = List.of(new TrainingExample(p0, t0), TrainingExample.allTokens(p2));
            TokenBatch batch = TokenBatch.of(rows);
            double batched;
            try (KvCache cache = model.newCache(2)) {
                batched = CausalLmLoss.sum(model.forward(m, batch.tokens(), cache, lora, true), batch).getFloat();
            }
            double expected = 0;
            int vocab = model.config().vocabSize();
            for (TrainingExample e : rows) {
                float[] logits = model.logits(m, e.ids(), lora).toFloatArray(); // (t, vocab)
                for (int j = 0; j + 1 < e.length(); j++) {
                    if (e.target()[j + 1]) {
                        double max = Double.NEGATIVE_INFINITY;
                        for (int k = 0; k < vocab; k++) {
                            max = Math.max(max, logits[j * vocab + k]);
                        }
                        double sum = 0;
                        for (int k = 0; k < vocab; k++) {
                            sum += Math.exp(logits[j * vocab + k] - max);
                        }
                        expected += max + Math.log(sum) - logits[j * vocab + (int) e.ids()[j + 1]];
                    }
                }
            }
            System.out.printf("masked padded batch loss sum %.6f, rows alone %.6f%n", batched, expected);
            assertEquals(expected, batched, 1e-4);
            assertTrue(batch.targetCount() == (p0.length - 5) + (p2.length - 1));
            // no hook: the base alone also works through the same loss
            try (KvCache cache = model.newCache(2)) {
                assertTrue(CausalLmLoss.mean(model.forward(m, batch.tokens(), cache, AdapterHook.NONE, true), batch)
                        .getFloat() > 0);
            }
        }
    }

    @Test
    void freshLoraIsPeftsInitialisation() {
        try (CausalModel model = (CausalModel) BaseModel.load(Fixtures.hf("tiny-llama"), Device.cpu());
                TrainableLora lora = TrainableLora.create(model,
                        io.loragate.adapter.PeftConfig.lora(4, 8, TrainableLora.defaultTargets(model.config().architecture()), "CAUSAL_LM"), 1)) {
            assertEquals(List.of("model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj",
                    "model.layers.0.self_attn.v_proj", "model.layers.0.self_attn.o_proj", "model.layers.1.self_attn.q_proj",
                    "model.layers.1.self_attn.k_proj", "model.layers.1.self_attn.v_proj", "model.layers.1.self_attn.o_proj"),
                    lora.moduleNames());
            for (TrainableLora.Module mod : lora.modules().values()) {
                float[] a = mod.a().toFloatArray();
                long in = mod.a().getShape().get(1);
                double bound = 1 / Math.sqrt(in);
                double max = 0;
                for (float x : a) {
                    max = Math.max(max, Math.abs(x));
                }
                assertTrue(max <= bound && max > 0.8 * bound, mod.name() + ": A within ±1/√in");
                assertEquals(new Shape(4, in), mod.a().getShape());
                assertEquals(0f, mod.b().abs().sum().getFloat(), "B starts at zero");
                assertEquals(2.0f, mod.scale());
            }
        }
    }
}
