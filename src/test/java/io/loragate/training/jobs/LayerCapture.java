package io.loragate.training.jobs;

import ai.djl.ndarray.NDArray;
import io.loragate.model.AdapterHook;
import java.util.Map;
import java.util.TreeMap;

/** A hook that behaves as {@code inner} and keeps a host copy of the residual stream after every layer. */
final class LayerCapture implements AdapterHook {

    private final AdapterHook inner;
    final Map<Integer, float[]> layers = new TreeMap<>();

    LayerCapture(AdapterHook inner) {
        this.inner = inner;
    }

    @Override
    public NDArray embeddings(NDArray ids, NDArray x) {
        return inner.embeddings(ids, x);
    }

    @Override
    public NDArray afterLayer(int layer, NDArray x) {
        NDArray out = inner.afterLayer(layer, x);
        layers.put(layer, out.toFloatArray());
        return out;
    }

    @Override
    public NDArray beforeLinear(String module, NDArray x) {
        return inner.beforeLinear(module, x);
    }

    @Override
    public NDArray afterLinear(String module, NDArray x, NDArray y) {
        return inner.afterLinear(module, x, y);
    }

    @Override
    public NDArray afterSublayer(String name, NDArray h) {
        return inner.afterSublayer(name, h);
    }
}
