package io.loragate.api.rest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.smallrye.health.api.AsyncHealthCheck;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Any;
import jakarta.enterprise.inject.Instance;
import java.lang.annotation.Annotation;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;
import org.eclipse.microprofile.health.Startup;
import org.jboss.logging.Logger;

/**
 * The health probes ({@code /q/health}, {@code /live}, {@code /ready}, {@code /started}) and
 * {@code /q/metrics} answered on a small pool of their own, ahead of Quarkus's handlers, which run
 * blocking health checks and the Prometheus scrape on the shared worker pool: API traffic that
 * occupies every worker (slow uploads, long requests) must never make liveness fail (Kubernetes
 * would restart the pod and kill running work) nor hide the metrics that show the overload. Same
 * paths, statuses and JSON shape ({@code {"status", "checks": [{"name", "status", "data"}]}}).
 */
@ApplicationScoped
public class ProbeRoutes {

    private static final Logger LOG = Logger.getLogger(ProbeRoutes.class);
    private static final long CHECK_TIMEOUT_SECONDS = 10;

    private final Instance<HealthCheck> checks;
    private final Instance<AsyncHealthCheck> asyncChecks;
    private final Instance<PrometheusMeterRegistry> prometheus;
    private final ObjectMapper json;
    /** Four threads for probes only; a probe flood beyond the queue gets 503 rather than a thread. */
    private final ThreadPoolExecutor pool = new ThreadPoolExecutor(4, 4, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(256),
            r -> {
                Thread t = new Thread(r, "loragate-probes");
                t.setDaemon(true);
                return t;
            });

    private final HealthChanges changes;

    public ProbeRoutes(@Any Instance<HealthCheck> checks, @Any Instance<AsyncHealthCheck> asyncChecks,
            Instance<PrometheusMeterRegistry> prometheus, ObjectMapper json, HealthChanges changes) {
        this.changes = changes;
        this.checks = checks;
        this.asyncChecks = asyncChecks;
        this.prometheus = prometheus;
        this.json = json;
    }

    void install(@Observes Router router) {
        router.get("/q/health/live").order(-10).handler(ctx -> health(ctx, Liveness.Literal.INSTANCE));
        router.get("/q/health/ready").order(-10).handler(ctx -> health(ctx, Readiness.Literal.INSTANCE));
        router.get("/q/health/started").order(-10).handler(ctx -> health(ctx, Startup.Literal.INSTANCE));
        router.get("/q/health").order(-10).handler(ctx -> health(ctx, null));
        router.get("/q/metrics").order(-10).handler(this::metrics);
    }

    void stop(@Observes ShutdownEvent e) {
        pool.shutdownNow();
    }

    private void health(RoutingContext ctx, Annotation kind) {
        offload(ctx, () -> {
            List<HealthCheckResponse> responses = new ArrayList<>();
            List<Annotation> kinds = kind == null
                    ? List.<Annotation>of(Liveness.Literal.INSTANCE, Readiness.Literal.INSTANCE, Startup.Literal.INSTANCE)
                    : List.of(kind);
            for (Annotation k : kinds) {
                List<HealthCheckResponse> ofKind = run(k);
                changes.observe(k.annotationType().getSimpleName().toLowerCase(java.util.Locale.ROOT), ofKind); // once per change
                responses.addAll(ofKind);
            }
            boolean up = responses.stream().allMatch(r -> r.getStatus() == HealthCheckResponse.Status.UP);
            List<Object> list = new ArrayList<>();
            for (HealthCheckResponse r : responses) {
                Map<String, Object> c = new LinkedHashMap<>();
                c.put("name", r.getName());
                c.put("status", r.getStatus().name());
                r.getData().filter(d -> !d.isEmpty()).ifPresent(d -> c.put("data", d));
                list.add(c);
            }
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("status", up ? "UP" : "DOWN");
            body.put("checks", list);
            String text = write(body);
            ctx.response().setStatusCode(up ? 200 : 503).putHeader("Content-Type", "application/json; charset=UTF-8")
                    .end(text);
        });
    }

    private List<HealthCheckResponse> run(Annotation kind) {
        List<HealthCheckResponse> out = new ArrayList<>();
        for (HealthCheck c : checks.select(kind)) {
            try {
                out.add(c.call());
            } catch (RuntimeException e) {
                out.add(HealthCheckResponse.named(c.getClass().getName()).down().withData("error", String.valueOf(e)).build());
            }
        }
        for (AsyncHealthCheck c : asyncChecks.select(kind)) {
            try {
                out.add(c.call().await().atMost(Duration.ofSeconds(CHECK_TIMEOUT_SECONDS)));
            } catch (RuntimeException e) {
                out.add(HealthCheckResponse.named(c.getClass().getName()).down().withData("error", String.valueOf(e)).build());
            }
        }
        return out;
    }

    private void metrics(RoutingContext ctx) {
        if (!prometheus.isResolvable()) {
            ctx.next();
            return;
        }
        String accept = ctx.request().getHeader("Accept");
        // Quarkus's handler's choice: Prometheus text when the client names text/plain or text/html, else OpenMetrics
        String type = accept != null && (accept.contains("text/plain") || accept.contains("text/html"))
                ? "text/plain; version=0.0.4; charset=utf-8" : "application/openmetrics-text; version=1.0.0; charset=utf-8";
        offload(ctx, () -> {
            String text = prometheus.get().scrape(type);
            ctx.response().setStatusCode(200).putHeader("Content-Type", type).end(text);
        });
    }

    private void offload(RoutingContext ctx, Runnable task) {
        try {
            pool.execute(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    LOG.warn("probe failed", e);
                    if (!ctx.response().ended()) {
                        ctx.response().setStatusCode(500).end();
                    }
                }
            });
        } catch (RejectedExecutionException e) {
            ctx.response().setStatusCode(503).putHeader("Retry-After", "1").end();
        }
    }

    private String write(Object o) {
        try {
            return json.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
