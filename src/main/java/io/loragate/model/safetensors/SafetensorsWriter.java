package io.loragate.model.safetensors;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.common.DurableFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes safetensors files. Tensors are streamed one at a time; the file appears under its final
 * name only when complete ({@link DurableFiles#write}).
 */
public final class SafetensorsWriter {

    private static final ObjectMapper JSON = new ObjectMapper();

    private record Entry(String name, Dtype dtype, long[] shape, ByteBuffer data) {
    }

    private final List<Entry> entries = new ArrayList<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /** Adds a float32 tensor from a Java array. */
    public SafetensorsWriter addFloats(String name, long[] shape, float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return add(name, Dtype.F32, shape, b);
    }

    /** Adds a tensor from raw little-endian bytes. */
    public SafetensorsWriter add(String name, Dtype dtype, long[] shape, ByteBuffer littleEndianBytes) {
        entries.add(new Entry(name, dtype, shape.clone(), littleEndianBytes.duplicate().order(ByteOrder.LITTLE_ENDIAN)));
        return this;
    }

    /** Adds an NDArray (float32, int64 or int32); its bytes are copied out of the engine now. */
    public SafetensorsWriter add(String name, NDArray array) {
        Dtype dtype;
        DataType t = array.getDataType();
        if (t == DataType.FLOAT32) {
            dtype = Dtype.F32;
        } else if (t == DataType.INT64) {
            dtype = Dtype.I64;
        } else if (t == DataType.INT32) {
            dtype = Dtype.I32;
        } else {
            throw new IllegalArgumentException("cannot write tensor '" + name + "' of type " + t);
        }
        ByteBuffer bytes = array.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        return add(name, dtype, array.getShape().getShape(), bytes);
    }

    /** Writes the file atomically: readers see either the previous file or this whole one. */
    public void write(Path target) {
        try {
            ObjectNode header = JSON.createObjectNode();
            if (!metadata.isEmpty()) {
                ObjectNode meta = header.putObject("__metadata__");
                metadata.forEach(meta::put);
            }
            long offset = 0;
            for (Entry e : entries) {
                ObjectNode t = header.putObject(e.name());
                t.put("dtype", e.dtype().name());
                ArrayNode s = t.putArray("shape");
                for (long d : e.shape()) {
                    s.add(d);
                }
                long len = e.data().remaining();
                ArrayNode o = t.putArray("data_offsets");
                o.add(offset);
                o.add(offset + len);
                offset += len;
            }
            byte[] headerBytes = JSON.writeValueAsBytes(header);
            int padded = (headerBytes.length + 7) / 8 * 8; // keeps tensor data 8-byte aligned
            ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(padded);
            head.put(headerBytes);
            while (head.hasRemaining()) {
                head.put((byte) ' ');
            }
            head.flip();
            DurableFiles.write(target, ch -> {
                DurableFiles.writeFully(ch, head);
                for (Entry e : entries) {
                    DurableFiles.writeFully(ch, e.data().duplicate());
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + target + ": " + e.getMessage(), e);
        }
    }

}
