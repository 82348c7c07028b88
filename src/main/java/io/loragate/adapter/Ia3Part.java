package io.loragate.adapter;

import ai.djl.ndarray.NDArray;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * IA3 ({@code peft_type: "IA3"}): a learned vector per targeted linear layer. For a feed-forward
 * module it scales the layer's input, {@code base(x ⊙ l)} (vector stored {@code (1, in)}); for every
 * other module it scales the output, bias included, {@code base(x) ⊙ l} (stored {@code (out, 1)}),
 * as PEFT's {@code IA3Layer} does. Keys: {@code base_model.model.<module>.ia3_l}.
 *
 * <p>Serving holds plain arrays; training holds leaves (initialised to ones: the base).
 */
final class Ia3Part implements AdapterPart {

    /** Key suffix of a module's vector. */
    static final String SUFFIX = ".ia3_l";

    private final Map<String, NDArray> vectors;  // module → (1, in) for feed-forward modules, else (out, 1), as stored
    private final Set<String> feedforward;

    /**
     * @param vectors     module → vector in PEFT's shape, owned by the adapter's manager
     * @param feedforward the modules whose input is scaled
     */
    Ia3Part(Map<String, NDArray> vectors, Set<String> feedforward) {
        this.vectors = Collections.unmodifiableMap(new LinkedHashMap<>(vectors));
        this.feedforward = Set.copyOf(feedforward);
    }

    Map<String, NDArray> vectors() {
        return vectors;
    }

    boolean isFeedforward(String module) {
        return feedforward.contains(module);
    }

    @Override
    public boolean touchesLinear(String module) {
        return vectors.containsKey(module);
    }

    @Override
    public NDArray beforeLinear(String module, NDArray x) {
        NDArray l = vectors.get(module);
        return l == null || !feedforward.contains(module) ? x : x.mul(l); // x first: the result is the step's
    }

    @Override
    public NDArray afterLinear(String module, NDArray x, NDArray y) {
        NDArray l = vectors.get(module);
        if (l == null || feedforward.contains(module)) {
            return y;
        }
        NDArray flat = l.reshape(l.size()); // (out); made in l's manager: move it to the step's
        flat.attach(y.getManager());
        return y.mul(flat);
    }

    @Override
    public Map<String, NDArray> tensors() {
        Map<String, NDArray> t = new LinkedHashMap<>();
        vectors.forEach((m, v) -> t.put(LoraAdapter.PREFIX + m + SUFFIX, v));
        return t;
    }
}
