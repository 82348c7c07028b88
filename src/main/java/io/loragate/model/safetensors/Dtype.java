package io.loragate.model.safetensors;

/** Element types of the safetensors format, with their width in bytes. */
public enum Dtype {
    F64(8), F32(4), F16(2), BF16(2), I64(8), I32(4), I16(2), I8(1), U8(1), BOOL(1);

    private final int bytes;

    Dtype(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    /** Parses a header dtype string, or returns null if it is not one of ours. */
    public static Dtype parse(String s) {
        for (Dtype d : values()) {
            if (d.name().equals(s)) {
                return d;
            }
        }
        return null;
    }
}
