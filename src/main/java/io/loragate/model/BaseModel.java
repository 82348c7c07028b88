package io.loragate.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A frozen base model resident on its device. Weights are plain NDArrays without gradients, owned
 * by one manager; nothing here ever modifies them. Adapters attach through {@link AdapterHook}.
 */
public abstract class BaseModel implements AutoCloseable {

    protected final ModelConfig config;
    protected final Device device;
    protected final NDManager weights;
    private final Map<String, LinearShape> linears;
    private final Map<String, long[]> paramShapes;
    private final Map<String, NDArray> params;

    protected BaseModel(ModelConfig config, Device device, NDManager weights, Map<String, LinearShape> linears,
            Map<String, long[]> paramShapes, Map<String, NDArray> params) {
        this.params = Collections.unmodifiableMap(params);
        this.config = config;
        this.device = device;
        this.weights = weights;
        this.linears = Collections.unmodifiableMap(linears);
        this.paramShapes = Collections.unmodifiableMap(paramShapes);
    }

    /**
     * Loads a Hugging Face model folder onto {@code device}: the architecture comes from
     * {@code config.json}; weights from safetensors (single file or sharded).
     */
    public static BaseModel load(Path folder, Device device) {
        ModelConfig config = ModelConfig.load(folder);
        return switch (config.architecture()) {
            case LLAMA -> LlamaModel.load(folder, config, device);
            case GPT2 -> Gpt2Model.load(folder, config, device);
            case BERT -> EncoderModel.load(folder, config, device);
        };
    }

    public ModelConfig config() {
        return config;
    }

    public Device device() {
        return device;
    }

    /** The manager that owns the weights; adapters and caches create their own sub-managers of it. */
    public NDManager manager() {
        return weights;
    }

    /** Every linear layer an adapter may target, by module path. */
    public Map<String, LinearShape> linears() {
        return linears;
    }

    /** Shapes of every parameter, by checkpoint name (for modules_to_save validation). */
    public Map<String, long[]> paramShapes() {
        return paramShapes;
    }

    /**
     * A resident parameter by checkpoint name, read-only (never modify it, never attach it elsewhere):
     * linear weights are {@code (out, in)} as the math sees them (GPT-2's Conv1D transposed), for
     * adapters that need the base's values (DoRA's weight norms, partial fine-tuning's starting
     * weights, prompt tuning initialised from real tokens); null when there is no such parameter.
     */
    public NDArray parameter(String name) {
        return params.get(name);
    }

    /** Bytes of resident weights. */
    public long weightBytes() {
        return paramShapes.values().stream().mapToLong(s -> {
            long n = 4;
            for (long d : s) {
                n *= d;
            }
            return n;
        }).sum();
    }

    @Override
    public void close() {
        weights.close();
    }

    /**
     * Collects a model's parameters while loading; closes everything if loading fails halfway, so a
     * bad checkpoint never leaves a half-loaded model behind.
     */
    static final class Loader implements AutoCloseable {
        final Checkpoint checkpoint;
        final NDManager manager;
        final Map<String, LinearShape> linears = new LinkedHashMap<>();
        final Map<String, long[]> shapes = new LinkedHashMap<>();
        final Map<String, NDArray> arrays = new LinkedHashMap<>();
        private boolean done;

        Loader(Path folder, Device device) {
            this.checkpoint = Checkpoint.open(folder);
            this.manager = NDManager.newBaseManager(device, "PyTorch");
        }

        NDArray param(String name, long... shape) {
            NDArray a = checkpoint.read(name, manager, shape);
            shapes.put(name, shape.length > 0 ? shape : a.getShape().getShape());
            arrays.put(name, a);
            return a;
        }

        NDArray optional(String name, long... shape) {
            return checkpoint.contains(name) ? param(name, shape) : null;
        }

        /** A linear layer's weight stored (out, in). */
        NDArray linear(String module, long in, long out) {
            linears.put(module, new LinearShape(module, in, out));
            return param(module + ".weight", out, in);
        }

        /**
         * Linear layers that read the same input, loaded as one {@code (Σout, in)} matrix
         * ({@link FusedLinear}); each module's weight (and bias) stays readable by its name, as a
         * view of its rows, and the separate arrays are freed.
         *
         * @param biasRequired null: no biases; true: every module has one; false: each may have one
         *                     (a missing one counts as zeros in the fused bias)
         */
        FusedLinear fused(long in, String[] modules, long[] outs, Boolean biasRequired) {
            int n = modules.length;
            NDList ws = new NDList(n);
            NDArray[] bs = new NDArray[n];
            boolean anyBias = false;
            long[] cuts = new long[n - 1];
            for (int i = 0; i < n; i++) {
                ws.add(linear(modules[i], in, outs[i]));
                if (biasRequired != null) {
                    String b = modules[i] + ".bias";
                    bs[i] = biasRequired ? param(b, outs[i]) : optional(b, outs[i]);
                    anyBias |= bs[i] != null;
                }
                if (i < n - 1) {
                    cuts[i] = (i == 0 ? 0 : cuts[i - 1]) + outs[i];
                }
            }
            NDArray weight = NDArrays.concat(ws, 0); // (Σout, in), in the loader's manager
            ws.close();
            NDArray[] weights = weight.split(cuts, 0).toArray(new NDArray[0]); // views (out_i, in)
            NDArray bias = null;
            NDArray[] biases = new NDArray[n];
            if (anyBias) {
                NDList parts = new NDList(n);
                for (int i = 0; i < n; i++) {
                    parts.add(bs[i] != null ? bs[i] : manager.zeros(new Shape(outs[i])));
                }
                bias = NDArrays.concat(parts, 0); // (Σout)
                parts.close();
                NDArray[] views = bias.split(cuts, 0).toArray(new NDArray[0]);
                for (int i = 0; i < n; i++) {
                    if (bs[i] != null) {
                        biases[i] = views[i];
                        arrays.put(modules[i] + ".bias", views[i]);
                    } else {
                        views[i].close();
                    }
                }
            }
            for (int i = 0; i < n; i++) {
                arrays.put(modules[i] + ".weight", weights[i]);
            }
            return new FusedLinear(modules, weight, bias, weights, biases, cuts);
        }

        /** A linear layer the checkpoint stores fused (Phi-3's qkv_proj): adapters see it whole, its output is cut at {@code cuts}. */
        FusedLinear stored(String module, long in, long out, long[] cuts) {
            NDArray w = linear(module, in, out);
            return new FusedLinear(new String[] {module}, w, null, new NDArray[] {w}, new NDArray[] {null}, cuts);
        }

        /** A GPT-2 Conv1D weight stored (in, out), transposed once here to (out, in). */
        NDArray conv1d(String module, long in, long out) {
            linears.put(module, new LinearShape(module, in, out));
            NDArray stored = param(module + ".weight", in, out);
            shapes.put(module + ".weight", new long[] {in, out});
            NDArray w = stored.transpose().duplicate();
            stored.close();
            arrays.put(module + ".weight", w);
            return w;
        }

        NDManager finish() {
            done = true;
            return manager;
        }

        @Override
        public void close() {
            checkpoint.close();
            if (!done) {
                manager.close();
            }
        }
    }
}
