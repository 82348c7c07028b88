package io.loragate.training.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import java.util.List;

/** {@code torch.nn.utils.clip_grad_norm_}: one global L2 norm over every gradient. */
public final class GradClip {

    private GradClip() {
    }

    /**
     * The global L2 norm of {@code grads}; when {@code maxNorm} is positive and finite, scales every
     * gradient in place by {@code min(1, maxNorm / (norm + 1e-6))} as PyTorch does.
     *
     * @return the norm before clipping (NaN or infinite when a gradient is)
     */
    public static double clipByGlobalNorm(List<NDArray> grads, double maxNorm, NDManager stepManager) {
        double norm;
        try (NDManager scratch = stepManager.newSubManager()) {
            // as torch does: the norm of the per-gradient norms, read to the host once
            NDList norms = new NDList(grads.size());
            for (NDArray g : grads) {
                norms.add(g.norm());            // () each
            }
            NDArray stacked = NDArrays.stack(norms);     // (grads)
            NDArray total = stacked.norm();              // ()
            norms.attach(scratch);
            stacked.attach(scratch);
            total.attach(scratch);
            norm = total.getFloat();
        }
        if (maxNorm > 0 && Double.isFinite(maxNorm)) {
            float coef = (float) Math.min(1.0, maxNorm / (norm + 1e-6));
            for (NDArray g : grads) {
                g.muli(coef);
            }
        }
        return norm;
    }
}
