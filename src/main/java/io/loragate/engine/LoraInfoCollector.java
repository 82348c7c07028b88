package io.loragate.engine;

import io.prometheus.client.Collector;
import java.util.List;
import java.util.function.Supplier;

/**
 * vLLM's {@code vllm:lora_requests_info} gauge, read from the engine at each scrape: its labels carry
 * {@code max_lora} and the comma-separated {@code running_lora_adapters} / {@code waiting_lora_adapters},
 * its value the time of the sample (the endpoint picker keeps the newest). Computed at scrape time
 * because the labels change with every batch: re-registering a Micrometer gauge on each engine step
 * left moments in which a scrape found no sample at all.
 */
final class LoraInfoCollector extends Collector {

    static final String NAME = "vllm:lora_requests_info";
    private static final List<String> LABELS = List.of("max_lora", "running_lora_adapters", "waiting_lora_adapters");

    private final Supplier<Engine> engine;
    private final boolean names;

    /** {@code names} false leaves adapter names out (loragate.metrics.tenant-labels). */
    LoraInfoCollector(Supplier<Engine> engine, boolean names) {
        this.engine = engine;
        this.names = names;
    }

    @Override
    public List<MetricFamilySamples> collect() {
        Engine en = engine.get();
        if (en == null) {
            return List.of();
        }
        List<String> values = List.of(String.valueOf(en.settings().maxBatch()),
                names ? String.join(",", en.runningAdapters()) : "", names ? String.join(",", en.waitingAdapters()) : "");
        double now = System.currentTimeMillis() / 1000.0;
        MetricFamilySamples.Sample sample = new MetricFamilySamples.Sample(NAME, LABELS, values, now);
        return List.of(new MetricFamilySamples(NAME, Type.GAUGE,
                "running and waiting adapters (vLLM-compatible; the value is the time of the sample)", List.of(sample)));
    }
}
