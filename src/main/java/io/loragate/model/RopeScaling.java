package io.loragate.model;

import io.loragate.common.LoragateException;
import io.loragate.common.ModelFormatException;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;

/**
 * Rotary embedding frequencies as Hugging Face transformers computes them
 * ({@code modeling_rope_utils.py}), for the {@code rope_type}s loragate honours: {@code default},
 * {@code linear}, {@code dynamic}, {@code yarn} and {@code llama3}. Arithmetic is float32 where
 * transformers works on float32 tensors, so the angles agree to the last bit or two.
 *
 * @param type           the rope_type
 * @param theta          rope_theta, the base wavelength
 * @param headDim        dimensions rotated per head (partial rotary is refused)
 * @param factor         the scaling factor (1 for default)
 * @param lowFreqFactor  llama3
 * @param highFreqFactor llama3
 * @param originalMax    llama3 / yarn: the pre-training context; dynamic: max_position_embeddings
 * @param betaFast       yarn
 * @param betaSlow       yarn
 * @param truncate       yarn: round the correction range to whole dimensions
 * @param attentionScale what cos and sin are multiplied by (yarn's attention factor; 1 otherwise)
 */
public record RopeScaling(String type, double theta, int headDim, double factor, double lowFreqFactor,
        double highFreqFactor, int originalMax, double betaFast, double betaSlow, boolean truncate,
        double attentionScale) {

    /** The rope_types loragate computes; anything else is refused with UNIMPLEMENTED. */
    public static final List<String> SUPPORTED = List.of("default", "linear", "dynamic", "yarn", "llama3");

    /** True when the frequencies depend on the sequence length (recomputed per forward). */
    public boolean dynamic() {
        return type.equals("dynamic");
    }

    /**
     * Reads {@code rope_parameters} (transformers 5) or {@code rope_scaling} + {@code rope_theta}
     * (transformers 4, as the hub's Llama 3.x configs have them).
     */
    static RopeScaling parse(Path file, JsonNode c, int headDim, int maxPositions) {
        JsonNode p = c.hasNonNull("rope_parameters") ? c.get("rope_parameters") : c.path("rope_scaling");
        if (!p.isMissingNode() && !p.isNull() && !p.isObject()) {
            throw new ModelFormatException(file, "rope_parameters / rope_scaling must be an object");
        }
        String type = p.path("rope_type").asText(p.path("type").asText("default"));
        double theta = p.hasNonNull("rope_theta") ? p.get("rope_theta").asDouble() : c.path("rope_theta").asDouble(10000.0);
        double partial = p.path("partial_rotary_factor").asDouble(c.path("partial_rotary_factor").asDouble(1.0));
        if (partial != 1.0) {
            throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED,
                    file + ": partial_rotary_factor " + partial + " is not supported (only 1.0: every dimension rotates)");
        }
        if (!SUPPORTED.contains(type)) {
            throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED, file + ": rope type '" + type
                    + "' is not supported (supported: " + String.join(", ", SUPPORTED) + ")");
        }
        if (!(theta > 1.0) || Double.isInfinite(theta)) {
            throw new ModelFormatException(file, "rope_theta must be a finite number above 1, not " + theta);
        }
        if (type.equals("default")) {
            return new RopeScaling(type, theta, headDim, 1, 0, 0, maxPositions, 0, 0, true, 1.0);
        }
        double factor = positive(file, p, "factor", type.equals("yarn") ? Double.NaN : null);
        // Phi-3 keeps the pre-training length at the top level, and transformers prefers it there
        int original = c.hasNonNull("original_max_position_embeddings") ? c.get("original_max_position_embeddings").asInt()
                : p.path("original_max_position_embeddings").asInt(maxPositions);
        if (original <= 0) {
            throw new ModelFormatException(file, "original_max_position_embeddings must be positive");
        }
        return switch (type) {
            case "linear" -> new RopeScaling(type, theta, headDim, factor, 0, 0, maxPositions, 0, 0, true, 1.0);
            case "dynamic" -> new RopeScaling(type, theta, headDim, factor, 0, 0, maxPositions, 0, 0, true, 1.0);
            case "llama3" -> {
                double low = positive(file, p, "low_freq_factor", null);
                double high = positive(file, p, "high_freq_factor", null);
                if (high <= low) {
                    throw new ModelFormatException(file, "llama3 rope: high_freq_factor must exceed low_freq_factor");
                }
                yield new RopeScaling(type, theta, headDim, factor, low, high, original, 0, 0, true, 1.0);
            }
            default -> yarn(file, p, theta, headDim, Double.isNaN(factor) ? (double) maxPositions / original : factor,
                    original);
        };
    }

    private static RopeScaling yarn(Path file, JsonNode p, double theta, int headDim, double factor, int original) {
        double attention;
        if (p.hasNonNull("attention_factor")) {
            attention = p.get("attention_factor").asDouble();
        } else if (p.path("mscale").asDouble(0) != 0 && p.path("mscale_all_dim").asDouble(0) != 0) {
            attention = mscale(factor, p.get("mscale").asDouble()) / mscale(factor, p.get("mscale_all_dim").asDouble());
        } else {
            attention = mscale(factor, 1);
        }
        // transformers: `rope_parameters.get("beta_fast") or 32`, so 0 means the default too
        double fast = p.path("beta_fast").asDouble(0) != 0 ? p.get("beta_fast").asDouble() : 32;
        double slow = p.path("beta_slow").asDouble(0) != 0 ? p.get("beta_slow").asDouble() : 1;
        if (!Double.isFinite(attention) || !Double.isFinite(fast) || !Double.isFinite(slow)) {
            throw new ModelFormatException(file, "yarn rope parameters must be finite");
        }
        return new RopeScaling("yarn", theta, headDim, factor, 0, 0, original, fast, slow,
                p.path("truncate").asBoolean(true), attention);
    }

    private static double mscale(double scale, double m) {
        return scale <= 1 ? 1.0 : 0.1 * m * Math.log(scale) + 1.0;
    }

    /** A required positive number; {@code orElse} (NaN allowed) when absent, if given. */
    private static double positive(Path file, JsonNode p, String key, Double orElse) {
        JsonNode n = p.get(key);
        if (n == null || n.isNull()) {
            if (orElse != null) {
                return orElse;
            }
            throw new ModelFormatException(file, "rope type '" + p.path("rope_type").asText(p.path("type").asText())
                    + "' needs '" + key + "'");
        }
        double v = n.asDouble();
        if (!n.isNumber() || !(v > 0) || Double.isInfinite(v)) {
            throw new ModelFormatException(file, "rope '" + key + "' must be a positive number, not " + n);
        }
        return v;
    }

    /**
     * The inverse frequencies {@code (headDim / 2)} for a forward whose longest row reaches
     * {@code seqLen} tokens (only dynamic looks at it).
     */
    public float[] inverseFrequencies(int seqLen) {
        int half = headDim / 2;
        double base = theta;
        if (dynamic()) {
            // transformers: seq_len = max(seq_len, max_position_embeddings), in float32 since seq_len is a tensor
            float s = Math.max(seqLen, originalMax);
            float grown = (float) factor * s / (float) originalMax - (float) (factor - 1);
            base = (float) ((float) theta * Math.pow(grown, (double) headDim / (headDim - 2)));
        }
        float[] f = new float[half];
        for (int i = 0; i < half; i++) {
            // float32 exponent as transformers computes it: base ** (arange(0, dim, 2).float() / dim)
            f[i] = (float) (1.0 / Math.pow(base, (float) (2 * i) / (float) headDim));
        }
        switch (type) {
            case "linear" -> {
                for (int i = 0; i < half; i++) {
                    f[i] = f[i] / (float) factor;
                }
            }
            case "llama3" -> llama3(f);
            case "yarn" -> yarn(f);
            default -> {
            }
        }
        return f;
    }

    /** Llama 3.1's rescaling: long wavelengths divided by factor, short kept, a smooth ramp between. */
    private void llama3(float[] f) {
        float lowWavelen = (float) (originalMax / lowFreqFactor);
        float highWavelen = (float) (originalMax / highFreqFactor);
        for (int i = 0; i < f.length; i++) {
            float wavelen = (float) (2 * Math.PI) / f[i];
            float scaled = wavelen > lowWavelen ? f[i] / (float) factor : f[i];
            if (!(wavelen < highWavelen) && !(wavelen > lowWavelen)) {
                float smooth = ((float) originalMax / wavelen - (float) lowFreqFactor) / (float) (highFreqFactor - lowFreqFactor);
                scaled = (1 - smooth) * scaled / (float) factor + smooth * scaled;
            }
            f[i] = scaled;
        }
    }

    /** YaRN: interpolated (divided by factor) below the correction range, extrapolated above, a linear ramp between. */
    private void yarn(float[] f) {
        double low = correctionDim(betaFast);
        double high = correctionDim(betaSlow);
        if (truncate) {
            low = Math.floor(low);
            high = Math.ceil(high);
        }
        low = Math.max(low, 0);
        high = Math.min(high, headDim - 1);
        if (low == high) {
            high += 0.001; // as transformers: no division by zero
        }
        for (int i = 0; i < f.length; i++) {
            float ramp = Math.min(1f, Math.max(0f, (float) ((i - low) / (high - low))));
            float extrapolation = 1f - ramp;
            float pos = 1f / f[i];                         // base ** (2i / dim), as transformers' pos_freqs
            float interpolated = 1f / ((float) factor * pos);
            f[i] = interpolated * (1 - extrapolation) + f[i] * extrapolation;
        }
    }

    private double correctionDim(double rotations) {
        return headDim * Math.log(originalMax / (rotations * 2 * Math.PI)) / (2 * Math.log(theta));
    }
}
