package io.loragate.engine;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;
import java.time.Duration;

/**
 * The engine's Prometheus metrics (served at {@code /q/metrics}): per-adapter requests and tokens,
 * time to first token and per output token, queue depth, batch size, and a gauge shaped like
 * vLLM's {@code vllm:lora_requests_info} so that Kubernetes inference routers can read which
 * adapters are running and waiting.
 */
@ApplicationScoped
public class EngineMetrics implements EngineObserver {

    private final MeterRegistry registry;
    private final DistributionSummary batchSize;
    private final DistributionSummary prefillBatchSize;
    private final Timer stepTime;
    private volatile Engine engine;

    /** {@code loragate.metrics.tenant-labels}: false leaves tenant and adapter names out of every label. */
    private final boolean names;

    public EngineMetrics(MeterRegistry registry, Instance<PrometheusMeterRegistry> prometheus,
            io.loragate.config.LoragateConfig config) {
        this.registry = registry;
        this.names = config.metrics().tenantLabels();
        this.batchSize = DistributionSummary.builder("loragate_batch_size").description("sequences per decode step")
                .publishPercentileHistogram().serviceLevelObjectives(1, 2, 4, 8, 16, 32, 64).register(registry);
        this.prefillBatchSize = DistributionSummary.builder("loragate_prefill_batch_size")
                .description("sequences admitted per prefill step").register(registry);
        this.stepTime = Timer.builder("loragate_engine_step_seconds").description("duration of an engine forward step")
                .publishPercentileHistogram().register(registry);
        prometheus.stream().findFirst().ifPresent(p -> new LoraInfoCollector(() -> engine, names)
                .register(p.getPrometheusRegistry()));
    }

    void bind(Engine en) {
        this.engine = en;
        Gauge.builder("loragate_queue_depth", en, Engine::waiting).description("requests waiting for admission").register(registry);
        Gauge.builder("loragate_running_sequences", en, Engine::running).description("sequences in the running batch").register(registry);
        Gauge.builder("loragate_engine_alive", en, e -> e.alive() ? 1 : 0).register(registry);
        // The model-server protocol of the Kubernetes Gateway API Inference Extension (llm-d's endpoint
        // picker) scores replicas by these vLLM gauges; same names, types and meaning (docs/operations.md).
        Gauge.builder("vllm:num_requests_waiting", en, Engine::waiting).description("requests waiting for admission (vLLM-compatible)")
                .register(registry);
        Gauge.builder("vllm:num_requests_running", en, Engine::running).description("sequences in the running batch (vLLM-compatible)")
                .register(registry);
        // vLLM's value is the fraction (0..1) of KV-cache blocks in use; loragate's KV cache is one row per
        // running sequence (maxBatch rows), so the fraction of rows in use is what makes a request wait.
        Gauge.builder("vllm:kv_cache_usage_perc", en, EngineMetrics::kvCacheUsage)
                .description("fraction (0..1) of KV-cache rows in use (vLLM-compatible)").register(registry);
        Gauge.builder("vllm:gpu_cache_usage_perc", en, EngineMetrics::kvCacheUsage)
                .description("the same as vllm:kv_cache_usage_perc, under vLLM's older name").register(registry);
    }

    /** Running sequences over KV-cache rows: 0 idle, 1 full (the next request waits). */
    static double kvCacheUsage(Engine en) {
        return Math.min(1.0, en.running() / (double) en.settings().maxBatch());
    }

    @Override
    public void step(boolean prefill, int batch, int tokens, long nanos) {
        (prefill ? prefillBatchSize : batchSize).record(batch);
        stepTime.record(Duration.ofNanos(nanos));
    }

    @Override
    public void firstToken(String tenant, String adapterId, long nanos) {
        Timer.builder("loragate_time_to_first_token_seconds").tags(who(tenant, adapterId))
                .publishPercentileHistogram().register(registry).record(Duration.ofNanos(nanos));
    }

    @Override
    public void nonFinite(String tenant, String adapterId) {
        Counter.builder("loragate_nonfinite_rows_total").description("Sequences ended because their logits went NaN or infinite")
                .tag("tenant", tenant).tag("adapter", label(adapterId)).register(registry).increment();
    }

    @Override
    public void finished(String tenant, String adapterId, String reason, int promptTokens, int generated, long decodeNanos) {
        Tags a = who(tenant, adapterId);
        Counter.builder("loragate_requests_total").tags(a).tag("finish_reason", reason)
                .register(registry).increment();
        Counter.builder("loragate_prompt_tokens_total").tags(a).register(registry).increment(promptTokens);
        Counter.builder("loragate_generation_tokens_total").tags(a).register(registry)
                .increment(generated);
        if (generated > 1 && decodeNanos > 0) {
            Timer.builder("loragate_time_per_output_token_seconds").tags(a).publishPercentileHistogram()
                    .register(registry).record(Duration.ofNanos(decodeNanos / (generated - 1)));
        }
    }

    /**
     * The adapter label: its name without the version. Every upload makes a version, so a label per
     * version would add time series (a histogram's dozens among them) without bound over a server's
     * life — the soak benchmark counted 13,000 lines in /q/metrics after 10 minutes; names are bounded
     * by the tenants' adapter quotas.
     */
    private Tags who(String tenant, String adapterId) {
        return names ? Tags.of("tenant", tenant, "adapter", label(adapterId)) : Tags.empty();
    }

    static String label(String adapterId) {
        if (adapterId == null) {
            return "base";
        }
        int at = adapterId.lastIndexOf('@');
        return at < 0 ? adapterId : adapterId.substring(0, at);
    }
}
