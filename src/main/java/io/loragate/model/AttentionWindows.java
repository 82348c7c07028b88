package io.loragate.model;

import io.loragate.common.LoragateException;
import io.loragate.common.ModelFormatException;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Sliding-window attention as transformers applies it: a query at position {@code q} sees keys at
 * positions {@code k} with {@code q - window < k <= q} (masking_utils' sliding_window_overlay) in the
 * layers marked sliding, and the whole causal prefix in the others.
 *
 * @param window  the window in tokens; 0 when no layer slides
 * @param sliding per layer, true where the window applies
 */
public record AttentionWindows(int window, List<Boolean> sliding) {

    /** Every layer attends to the whole prefix. */
    public static final AttentionWindows NONE = new AttentionWindows(0, List.of());

    /** True when some layer uses the window. */
    public boolean any() {
        return window > 0 && sliding.contains(true);
    }

    /** True when layer {@code layer} (0-based) uses the window. */
    public boolean slides(int layer) {
        return window > 0 && layer < sliding.size() && sliding.get(layer);
    }

    /**
     * Mistral's and Phi-3's keys: {@code sliding_window} applies to every layer; null turns it off;
     * absent means {@code absent} (0: off).
     */
    static AttentionWindows everyLayer(Path file, JsonNode c, int layers, int absent) {
        int w = !c.has("sliding_window") ? absent : c.get("sliding_window").isNull() ? 0 : window(file, c.get("sliding_window"));
        return w == 0 ? NONE : new AttentionWindows(w, Collections.nCopies(layers, true));
    }

    /**
     * Qwen2's and Qwen3's keys: a window only with {@code use_sliding_window}, in the layers that
     * {@code layer_types} marks {@code sliding_attention} (by default those from
     * {@code max_window_layers} on, default 28); {@code sliding_window} defaults to 4096.
     */
    static AttentionWindows byLayerTypes(Path file, JsonNode c, int layers) {
        if (!c.path("use_sliding_window").asBoolean(false) || (c.has("sliding_window") && c.get("sliding_window").isNull())) {
            return NONE;
        }
        int w = c.has("sliding_window") ? window(file, c.get("sliding_window")) : 4096;
        List<Boolean> sliding = new ArrayList<>();
        JsonNode types = c.get("layer_types");
        if (types != null && !types.isNull()) {
            if (!types.isArray() || types.size() != layers) {
                throw new ModelFormatException(file, "layer_types must list one type per layer (" + layers + ")");
            }
            for (JsonNode t : types) {
                String type = t.asText();
                if (!type.equals("sliding_attention") && !type.equals("full_attention")) {
                    throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED, file + ": layer type '" + type
                            + "' is not supported (full_attention, sliding_attention)");
                }
                sliding.add(type.equals("sliding_attention"));
            }
        } else {
            int from = c.path("max_window_layers").asInt(28);
            for (int i = 0; i < layers; i++) {
                sliding.add(i >= from);
            }
        }
        return new AttentionWindows(w, Collections.unmodifiableList(sliding));
    }

    private static int window(Path file, JsonNode n) {
        if (!n.canConvertToInt() || !n.isIntegralNumber() || n.asInt() <= 0) {
            throw new ModelFormatException(file, "sliding_window must be a positive integer or null, not " + n);
        }
        return n.asInt();
    }
}
