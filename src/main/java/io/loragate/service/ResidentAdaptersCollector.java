package io.loragate.service;

import io.loragate.registry.AdapterCache;
import io.prometheus.client.Collector;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code loragate_adapter_resident_info{tenant, adapter, version, pinned}}: one sample (value 1) per
 * adapter version whose weights this replica holds, read from the cache at each scrape, so that an
 * operator (or a router) sees which adapters each replica serves without a cold load. Left empty when
 * {@code loragate.metrics.tenant-labels} is false (the count stays in {@code loragate_adapter_cache_resident}).
 */
final class ResidentAdaptersCollector extends Collector {

    static final String NAME = "loragate_adapter_resident_info";
    private static final List<String> LABELS = List.of("tenant", "adapter", "version", "pinned");

    private final AdapterCache cache;
    private final boolean names;

    ResidentAdaptersCollector(AdapterCache cache, boolean names) {
        this.cache = cache;
        this.names = names;
    }

    @Override
    public List<MetricFamilySamples> collect() {
        List<MetricFamilySamples.Sample> samples = new ArrayList<>();
        if (names) {
            for (AdapterCache.ResidentVersion r : cache.residents()) {
                samples.add(new MetricFamilySamples.Sample(NAME, LABELS,
                        List.of(r.tenant(), r.name(), Integer.toString(r.version()), Boolean.toString(r.pinned())), 1));
            }
        }
        return List.of(new MetricFamilySamples(NAME, Type.GAUGE, "adapter versions resident in this replica (value 1)", samples));
    }
}
