package io.loragate.model.onnx;

import io.loragate.common.ModelFormatException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A cursor over one protobuf message in wire format. Just enough of protobuf for ONNX: varints,
 * fixed 32/64-bit values and length-delimited fields. Length-delimited payloads come back as
 * slices of the underlying buffer, so tensor data in a memory-mapped file is never copied.
 */
final class ProtoReader {

    static final int VARINT = 0;
    static final int FIXED64 = 1;
    static final int LENGTH_DELIMITED = 2;
    static final int FIXED32 = 5;

    private final Path file;
    private final ByteBuffer buf; // position = next unread byte, limit = end of this message
    private int tag;

    ProtoReader(Path file, ByteBuffer message) {
        this.file = file;
        this.buf = message.slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Advances to the next field; false at the end of the message. */
    boolean next() {
        if (!buf.hasRemaining()) {
            return false;
        }
        long t = varint();
        if (t >>> 3 == 0 || t > Integer.MAX_VALUE) {
            throw malformed("invalid field tag " + t);
        }
        tag = (int) t;
        return true;
    }

    int field() {
        return tag >>> 3;
    }

    int wireType() {
        return tag & 7;
    }

    long varint() {
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            byte b = get();
            result |= (long) (b & 0x7f) << shift;
            if (b >= 0) {
                return result;
            }
        }
        throw malformed("varint longer than 10 bytes");
    }

    /** A length-delimited payload as a little-endian slice (no copy). */
    ByteBuffer bytes() {
        long len = varint();
        if (len < 0 || len > buf.remaining()) {
            throw malformed("length " + len + " runs past the end of its message (" + buf.remaining() + " bytes left)");
        }
        ByteBuffer slice = buf.slice(buf.position(), (int) len).order(ByteOrder.LITTLE_ENDIAN);
        buf.position(buf.position() + (int) len);
        return slice;
    }

    String string() {
        return StandardCharsets.UTF_8.decode(bytes()).toString();
    }

    ProtoReader message() {
        return new ProtoReader(file, bytes());
    }

    int fixed32() {
        need(4);
        return buf.getInt();
    }

    /** Skips the current field's value. */
    void skip() {
        switch (wireType()) {
            case VARINT -> varint();
            case FIXED64 -> {
                need(8);
                buf.position(buf.position() + 8);
            }
            case LENGTH_DELIMITED -> bytes();
            case FIXED32 -> {
                need(4);
                buf.position(buf.position() + 4);
            }
            default -> throw malformed("unsupported wire type " + wireType() + " (protobuf groups are not used by ONNX)");
        }
    }

    /**
     * Reads one occurrence of a repeated varint field (int64/int32/enum), which writers may emit
     * packed (one length-delimited run) or unpacked (one varint per element).
     */
    void varints(LongList out) {
        if (wireType() == VARINT) {
            out.add(varint());
        } else if (wireType() == LENGTH_DELIMITED) {
            ProtoReader packed = new ProtoReader(file, bytes());
            while (packed.buf.hasRemaining()) {
                out.add(packed.varint());
            }
        } else {
            throw malformed("field " + field() + " should hold varints but has wire type " + wireType());
        }
    }

    /** Reads one occurrence of a repeated float field, packed or not, appending raw little-endian bits. */
    void fixed32s(ByteList out) {
        if (wireType() == FIXED32) {
            out.addInt(fixed32());
        } else if (wireType() == LENGTH_DELIMITED) {
            ByteBuffer run = bytes();
            if (run.remaining() % 4 != 0) {
                throw malformed("packed 32-bit field " + field() + " has " + run.remaining() + " bytes, not a multiple of 4");
            }
            while (run.hasRemaining()) {
                out.addInt(run.getInt());
            }
        } else {
            throw malformed("field " + field() + " should hold 32-bit values but has wire type " + wireType());
        }
    }

    ModelFormatException malformed(String problem) {
        return new ModelFormatException(file, "malformed ONNX protobuf: " + problem);
    }

    private byte get() {
        need(1);
        return buf.get();
    }

    private void need(int n) {
        if (buf.remaining() < n) {
            throw malformed("message truncated");
        }
    }

    /** A growable long array (avoids boxing for dims and int64 data). */
    static final class LongList {
        private long[] a = new long[8];
        private int n;

        void add(long v) {
            if (n == a.length) {
                a = java.util.Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }

        int size() {
            return n;
        }

        long[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }

    /** A growable little-endian byte buffer for tensors stored in typed (non-raw) fields. */
    static final class ByteList {
        private ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);

        void addInt(int v) {
            ensure(4);
            b.putInt(v);
        }

        void addLong(long v) {
            ensure(8);
            b.putLong(v);
        }

        int size() {
            return b.position();
        }

        ByteBuffer toBuffer() {
            return b.duplicate().flip().slice().order(ByteOrder.LITTLE_ENDIAN);
        }

        private void ensure(int more) {
            if (b.remaining() < more) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(b.capacity() * 2, b.position() + more)).order(ByteOrder.LITTLE_ENDIAN);
                bigger.put(b.flip());
                b = bigger;
            }
        }
    }
}
