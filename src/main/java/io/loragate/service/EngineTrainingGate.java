package io.loragate.service;

import io.loragate.config.LoragateConfig;
import io.loragate.engine.Engine;
import io.loragate.engine.EngineService;
import io.loragate.training.jobs.TrainingGate;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.Locale;

/**
 * Serving comes first: with {@code loragate.jobs.yield-policy=idle} (the default) a training step
 * starts only when the engine has had no request running, waiting or queued as a task for
 * {@code loragate.jobs.min-idle} (so the short gaps between the requests of busy clients do not
 * count), but never waits longer than {@code loragate.jobs.max-defer} (so a job still progresses
 * under constant traffic). With {@code none} training steps run back to back.
 */
@ApplicationScoped
public class EngineTrainingGate implements TrainingGate {

    private static final long POLL_MILLIS = 2;

    private final EngineService engines;
    private final boolean idle;
    private final long maxDeferNanos;
    private final long minIdleNanos;

    public EngineTrainingGate(EngineService engines, LoragateConfig config) {
        this.engines = engines;
        String policy = config.jobs().yieldPolicy().toLowerCase(Locale.ROOT);
        if (!policy.equals("idle") && !policy.equals("none")) {
            throw new IllegalArgumentException("loragate.jobs.yield-policy must be 'idle' or 'none', was '" + policy + "'");
        }
        this.idle = policy.equals("idle");
        this.maxDeferNanos = config.jobs().maxDefer().toNanos();
        this.minIdleNanos = config.jobs().minIdle().toNanos();
    }

    @Override
    public void awaitTurn() throws InterruptedException {
        if (!idle) {
            return;
        }
        long deadline = System.nanoTime() + maxDeferNanos;
        Engine engine = engines.engine();
        // a request that arrives after the step has started still meets it: keep the steps short
        while (engine.idleNanos() < minIdleNanos && System.nanoTime() < deadline) {
            Thread.sleep(POLL_MILLIS);
        }
    }
}
