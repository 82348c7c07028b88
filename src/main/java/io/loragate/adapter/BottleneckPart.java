package io.loragate.adapter;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.core.Linear;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Bottleneck adapters (Houlsby et al. 2019; Pfeiffer et al. 2020) in loragate's own format
 * ({@code peft_type: "LORAGATE_BOTTLENECK"}): after an adapted sub-layer {@code S} (its output
 * before the residual add), {@code h + up(act(down(h)))} with {@code down: hidden → m} and
 * {@code up: m → hidden}, both with bias. Keys: {@code base_model.model.S.adapter_down.weight}
 * {@code (m, hidden)}, {@code .adapter_down.bias} {@code (m)}, {@code .adapter_up.weight}
 * {@code (hidden, m)}, {@code .adapter_up.bias} {@code (hidden)}.
 */
final class BottleneckPart implements AdapterPart {

    /** One sub-layer's adapter. */
    record Block(NDArray downW, NDArray downB, NDArray upW, NDArray upB) {
    }

    private final Map<String, Block> blocks; // sub-layer name → weights
    private final String activation;

    BottleneckPart(Map<String, Block> blocks, String activation) {
        this.blocks = Collections.unmodifiableMap(new LinkedHashMap<>(blocks));
        this.activation = activation;
    }

    @Override
    public boolean touchesSublayer(String name) {
        return blocks.containsKey(name);
    }

    @Override
    public NDArray afterSublayer(String name, NDArray h) {
        Block b = blocks.get(name);
        if (b == null) {
            return h;
        }
        // Linear.linear keeps each result in its input's manager (the step's)
        NDArray down = Linear.linear(h, b.downW, b.downB).singletonOrThrow(); // (batch, t, m)
        NDArray act = switch (activation) {
            case "gelu" -> down.getNDArrayInternal().gelu();
            case "silu" -> down.mul(down.getNDArrayInternal().sigmoid());
            default -> down.getNDArrayInternal().relu();
        };
        NDArray up = Linear.linear(act, b.upW, b.upB).singletonOrThrow(); // (batch, t, hidden)
        return h.add(up);
    }

    @Override
    public Map<String, NDArray> tensors() {
        Map<String, NDArray> t = new LinkedHashMap<>();
        blocks.forEach((s, b) -> {
            String k = LoraAdapter.PREFIX + s;
            t.put(k + ".adapter_down.weight", b.downW);
            t.put(k + ".adapter_down.bias", b.downB);
            t.put(k + ".adapter_up.weight", b.upW);
            t.put(k + ".adapter_up.bias", b.upB);
        });
        return t;
    }
}
