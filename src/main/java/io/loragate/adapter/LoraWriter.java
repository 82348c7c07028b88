package io.loragate.adapter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import io.loragate.model.safetensors.SafetensorsWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Writes a LoRA adapter as a PEFT folder: {@code adapter_config.json} and
 * {@code adapter_model.safetensors} with PEFT's own key names ({@code base_model.model.<module>.lora_A.weight}
 * of shape {@code (r, in)}, {@code .lora_B.weight} of shape {@code (out, r)}, and the parameters of
 * modules to save under {@code base_model.model.<param>}), so that {@code PeftModel.from_pretrained}
 * loads what we write. Values are written as given: unscaled A and B, float32.
 */
public final class LoraWriter {

    private record Tensor(long[] shape, float[] values) {
    }

    private final PeftConfig config;
    private final Map<String, Tensor> tensors = new LinkedHashMap<>();

    public LoraWriter(PeftConfig config) {
        this.config = Objects.requireNonNull(config, "config");
    }

    /**
     * Adds one module's LoRA pair in PEFT's layout.
     *
     * @param a {@code (r, in)}
     * @param b {@code (out, r)}
     */
    public LoraWriter lora(String module, NDArray a, NDArray b) {
        long[] as = a.getShape().getShape();
        long[] bs = b.getShape().getShape();
        if (as.length != 2 || bs.length != 2 || as[0] != bs[1]) {
            throw new IllegalArgumentException("module '" + module + "': lora_A " + Arrays.toString(as) + " and lora_B "
                    + Arrays.toString(bs) + " are not (r, in) and (out, r)");
        }
        return lora(module, as, floats(a), bs, floats(b));
    }

    /** Adds one module's LoRA pair from row-major host arrays: A {@code (r, in)}, B {@code (out, r)}. */
    LoraWriter lora(String module, long[] aShape, float[] a, long[] bShape, float[] b) {
        put(LoraAdapter.PREFIX + module + ".lora_A.weight", aShape, a);
        put(LoraAdapter.PREFIX + module + ".lora_B.weight", bShape, b);
        return this;
    }

    /** Adds a parameter of a module to save, by its name in the base checkpoint (e.g. {@code classifier.weight}). */
    public LoraWriter moduleToSave(String param, NDArray value) {
        return moduleToSave(param, value.getShape().getShape(), floats(value));
    }

    LoraWriter moduleToSave(String param, long[] shape, float[] values) {
        // a prompt-learning PeftModel wraps the transformers model directly: base_model.<param>
        put((config.isPromptTuning() ? PromptPart.SAVED_PREFIX : LoraAdapter.PREFIX) + param, shape, values);
        return this;
    }

    /** Adds a tensor under its full key (an {@link AdapterPart}'s, as {@link AdapterPart#tensors()} names it). */
    public LoraWriter tensor(String key, NDArray value) {
        put(key, value.getShape().getShape(), floats(value));
        return this;
    }

    private void put(String key, long[] shape, float[] values) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        if (n != values.length) {
            throw new IllegalArgumentException("tensor '" + key + "': shape " + Arrays.toString(shape) + " does not hold "
                    + values.length + " values");
        }
        if (tensors.put(key, new Tensor(shape.clone(), values)) != null) {
            throw new IllegalArgumentException("tensor '" + key + "' added twice");
        }
    }

    private static float[] floats(NDArray array) {
        if (array.getDataType() != DataType.FLOAT32) {
            try (NDArray f = array.toType(DataType.FLOAT32, true)) {
                return f.toFloatArray();
            }
        }
        return array.toFloatArray();
    }

    /** Writes both files into {@code folder} (created if needed); each file appears whole or not at all. */
    public void write(Path folder) {
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
        tensors.keySet().stream().sorted().forEach(k -> {
            Tensor t = tensors.get(k);
            w.addFloats(k, t.shape(), t.values());
        });
        w.write(folder.resolve(LoraAdapter.WEIGHTS_FILE));
        config.write(folder);
    }
}
