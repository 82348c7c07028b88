package io.loragate.model.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One ONNX {@code TensorProto}: an initializer or the value of a {@code Constant} node. The data is
 * row-major little-endian bytes; for initializers stored as {@code raw_data} it is a view into the
 * model file's mapping, so reading it copies nothing.
 */
public final class OnnxTensor {

    /** {@code TensorProto.DataType} values this importer reads. */
    public static final int FLOAT = 1;
    public static final int INT64 = 7;

    private final String name;
    private final int dataType;
    private final long[] dims;
    private final ByteBuffer data; // little-endian, position 0, limit = byte size

    OnnxTensor(String name, int dataType, long[] dims, ByteBuffer data) {
        this.name = name;
        this.dataType = dataType;
        this.dims = dims;
        this.data = data;
    }

    public String name() {
        return name;
    }

    /** The ONNX {@code TensorProto.DataType} code (1 = FLOAT, 7 = INT64, ...). */
    public int dataType() {
        return dataType;
    }

    public long[] dims() {
        return dims.clone();
    }

    public int rank() {
        return dims.length;
    }

    public long dim(int i) {
        return dims[i];
    }

    public long elementCount() {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }

    /** The raw little-endian bytes (a fresh view: callers may move its position freely). */
    public ByteBuffer littleEndianBytes() {
        return data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The elements of a FLOAT tensor, copied onto the heap. */
    public float[] floats() {
        require(FLOAT);
        float[] out = new float[(int) elementCount()];
        littleEndianBytes().asFloatBuffer().get(out);
        return out;
    }

    /** The elements of an INT64 tensor, copied onto the heap. */
    public long[] longs() {
        require(INT64);
        long[] out = new long[(int) elementCount()];
        littleEndianBytes().asLongBuffer().get(out);
        return out;
    }

    /** The single value of a FLOAT tensor with one element (a scalar or a one-element vector). */
    public float scalarFloat() {
        require(FLOAT);
        if (elementCount() != 1) {
            throw new IllegalStateException("ONNX tensor '" + name + "' " + Arrays.toString(dims) + " is not a scalar");
        }
        return littleEndianBytes().getFloat(0);
    }

    private void require(int type) {
        if (dataType != type) {
            throw new IllegalStateException("ONNX tensor '" + name + "' has data type " + dataType + ", not " + type);
        }
    }

    @Override
    public String toString() {
        return name + Arrays.toString(dims) + " type " + dataType;
    }
}
