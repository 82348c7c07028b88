package io.loragate.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.loragate.config.LoragateConfig;
import java.lang.reflect.Proxy;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.junit.jupiter.api.Test;

/** Startup and readiness are DOWN while the base model is still loading. */
class ModelHealthChecksTest {

    @Test
    void probesAreDownWhileTheModelLoads() {
        // loading has not finished (here: not even started); the config is not read until it does
        LoragateConfig unused = (LoragateConfig) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {LoragateConfig.class}, (p, m, a) -> {
                    throw new AssertionError("config read before loading started: " + m.getName());
                });
        ResidentModel loading = new ResidentModel(unused);
        ModelHealthChecks checks = new ModelHealthChecks(loading);
        for (var check : new org.eclipse.microprofile.health.HealthCheck[] {checks.modelLoaded(), checks.modelReady()}) {
            HealthCheckResponse r = check.call();
            assertEquals(HealthCheckResponse.Status.DOWN, r.getStatus());
            assertEquals("LOADING", r.getData().orElseThrow().get("state"));
        }
    }
}
