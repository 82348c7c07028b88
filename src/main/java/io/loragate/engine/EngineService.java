package io.loragate.engine;

import io.loragate.config.LoragateConfig;
import io.loragate.common.LoragateException;
import io.loragate.runtime.ResidentModel;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Produces;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;
import org.jboss.logging.Logger;

/**
 * Starts the engine once the base model is resident, reports its health, and drains it on
 * shutdown: readiness goes DOWN first, running requests get the drain timeout to finish.
 */
@ApplicationScoped
public class EngineService {

    private static final Logger LOG = Logger.getLogger(EngineService.class);

    private final ResidentModel resident;
    private final LoragateConfig config;
    private final EngineMetrics metrics;
    private volatile Engine engine;
    private volatile boolean draining;

    public EngineService(ResidentModel resident, LoragateConfig config, EngineMetrics metrics) {
        this.resident = resident;
        this.config = config;
        this.metrics = metrics;
    }

    void onStart(@Observes StartupEvent e) {
        resident.whenLoaded().thenAccept(model -> {
            var c = config.engine();
            Engine en = new Engine(model, resident.tokenizer(),
                    new EngineSettings(c.maxBatch(), c.maxQueue(), c.maxPrefillTokens(), c.maxTasks()), metrics);
            en.start();
            metrics.bind(en);
            engine = en;
            LOG.infof("engine started (max batch %d, queue %d)", c.maxBatch(), c.maxQueue());
        });
    }

    /** The running engine, or a clear error while the model loads or after shutdown began. */
    public Engine engine() {
        Engine en = engine;
        if (en == null) {
            resident.model(); // throws "still loading" / "failed to load"
            throw new LoragateException(LoragateException.Kind.RESOURCE_EXHAUSTED, "the engine is starting").retryAfter(1);
        }
        return en;
    }

    /** Stops the engine thread without draining (tests of liveness). */
    public void stopForTest() {
        Engine en = engine;
        if (en != null) {
            en.close();
        }
    }

    /** With {@code quarkus.shutdown.delay-enabled}, readiness goes DOWN as soon as the delay starts. */
    void onShutdownDelay(@Observes io.quarkus.runtime.ShutdownDelayInitiatedEvent e) {
        draining = true;
    }

    void onStop(@Observes @Priority(1) ShutdownEvent e) {
        draining = true;
        Engine en = engine;
        if (en != null) {
            try {
                en.drain(config.engine().drainTimeout().toMillis());
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Produces
    @Liveness
    HealthCheck engineAlive() {
        return () -> {
            Engine en = engine;
            var b = HealthCheckResponse.named("engine");
            if (en == null) {
                return b.up().withData("state", "not started").build();
            }
            long busy = TimeUnit.NANOSECONDS.toMillis(en.busyNanos());
            boolean stuck = busy > config.engine().stuckTimeout().toMillis();
            b.status(en.alive() && !stuck).withData("running", en.running()).withData("waiting", en.waiting())
                    .withData("busy_ms", busy);
            if (!en.alive()) {
                b.withData("error", en.died() == null ? "engine thread stopped" : String.valueOf(en.died()));
            } else if (stuck) {
                b.withData("error", "a step has run for " + busy + " ms");
            }
            return b.build();
        };
    }

    @Produces
    @Readiness
    HealthCheck engineReady() {
        return () -> {
            Engine en = engine;
            boolean up = en != null && en.alive() && !draining;
            return HealthCheckResponse.named("engine").status(up)
                    .withData("state", draining ? "draining" : en == null ? "starting" : en.alive() ? "running" : "stopped").build();
        };
    }
}
