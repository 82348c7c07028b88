package io.loragate.service;

import io.loragate.registry.AdapterCache;
import io.loragate.registry.CacheStats;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.Duration;
import java.util.function.ToDoubleFunction;

/** Exports the adapter cache's counters and its cold-load latency to Prometheus ({@code loragate_adapter_cache_*}). */
@ApplicationScoped
public class CacheMetrics {

    private final AdapterCache cache;
    private final MeterRegistry registry;

    private final jakarta.enterprise.inject.Instance<io.micrometer.prometheus.PrometheusMeterRegistry> prometheus;
    private final boolean names;

    public CacheMetrics(AdapterCache cache, MeterRegistry registry,
            jakarta.enterprise.inject.Instance<io.micrometer.prometheus.PrometheusMeterRegistry> prometheus,
            io.loragate.config.LoragateConfig config) {
        this.cache = cache;
        this.registry = registry;
        this.prometheus = prometheus;
        this.names = config.metrics().tenantLabels();
    }

    void onStart(@Observes StartupEvent e) {
        counter("loragate_adapter_cache_hits_total", "acquires served by resident weights", CacheStats::hits);
        counter("loragate_adapter_cache_misses_total", "acquires that had to load weights", CacheStats::misses);
        counter("loragate_adapter_cache_evictions_total", "versions evicted to stay within the byte budget", CacheStats::evictions);
        counter("loragate_adapter_cache_load_failures_total", "loads that failed (corrupt, missing, mismatched)", CacheStats::loadFailures);
        gauge("loragate_adapter_cache_bytes", "device bytes of resident adapter weights", CacheStats::bytes);
        gauge("loragate_adapter_cache_budget_bytes", "loragate.cache.max-bytes", CacheStats::budgetBytes);
        gauge("loragate_adapter_cache_retired_bytes", "evicted weights still held by running requests", CacheStats::retiredBytes);
        gauge("loragate_adapter_cache_resident", "resident adapter versions", CacheStats::resident);
        gauge("loragate_adapter_cache_pinned", "pinned adapter versions", CacheStats::pinned);
        gauge("loragate_adapter_cache_leases", "open leases (requests holding weights)", CacheStats::leases);
        Timer loads = Timer.builder("loragate_adapter_cold_load_seconds").description("time to load a cold adapter onto the device")
                .publishPercentileHistogram().register(registry);
        cache.addLoadListener(nanos -> loads.record(Duration.ofNanos(nanos)));
        prometheus.stream().findFirst().ifPresent(p -> new ResidentAdaptersCollector(cache, names).register(p.getPrometheusRegistry()));
    }

    private void counter(String name, String help, ToDoubleFunction<CacheStats> f) {
        FunctionCounter.builder(name, cache, c -> f.applyAsDouble(c.stats())).description(help).register(registry);
    }

    private void gauge(String name, String help, ToDoubleFunction<CacheStats> f) {
        Gauge.builder(name, cache, c -> f.applyAsDouble(c.stats())).description(help).register(registry);
    }
}
