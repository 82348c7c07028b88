package io.loragate.model.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import io.loragate.common.ModelFormatException;
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

    /** Longest tensor name quoted in an error message (a header may hold a name of megabytes). */
    private static final int MAX_QUOTED = 120;

    /** A name as an error message quotes it: at most {@value #MAX_QUOTED} characters. */
    static String shorten(String name) {
        return name.length() <= MAX_QUOTED ? name : name.substring(0, MAX_QUOTED) + "...(" + name.length() + " chars)";
    }

    static TensorInfo parse(Path file, String name, JsonNode node, long dataLen) {
        String quoted = shorten(name);
        if (node == null || !node.isObject()) {
            throw new ModelFormatException(file, "header entry '" + quoted + "' is not an object");
        }
        JsonNode dtypeNode = node.path("dtype");
        Dtype dtype = dtypeNode.isTextual() ? Dtype.parse(dtypeNode.textValue()) : null;
        if (dtype == null) {
            throw new ModelFormatException(file, "tensor '" + quoted + "' has unknown dtype '" + shorten(dtypeNode.asText("")) + "'");
        }
        JsonNode shapeNode = node.get("shape");
        JsonNode offsets = node.get("data_offsets");
        if (shapeNode == null || !shapeNode.isArray() || shapeNode.size() > MAX_DIMS) {
            throw new ModelFormatException(file, "tensor '" + quoted + "' has no valid shape (an array of at most "
                    + MAX_DIMS + " dimensions)");
        }
        if (offsets == null || !offsets.isArray() || offsets.size() != 2
                || !isLong(offsets.get(0)) || !isLong(offsets.get(1))) {
            throw new ModelFormatException(file, "tensor '" + quoted + "' has no valid data_offsets (two integers)");
        }
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!isLong(d) || d.longValue() < 0 || d.longValue() > MAX_DIM) {
                throw new ModelFormatException(file, "tensor '" + quoted + "' has invalid dimension " + shorten(d.toString())
                        + " (an integer from 0 to " + MAX_DIM + ")");
            }
            shape[i] = d.longValue();
        }
        // The byte size is compared with the data section factor by factor, by division, so that the
        // product never overflows (a lying header may declare [3, 2^62]); one 0 makes the tensor empty.
        long bytes = dtype.bytes();
        boolean empty = false;
        for (long d : shape) {
            empty |= d == 0;
        }
        if (!empty) {
            for (long d : shape) {
                if (d > dataLen / bytes) {
                    throw new ModelFormatException(file, "tensor '" + quoted + "' shape " + Arrays.toString(shape)
                            + " needs more bytes than the file's data section of " + dataLen + " bytes holds");
                }
                bytes *= d;
            }
        } else {
            bytes = 0;
        }
        long begin = offsets.get(0).longValue();
        long end = offsets.get(1).longValue();
        if (begin < 0 || end < begin || end > dataLen) {
            throw new ModelFormatException(file, "tensor '" + quoted + "' data_offsets [" + begin + ", " + end
                    + "] lie outside the data section of " + dataLen + " bytes");
        }
        if (end - begin != bytes) {
            throw new ModelFormatException(file, "tensor '" + quoted + "' has " + (end - begin) + " bytes but "
                    + dtype + Arrays.toString(shape) + " needs " + bytes);
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    /** Most dimensions accepted (PyTorch's own limit is 64; real weights have at most 4). */
    static final int MAX_DIMS = 8;
    /** Largest single dimension: what one Java array or one native index may hold. */
    static final long MAX_DIM = Integer.MAX_VALUE;

    /** An integral JSON number that fits a long (never a float, a string or a big integer). */
    private static boolean isLong(JsonNode n) {
        return n != null && n.isIntegralNumber() && n.canConvertToLong();
    }
}
