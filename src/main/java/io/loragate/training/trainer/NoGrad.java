package io.loragate.training.trainer;

import ai.djl.pytorch.jni.JniUtils;

/**
 * Turns autograd recording off for this thread until closed (PyTorch's {@code torch.no_grad()}),
 * so that an evaluation forward through trainable LoRA weights builds no graph. Grad mode is
 * per thread in PyTorch, and a thread starts with it on.
 */
public final class NoGrad implements AutoCloseable {

    private final boolean previous;

    public NoGrad() {
        previous = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
    }

    @Override
    public void close() {
        JniUtils.setGradMode(previous);
    }
}
