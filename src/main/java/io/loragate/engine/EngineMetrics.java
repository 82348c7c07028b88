package io.loragate.engine;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.util.List;

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
    private final MultiGauge loraInfo;
    private volatile Engine engine;

    /** {@code loragate.metrics.tenant-labels}: false leaves tenant and adapter names out of every label. */
    private final boolean names;

    public EngineMetrics(MeterRegistry registry, io.loragate.config.LoragateConfig config) {
        this.registry = registry;
        this.names = config.metrics().tenantLabels();
        this.batchSize = DistributionSummary.builder("loragate_batch_size").description("sequences per decode step")
                .publishPercentileHistogram().serviceLevelObjectives(1, 2, 4, 8, 16, 32, 64).register(registry);
        this.prefillBatchSize = DistributionSummary.builder("loragate_prefill_batch_size")
                .description("sequences admitted per prefill step").register(registry);
        this.stepTime = Timer.builder("loragate_engine_step_seconds").description("duration of an engine forward step")
                .publishPercentileHistogram().register(registry);
        this.loraInfo = MultiGauge.builder("vllm:lora_requests_info")
                .description("running and waiting adapters (vLLM-compatible; the value is the time of the sample)")
                .register(registry);
    }

    void bind(Engine en) {
        this.engine = en;
        Gauge.builder("loragate_queue_depth", en, Engine::waiting).description("requests waiting for admission").register(registry);
        Gauge.builder("loragate_running_sequences", en, Engine::running).description("sequences in the running batch").register(registry);
        Gauge.builder("loragate_engine_alive", en, e -> e.alive() ? 1 : 0).register(registry);
    }

    /** Re-reads the running/waiting adapter sets into the vLLM-style info gauge. */
    double refreshLoraInfo() {
        Engine en = engine;
        if (en == null) {
            return 0;
        }
        double now = System.currentTimeMillis() / 1000.0;
        loraInfo.register(List.of(MultiGauge.Row.of(Tags.of(
                "running_lora_adapters", names ? String.join(",", en.runningAdapters()) : "",
                "waiting_lora_adapters", names ? String.join(",", en.waitingAdapters()) : "",
                "max_lora", String.valueOf(en.settings().maxBatch())), now)), true);
        return now;
    }

    @Override
    public void step(boolean prefill, int batch, int tokens, long nanos) {
        (prefill ? prefillBatchSize : batchSize).record(batch);
        stepTime.record(Duration.ofNanos(nanos));
        refreshLoraInfo();
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
