package io.loragate.adapter;

import io.loragate.common.ModelFormatException;
import java.nio.file.Path;

/**
 * The numbers an adapter may carry: every stored weight (LoRA A/B, DoRA magnitudes, IA3 vectors,
 * prompt embeddings, bottleneck weights, modules_to_save copies and classifier heads), every scalar
 * of its config ({@code lora_alpha}, {@code alpha_pattern}, the scales alpha/r or alpha/√r) and every
 * value precomputed from them at load (the scaled Bᵀ, DoRA's scales) must be finite, and the stored
 * ones and the scalars at most {@link #MAX_ABS_KEY} in absolute value. {@link LoraAdapter#load} checks
 * them for every path that loads an adapter (REST and gRPC registration, job publication, the
 * serving cache), so a refused adapter is never stored or served.
 */
public final class AdapterNumbers {

    /** Config key of the bound on every stored weight and config scalar. */
    public static final String MAX_ABS_KEY = "loragate.adapters.max-abs-value";

    /** Config key of the switch (tests only: containment tests load poisoned adapters with it off). */
    public static final String CHECK_KEY = "loragate.adapters.check-numbers";

    /** Default bound: orders of magnitude above any trained adapter's weight, alpha or DoRA magnitude. */
    public static final double DEFAULT_MAX_ABS = 1e4;

    private AdapterNumbers() {
    }

    /** Whether loads check numbers ({@value #CHECK_KEY}, default true). */
    public static boolean enabled() {
        String v = value(CHECK_KEY);
        return v == null || !v.trim().equalsIgnoreCase("false");
    }

    /** The bound ({@value #MAX_ABS_KEY}). */
    public static double maxAbs() {
        String v = value(MAX_ABS_KEY);
        if (v == null) {
            return DEFAULT_MAX_ABS;
        }
        double d = Double.parseDouble(v.trim());
        if (!(d > 0) || Double.isNaN(d)) {
            throw new IllegalStateException(MAX_ABS_KEY + " must be a positive number, was " + v);
        }
        return d;
    }

    /** What the application configured ({@link #configure}); the defaults until then. */
    private static volatile boolean configuredCheck = true;
    private static volatile double configuredMaxAbs = DEFAULT_MAX_ABS;

    /**
     * Sets the application's settings (called once at start-up from {@code LoragateConfig}; this package
     * reads no configuration itself). A system property of the same key still wins, so that plain unit
     * tests can set it.
     */
    public static void configure(boolean check, double maxAbs) {
        if (!(maxAbs > 0) || Double.isNaN(maxAbs)) {
            throw new IllegalStateException(MAX_ABS_KEY + " must be a positive number, was " + maxAbs);
        }
        configuredCheck = check;
        configuredMaxAbs = maxAbs;
    }

    /** A system property (read live, so that plain unit tests can set it), else what {@link #configure} set. */
    private static String value(String key) {
        String p = System.getProperty(key);
        if (p != null) {
            return p;
        }
        return key.equals(CHECK_KEY) ? Boolean.toString(configuredCheck) : Double.toString(configuredMaxAbs);
    }

    /** A stored tensor: finite, and within the bound. */
    static void checkTensor(Path path, String tensor, float[] values, double max) {
        for (int i = 0; i < values.length; i++) {
            float v = values[i];
            if (!Float.isFinite(v) || Math.abs(v) > max) {
                throw new ModelFormatException(path, "tensor '" + tensor + "' holds " + describe(v) + " at element " + i
                        + (Float.isFinite(v) ? "; adapter weights must lie within ±" + fmt(max) + " (" + MAX_ABS_KEY + ")"
                                : "; adapter weights must be finite"));
            }
        }
    }

    /** A config scalar such as {@code lora_alpha} or a module's scale: finite, and within the bound. */
    static void checkScalar(Path path, String what, double v, double max) {
        if (!Double.isFinite(v) || Math.abs(v) > max) {
            throw new ModelFormatException(path, what + " is " + describe(v) + "; it must be finite and within ±" + fmt(max)
                    + " (" + MAX_ABS_KEY + ")");
        }
    }

    /** A value computed at load from checked inputs (scaled weights, DoRA scales): finite. */
    static void checkDerived(Path path, String what, float[] values) {
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                throw new ModelFormatException(path, what + " is " + describe(values[i]) + " at element " + i
                        + "; the adapter's numbers overflow float32 (lower its weights or alpha)");
            }
        }
    }

    private static String describe(double v) {
        return Double.isNaN(v) ? "NaN" : Double.isInfinite(v) ? (v > 0 ? "+Infinity" : "-Infinity") : fmt(v);
    }

    private static String fmt(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }
}
