package io.loragate.model;

import io.loragate.common.LoragateException;

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
    private final Map<String, LinearWeight> stored;

    protected BaseModel(ModelConfig config, Device device, NDManager weights, Map<String, LinearShape> linears,
            Map<String, long[]> paramShapes, Map<String, NDArray> params) {
        this(config, device, weights, linears, paramShapes, params, Map.of());
    }

    /** As above, with the weights held in a {@link WeightFormat} ({@link Loader#weight}), by parameter name. */
    protected BaseModel(ModelConfig config, Device device, NDManager weights, Map<String, LinearShape> linears,
            Map<String, long[]> paramShapes, Map<String, NDArray> params, Map<String, LinearWeight> stored) {
        this.params = Collections.unmodifiableMap(params);
        this.stored = Collections.unmodifiableMap(stored);
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
        return load(folder, device, WeightFormat.FLOAT32);
    }

    /**
     * As {@link #load(Path, Device)}, with the decoder's linear weights and embedding table held in
     * {@code format} (Llama family only; other architectures accept float32 only).
     */
    public static BaseModel load(Path folder, Device device, WeightFormat format) {
        ModelConfig config = ModelConfig.load(folder);
        if (format != WeightFormat.FLOAT32 && config.architecture() != Architecture.LLAMA) {
            throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED, "loragate.model.weight-format="
                    + format.settingName() + " is implemented for the Llama family (llama, mistral, qwen2, qwen3, phi3); this "
                    + config.architectureName() + " model loads in float32 only");
        }
        return switch (config.architecture()) {
            case LLAMA -> LlamaModel.load(folder, config, device, format);
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
        NDArray p = params.get(name);
        if (p == null && stored.containsKey(name)) {
            return stored.get(name).dense(); // a float32 copy, made once, for a weight held in float16/int8
        }
        return p;
    }

    /** Bytes of resident weights, each in the format it is held in. */
    public long weightBytes() {
        return paramShapes.entrySet().stream().mapToLong(e -> {
            LinearWeight w = stored.get(e.getKey());
            if (w != null) {
                return w.bytes();
            }
            long n = 4;
            for (long d : e.getValue()) {
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
        final Map<String, LinearWeight> held = new LinkedHashMap<>();
        final WeightFormat format;
        private boolean done;

        Loader(Path folder, Device device) {
            this(folder, device, WeightFormat.FLOAT32);
        }

        Loader(Path folder, Device device, WeightFormat format) {
            this.checkpoint = Checkpoint.open(folder);
            this.manager = NDManager.newBaseManager(device, "PyTorch");
            this.format = format;
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

        /** A linear layer's weight stored (out, in), held in the loader's {@link WeightFormat}. */
        LinearWeight weight(String module, long in, long out) {
            linears.put(module, new LinearShape(module, in, out));
            return table(module + ".weight", out, in);
        }

        /** A (rows, cols) table that is no adapter target (an embedding), held in the loader's format. */
        LinearWeight table(String name, long rows, long cols) {
            NDArray w = checkpoint.read(name, manager, rows, cols);
            shapes.put(name, new long[] {rows, cols});
            LinearWeight held = LinearWeight.store(w, format);
            hold(name, held);
            return held;
        }

        /** Registers a weight under its checkpoint name: float32 as a plain parameter, other formats as held. */
        private void hold(String name, LinearWeight w) {
            if (format == WeightFormat.FLOAT32) {
                arrays.put(name, w.dense());
            } else {
                held.put(name, w);
            }
        }

        /**
         * Linear layers that read the same input, loaded as one {@code (Σout, in)} matrix in the
         * loader's format ({@link FusedLinear}); each module's weight (and bias) stays readable by
         * its name, as a view of its rows, and the separate float32 arrays are freed.
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
                linears.put(modules[i], new LinearShape(modules[i], in, outs[i]));
                String w = modules[i] + ".weight";
                ws.add(checkpoint.read(w, manager, outs[i], in));
                shapes.put(w, new long[] {outs[i], in});
                if (biasRequired != null) {
                    String b = modules[i] + ".bias";
                    bs[i] = biasRequired ? param(b, outs[i]) : optional(b, outs[i]);
                    anyBias |= bs[i] != null;
                }
                if (i < n - 1) {
                    cuts[i] = (i == 0 ? 0 : cuts[i - 1]) + outs[i];
                }
            }
            NDArray all = NDArrays.concat(ws, 0); // (Σout, in) float32, in the loader's manager
            ws.close();
            LinearWeight weight = LinearWeight.store(all, format);
            LinearWeight[] weights = weight.slices(cuts); // views (out_i, in)
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
                hold(modules[i] + ".weight", weights[i]);
            }
            return new FusedLinear(modules, weight, bias, weights, biases, cuts);
        }

        /** A linear layer the checkpoint stores fused (Phi-3's qkv_proj): adapters see it whole, its output is cut at {@code cuts}. */
        FusedLinear stored(String module, long in, long out, long[] cuts) {
            LinearWeight w = weight(module, in, out);
            return new FusedLinear(new String[] {module}, w, null, new LinearWeight[] {w}, new NDArray[] {null}, cuts);
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
