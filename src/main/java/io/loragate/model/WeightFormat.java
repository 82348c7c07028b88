package io.loragate.model;

import io.loragate.common.LoragateException;

import java.util.Locale;

/**
 * How a decoder's frozen base linear weights (and its token embedding table) are stored in
 * memory; every format computes in float32 ({@link LinearWeight}). Setting
 * {@code loragate.model.weight-format}. Fewer bytes per weight means fewer bytes read per decoded
 * token, which is what bounds batch-1 decode; whether it is also faster depends on the kernel the
 * engine has for the format (docs/weight-formats.md has the measurement).
 */
public enum WeightFormat {
    /** 4 bytes per weight, exact: the default. */
    FLOAT32(4),
    /** 2 bytes per weight (IEEE half), widened to float32 on every call. */
    FLOAT16(2),
    /** 1 byte per weight: symmetric int8 with one float32 scale per output channel (row). */
    INT8(1);

    private final int bytesPerWeight;

    WeightFormat(int bytesPerWeight) {
        this.bytesPerWeight = bytesPerWeight;
    }

    public int bytesPerWeight() {
        return bytesPerWeight;
    }

    /** The setting's spelling: float32, float16, int8. */
    public String settingName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses the setting (case-insensitive); a clear error names the allowed values. */
    public static WeightFormat parse(String s) {
        for (WeightFormat f : values()) {
            if (f.settingName().equalsIgnoreCase(s == null ? "" : s.strip())) {
                return f;
            }
        }
        throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT,
                "loragate.model.weight-format '" + s + "' is not one of float32, float16, int8");
    }
}
