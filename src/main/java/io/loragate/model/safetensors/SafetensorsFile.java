package io.loragate.model.safetensors;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.loragate.common.JsonLimits;
import io.loragate.common.ModelFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A memory-mapped safetensors file: an 8-byte little-endian header length, a JSON header, then the
 * raw tensor bytes. The header is validated completely on open, as the format's reference
 * implementation does, so that a lying header fails before anything is allocated: a JSON object of
 * bounded size and nesting with no duplicate keys, {@code __metadata__} a map of strings, integral
 * non-negative dimensions, byte sizes matching dtype and shape (overflow-checked), and byte ranges
 * that tile the data section exactly (in any order in the header, never overlapping, no gaps, no
 * trailing bytes). Tensor bytes are never copied to the Java heap: each read maps the tensor's
 * byte range and hands it to the engine.
 */
public final class SafetensorsFile implements AutoCloseable {

    /** Upper bound on the JSON header; the format's reference implementation uses 100 MB. */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    /** Strict header JSON: duplicate keys refused, nesting and numbers bounded (a header is flat). */
    private static final ObjectMapper JSON = JsonLimits.strict(JsonLimits.mapper(JsonLimits.HEADER_MAX_DEPTH,
            MAX_HEADER_BYTES));

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart, Map<String, TensorInfo> tensors,
            Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /** Opens and validates a safetensors file. Refuses pickle files and symbolic links' absence of a file. */
    public static SafetensorsFile open(Path path) {
        if (!Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS) && !Files.isRegularFile(path)) {
            throw new ModelFormatException(path, "file not found");
        }
        String name = path.getFileName().toString();
        if (name.endsWith(".bin") || name.endsWith(".pt") || name.endsWith(".pth") || name.endsWith(".pkl")) {
            throw new ModelFormatException(path, "pickle checkpoints are never loaded; convert it to safetensors");
        }
        FileChannel ch = null;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
            long size = ch.size();
            if (size < 8) {
                throw new ModelFormatException(path, "not a safetensors file: " + size + " bytes, shorter than the 8-byte header length");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.getLong(0);
            if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES || headerLen > size - 8) {
                throw new ModelFormatException(path, "not a safetensors file: header length " + headerLen
                        + " is outside 1.." + Math.min(MAX_HEADER_BYTES, size - 8) + " (a pickle or a truncated file?)");
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLen);
            readFully(ch, header, 8);
            JsonNode root;
            try {
                root = JSON.readTree(header.array());
            } catch (IOException e) {
                throw new ModelFormatException(path, "safetensors header is not valid JSON: " + e.getMessage().split("\n")[0]);
            }
            if (root == null || !root.isObject()) {
                throw new ModelFormatException(path, "safetensors header is not a JSON object");
            }
            long dataStart = 8 + headerLen;
            long dataLen = size - dataStart;
            Map<String, TensorInfo> tensors = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    readMetadata(path, e.getValue(), metadata);
                    continue;
                }
                tensors.put(e.getKey(), TensorInfo.parse(path, e.getKey(), e.getValue(), dataLen));
            }
            checkTiling(path, tensors.values(), dataLen);
            return new SafetensorsFile(path, ch, dataStart, Collections.unmodifiableMap(tensors),
                    Collections.unmodifiableMap(metadata));
        } catch (IOException e) {
            closeQuietly(ch);
            throw new ModelFormatException(path, "cannot read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    /** {@code __metadata__} is a map from string to string (or null), as the format defines it. */
    private static void readMetadata(Path path, JsonNode node, Map<String, String> out) {
        if (node.isNull()) {
            return;
        }
        if (!node.isObject()) {
            throw new ModelFormatException(path, "safetensors __metadata__ must be an object of strings, not "
                    + node.getNodeType().toString().toLowerCase(Locale.ROOT));
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> m = it.next();
            if (!m.getValue().isTextual()) {
                throw new ModelFormatException(path, "safetensors __metadata__ entry '" + TensorInfo.shorten(m.getKey())
                        + "' must be a string, not " + m.getValue().getNodeType().toString().toLowerCase(Locale.ROOT));
            }
            out.put(m.getKey(), m.getValue().textValue());
        }
    }

    /**
     * The byte ranges, sorted, must follow each other from 0 to the end of the data section: an
     * overlap would let two tensors alias the same bytes, a gap or a tail hides unparsed data.
     */
    private static void checkTiling(Path path, Collection<TensorInfo> infos, long dataLen) {
        TensorInfo[] sorted = infos.toArray(new TensorInfo[0]);
        Arrays.sort(sorted, Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long expected = 0;
        TensorInfo previous = null;
        for (TensorInfo t : sorted) {
            if (t.begin() != expected) {
                throw new ModelFormatException(path, "tensor '" + TensorInfo.shorten(t.name()) + "' data_offsets ["
                        + t.begin() + ", " + t.end() + "] " + (t.begin() < expected
                                ? "overlap those of '" + TensorInfo.shorten(previous.name()) + "'"
                                : "leave a gap after byte " + expected) + " of the data section");
            }
            expected = t.end();
            previous = t;
        }
        if (expected != dataLen) {
            throw new ModelFormatException(path, "the data section has " + dataLen + " bytes but its tensors cover "
                    + expected + " (trailing bytes or a truncated header)");
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos + buf.position());
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing more to release
            }
        }
    }

    public Path path() {
        return path;
    }

    public Set<String> names() {
        return tensors.keySet();
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public TensorInfo info(String name) {
        TensorInfo info = tensors.get(name);
        if (info == null) {
            throw new ModelFormatException(path, "missing tensor '" + name + "'");
        }
        return info;
    }

    /**
     * Reads a tensor into {@code manager}. Floating types come back as float32 (F16 and BF16 are
     * widened: DJL's CPU bfloat16 conversion is unsafe, so BF16 is widened here in Java), integer
     * types keep their type.
     */
    public NDArray read(String name, NDManager manager) {
        TensorInfo info = info(name);
        ByteBuffer bytes = map(info);
        Shape shape = new Shape(info.shape());
        NDArray out;
        switch (info.dtype()) {
            case F32:
                out = manager.create(bytes, shape, DataType.FLOAT32);
                break;
            case F16: {
                try (NDArray half = manager.create(bytes, shape, DataType.FLOAT16)) {
                    out = half.toType(DataType.FLOAT32, true);
                }
                break;
            }
            case BF16:
                out = manager.create(widenBf16(bytes, info.numel()), shape, DataType.FLOAT32);
                break;
            case F64: {
                try (NDArray dbl = manager.create(bytes, shape, DataType.FLOAT64)) {
                    out = dbl.toType(DataType.FLOAT32, true);
                }
                break;
            }
            case I64:
                out = manager.create(bytes, shape, DataType.INT64);
                break;
            case I32:
                out = manager.create(bytes, shape, DataType.INT32);
                break;
            case I8:
                out = manager.create(bytes, shape, DataType.INT8);
                break;
            case U8:
                out = manager.create(bytes, shape, DataType.UINT8);
                break;
            case BOOL:
                out = manager.create(bytes, shape, DataType.BOOLEAN);
                break;
            default:
                throw new ModelFormatException(path, "tensor '" + name + "' has unsupported dtype " + info.dtype());
        }
        // The engine may keep pointing at the mapped bytes; a private copy decouples the tensor
        // from the file's lifetime and gives it the engine's own alignment.
        NDArray owned = out.duplicate();
        out.close();
        owned.setName(name);
        return owned;
    }

    /** Reads a float tensor into a Java array (small tensors: reference data, tests). */
    public float[] readFloats(String name) {
        TensorInfo info = info(name);
        ByteBuffer bytes = map(info);
        long n = info.numel();
        if (n > Integer.MAX_VALUE) {
            throw new ModelFormatException(path, "tensor '" + name + "' is too large for a Java array");
        }
        float[] out = new float[(int) n];
        switch (info.dtype()) {
            case F32 -> bytes.asFloatBuffer().get(out);
            case BF16 -> widenBf16(bytes, n).asFloatBuffer().get(out);
            case F16 -> {
                ShortBuffer s = bytes.asShortBuffer();
                for (int i = 0; i < out.length; i++) {
                    out[i] = halfToFloat(s.get(i));
                }
            }
            default -> throw new ModelFormatException(path, "tensor '" + name + "' is " + info.dtype() + ", not a float type");
        }
        return out;
    }

    /** Reads an integer tensor into a Java array. */
    public long[] readLongs(String name) {
        TensorInfo info = info(name);
        ByteBuffer bytes = map(info);
        long[] out = new long[Math.toIntExact(info.numel())];
        switch (info.dtype()) {
            case I64 -> bytes.asLongBuffer().get(out);
            case I32 -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = bytes.getInt(i * 4);
                }
            }
            default -> throw new ModelFormatException(path, "tensor '" + name + "' is " + info.dtype() + ", not an integer type");
        }
        return out;
    }

    private ByteBuffer map(TensorInfo info) {
        try {
            long len = info.end() - info.begin();
            if (len > Integer.MAX_VALUE) {
                throw new ModelFormatException(path, "tensor '" + info.name() + "' is larger than 2 GiB");
            }
            if (len == 0) {
                return ByteBuffer.allocateDirect(0).order(ByteOrder.LITTLE_ENDIAN);
            }
            return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + info.begin(), len).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new ModelFormatException(path, "cannot map tensor '" + info.name() + "': " + e.getMessage(), e);
        }
    }

    /** IEEE 754 half precision to float (Java 17 has no Float.float16ToFloat). */
    static float halfToFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp == 0) {
            float v = mant * 0x1p-24f;
            return sign == 0 ? v : -v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    /** bfloat16 is the upper half of a float32: widen by shifting, into native (off-heap) memory. */
    private static ByteBuffer widenBf16(ByteBuffer src, long numel) {
        ByteBuffer dst = ByteBuffer.allocateDirect(Math.toIntExact(numel * 4)).order(ByteOrder.LITTLE_ENDIAN);
        ShortBuffer s = src.asShortBuffer();
        FloatBuffer f = dst.asFloatBuffer();
        for (int i = 0; i < numel; i++) {
            f.put(i, Float.intBitsToFloat((s.get(i) & 0xffff) << 16));
        }
        return dst;
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }
}
