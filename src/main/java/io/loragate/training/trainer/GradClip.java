package io.loragate.training.trainer;

import ai.djl.ndarray.NDArray;
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
        double sumSquares = 0;
        try (NDManager scratch = stepManager.newSubManager()) {
            for (NDArray g : grads) {
                NDArray n = g.norm();
                n.attach(scratch);
                float v = n.getFloat();
                sumSquares += (double) v * v;
            }
        }
        double norm = Math.sqrt(sumSquares);
        if (maxNorm > 0 && Double.isFinite(maxNorm)) {
            float coef = (float) Math.min(1.0, maxNorm / (norm + 1e-6));
            for (NDArray g : grads) {
                g.muli(coef);
            }
        }
        return norm;
    }
}
