package io.loragate.adapter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.core.Linear;
import io.loragate.model.Scalars;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * DoRA (PEFT LoRA with {@code use_dora: true}): the LoRA-adapted weight's direction with a learned
 * magnitude per output. PEFT's forward is
 * {@code out = base(x) + (g − 1)·(base(x) − b) + g·scale·lora_B(lora_A(x))} with
 * {@code g = magnitude / ‖W + scale·B·A‖} (L2 norm of each output row over the input dimension,
 * detached: no gradient flows through it), which is {@code g ⊙ (y + δ − b) + b} where
 * {@code y + δ} is the base output plus the LoRA delta. This part runs after the LoRA delta, so it
 * sees {@code y + δ}. Key: {@code base_model.model.<module>.lora_magnitude_vector}, shape {@code (out)}.
 *
 * <p>Serving precomputes {@code g} and {@code b·(1 − g)} per module when the adapter loads; training
 * recomputes the norm from the current A and B at every forward (magnitude is the leaf). With LoRA
 * dropout in training, PEFT computes the (g − 1) term on {@code W·dropout(x)}; so does this part
 * (with the same mask as the LoRA delta), so training with dropout is PEFT's forward too.
 */
final class DoraPart implements AdapterPart {

    /** Key suffix of a module's magnitude. */
    static final String SUFFIX = ".lora_magnitude_vector";

    /** What serving multiplies with: {@code out = (y + δ)·g + c}. */
    record Served(NDArray magnitude, NDArray g, NDArray c) {
    }

    /** What training recomputes from: the base weight and bias, the LoRA pair, the magnitude leaf. */
    record Trained(NDArray weight, NDArray bias, TrainableLora.Module lora, NDArray magnitude) {
    }

    private final Map<String, Served> served;
    private final Map<String, Trained> trained;

    private DoraPart(Map<String, Served> served, Map<String, Trained> trained) {
        this.served = served == null ? null : Collections.unmodifiableMap(new LinkedHashMap<>(served));
        this.trained = trained == null ? null : Collections.unmodifiableMap(new LinkedHashMap<>(trained));
    }

    static DoraPart served(Map<String, Served> modules) {
        return new DoraPart(modules, null);
    }

    static DoraPart trainable(Map<String, Trained> modules) {
        return new DoraPart(null, modules);
    }

    @Override
    public boolean touchesLinear(String module) {
        return served != null ? served.containsKey(module) : trained.containsKey(module);
    }

    @Override
    public NDArray afterLinear(String module, NDArray x, NDArray y) {
        return afterLinear(module, x, x, y);
    }

    /**
     * {@code y} is {@code base(x) + δ} with {@code δ = scale·B·A·xd} on the LoRA input {@code xd}.
     * PEFT's training forward is {@code base(x) + (g − 1)·W·xd + g·δ}; {@code g ⊙ (y − b) + b} equals
     * it when {@code xd = x}, and otherwise differs by {@code (g − 1)·W·(x − xd)}, which is taken
     * off (one more matmul per module, only while dropout is active).
     */
    @Override
    public NDArray afterLinear(String module, NDArray x, NDArray loraInput, NDArray y) {
        if (served != null) {
            Served s = served.get(module);
            return s == null ? y : y.mul(s.g).add(s.c);
        }
        Trained t = trained.get(module);
        if (t == null) {
            return y;
        }
        NDManager step = y.getManager();
        NDArray g = step.ones(t.magnitude.getShape()).div(weightNorm(t, step)).mul(t.magnitude); // (out), step's
        NDArray out = t.bias == null ? y.mul(g) : y.sub(t.bias).mul(g).add(t.bias);
        if (loraInput == x) {
            return out;
        }
        NDArray dropped = Linear.linear(x.sub(loraInput), t.weight).singletonOrThrow(); // W·(x − xd), no bias
        return out.sub(dropped.mul(g.sub(1)));
    }

    /** {@code ‖W + scale·B·A‖} per output row, from detached copies of A and B: no gradient. */
    private static NDArray weightNorm(Trained t, NDManager step) {
        NDArray a = t.lora.a().stopGradient(); // made in the adapter's manager: move to the step's
        a.attach(step);
        NDArray b = t.lora.b().stopGradient();
        b.attach(step);
        NDArray full = Scalars.mul(b.matMul(a), t.lora.scale()).add(t.weight); // (out, in)
        return full.square().sum(new int[] {1}).sqrt().stopGradient();
    }

    @Override
    public Map<String, NDArray> tensors() {
        Map<String, NDArray> out = new LinkedHashMap<>();
        if (served != null) {
            served.forEach((m, s) -> out.put(LoraAdapter.PREFIX + m + SUFFIX, s.magnitude));
        } else {
            trained.forEach((m, t) -> out.put(LoraAdapter.PREFIX + m + SUFFIX, t.magnitude));
        }
        return out;
    }
}
