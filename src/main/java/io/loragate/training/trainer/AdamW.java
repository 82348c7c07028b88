package io.loragate.training.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * PyTorch's {@code torch.optim.AdamW} (single-tensor path), step for step:
 * <pre>
 *   p ← p·(1 − lr·wd)                        decoupled weight decay
 *   m ← m + (1 − β₁)(g − m)                  (lerp)
 *   v ← β₂·v + (1 − β₂)·g²
 *   p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
 * </pre>
 * The moments live in this optimizer's own manager; the parameters are updated in place through a
 * detached alias (the autograd leaves keep their identity, and no graph records the update).
 * Gradients are read from the parameters' {@code .grad} (where backward accumulated them) and
 * zeroed after each step.
 */
public final class AdamW implements AutoCloseable {

    private final List<String> names;
    private final List<NDArray> params;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final NDManager state;
    private final List<NDArray> m = new ArrayList<>(); // per param, its shape
    private final List<NDArray> v = new ArrayList<>(); // per param, its shape
    private long step;

    /**
     * @param params trainable arrays by name, in a fixed order (they must require gradients)
     * @param owner  parent of the optimizer's own manager (the trainer's)
     */
    public AdamW(Map<String, NDArray> params, double beta1, double beta2, double eps, double weightDecay, NDManager owner) {
        Objects.requireNonNull(params, "params");
        this.names = new ArrayList<>(params.keySet());
        this.params = new ArrayList<>(params.values());
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps > 0) || !(weightDecay >= 0)) {
            throw new IllegalArgumentException("AdamW needs 0 ≤ β < 1, ε > 0, weight decay ≥ 0; got β₁=" + beta1 + " β₂=" + beta2
                    + " ε=" + eps + " wd=" + weightDecay);
        }
        this.state = owner.newSubManager();
        for (NDArray p : this.params) {
            if (!p.hasGradient()) {
                throw new IllegalArgumentException("parameter " + names.get(this.params.indexOf(p)) + " does not require a gradient");
            }
            m.add(state.zeros(p.getShape(), p.getDataType()));
            v.add(state.zeros(p.getShape(), p.getDataType()));
        }
    }

    /** Steps taken so far. */
    public long steps() {
        return step;
    }

    /**
     * The current gradients, as aliases of the parameters' {@code .grad} attached to {@code step}
     * (zeros for a parameter that no backward reached).
     */
    public List<NDArray> gradients(NDManager stepManager) {
        List<NDArray> grads = new ArrayList<>(params.size());
        for (NDArray p : params) {
            NDArray g = p.getGradient();
            g.attach(stepManager);
            grads.add(g);
        }
        return grads;
    }

    /**
     * One update with learning rate {@code lr} from the gradients in {@code .grad} (already clipped
     * by the caller if wanted), then zeroes them. Temporaries go to {@code stepManager}.
     */
    public void step(double lr, NDManager stepManager) {
        step++;
        double bc1 = 1 - Math.pow(beta1, step);
        double bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
        float stepSize = (float) (lr / bc1);
        try (NDManager scratch = stepManager.newSubManager()) {
            List<NDArray> grads = gradients(scratch);
            for (int i = 0; i < params.size(); i++) {
                NDArray g = grads.get(i);
                NDArray data = params.get(i).stopGradient(); // alias of the leaf's storage, outside autograd
                data.attach(scratch);
                if (weightDecay != 0) {
                    data.muli((float) (1 - lr * weightDecay));
                }
                NDArray mi = m.get(i);
                NDArray vi = v.get(i);
                mi.addi(g.sub(mi).muli((float) (1 - beta1)));
                vi.muli((float) beta2).addi(g.mul(g).muli((float) (1 - beta2)));
                NDArray denom = vi.sqrt();                   // a result of vi's manager: move it to the scratch
                denom.attach(scratch);
                denom.divi((float) bc2Sqrt).addi((float) eps);
                NDArray update = mi.div(denom);
                update.attach(scratch);
                data.subi(update.muli(stepSize));
            }
        }
        zeroGradients();
    }

    /** Sets every parameter's {@code .grad} to zero (backward accumulates into it). */
    public void zeroGradients() {
        for (NDArray p : params) {
            JniUtils.zeroGrad((PtNDArray) p);
        }
    }

    /** Host copies of the moments by parameter name, {@code name + ".exp_avg"} / {@code ".exp_avg_sq"} (for checkpoints). */
    public Map<String, float[]> stateSnapshot() {
        Map<String, float[]> s = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) {
            s.put(names.get(i) + ".exp_avg", m.get(i).toFloatArray());
            s.put(names.get(i) + ".exp_avg_sq", v.get(i).toFloatArray());
        }
        return s;
    }

    /** Restores moments and the step count written by {@link #stateSnapshot()}. */
    public void restore(Map<String, float[]> snapshot, long steps) {
        for (int i = 0; i < names.size(); i++) {
            float[] mi = snapshot.get(names.get(i) + ".exp_avg");
            float[] vi = snapshot.get(names.get(i) + ".exp_avg_sq");
            if (mi == null || vi == null || mi.length != m.get(i).size() || vi.length != v.get(i).size()) {
                throw new IllegalArgumentException("optimizer state lacks or mis-sizes " + names.get(i));
            }
            // fresh arrays: NDArray.set(float[]) would make PyTorch alias the Java buffer
            m.set(i, replaced(m.get(i), mi));
            v.set(i, replaced(v.get(i), vi));
        }
        this.step = steps;
    }

    private NDArray replaced(NDArray old, float[] values) {
        NDArray fresh = state.create(values, old.getShape());
        old.close();
        return fresh;
    }

    @Override
    public void close() {
        state.close();
    }
}
