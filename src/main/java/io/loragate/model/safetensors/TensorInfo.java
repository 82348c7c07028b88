package io.loragate.model.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import io.loragate.model.ModelFormatException;
import java.nio.file.Path;
import java.util.Arrays;

/** One entry of a safetensors header: dtype, shape, and byte range relative to the data section. */
public record TensorInfo(String name, Dtype dtype, long[] shape, long begin, long end) {

    /** Elements in the tensor. */
    public long numel() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    static TensorInfo parse(Path file, String name, JsonNode node, long dataLen) {
        if (node == null || !node.isObject()) {
            throw new ModelFormatException(file, "header entry '" + name + "' is not an object");
        }
        Dtype dtype = Dtype.parse(node.path("dtype").asText(""));
        if (dtype == null) {
            throw new ModelFormatException(file, "tensor '" + name + "' has unknown dtype '" + node.path("dtype").asText("") + "'");
        }
        JsonNode shapeNode = node.get("shape");
        JsonNode offsets = node.get("data_offsets");
        if (shapeNode == null || !shapeNode.isArray() || shapeNode.size() > 8) {
            throw new ModelFormatException(file, "tensor '" + name + "' has no valid shape");
        }
        if (offsets == null || !offsets.isArray() || offsets.size() != 2
                || !offsets.get(0).canConvertToLong() || !offsets.get(1).canConvertToLong()) {
            throw new ModelFormatException(file, "tensor '" + name + "' has no valid data_offsets");
        }
        long[] shape = new long[shapeNode.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.canConvertToLong() || d.asLong() < 0) {
                throw new ModelFormatException(file, "tensor '" + name + "' has invalid dimension " + d);
            }
            shape[i] = d.asLong();
            numel = Math.multiplyExact(numel, Math.max(shape[i], 0));
            if (numel > dataLen) {
                throw new ModelFormatException(file, "tensor '" + name + "' shape " + Arrays.toString(shape)
                        + " needs more bytes than the file holds");
            }
        }
        long begin = offsets.get(0).asLong();
        long end = offsets.get(1).asLong();
        if (begin < 0 || end < begin || end > dataLen) {
            throw new ModelFormatException(file, "tensor '" + name + "' data_offsets [" + begin + ", " + end
                    + "] lie outside the data section of " + dataLen + " bytes");
        }
        long expected = numel * dtype.bytes();
        if (end - begin != expected) {
            throw new ModelFormatException(file, "tensor '" + name + "' has " + (end - begin) + " bytes but "
                    + dtype + Arrays.toString(shape) + " needs " + expected);
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }
}
