package io.loragate.runtime;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;
import org.eclipse.microprofile.health.Startup;

/** Startup and readiness follow the base model: DOWN while it loads or if it failed, UP once resident. */
@ApplicationScoped
public class ModelHealthChecks {

    private final ResidentModel resident;

    public ModelHealthChecks(ResidentModel resident) {
        this.resident = resident;
    }

    @Produces
    @Startup
    HealthCheck modelLoaded() {
        return () -> check("base-model-loaded");
    }

    @Produces
    @Readiness
    HealthCheck modelReady() {
        return () -> check("base-model");
    }

    private HealthCheckResponse check(String name) {
        var b = HealthCheckResponse.named(name).status(resident.state() == ResidentModel.State.READY)
                .withData("state", resident.state().name());
        if (resident.state() == ResidentModel.State.READY) {
            b.withData("id", resident.id())
                    .withData("architecture", resident.model().config().architectureName())
                    .withData("device", resident.model().device().toString());
        }
        if (resident.failure() != null) {
            b.withData("error", resident.failure());
        }
        return b.build();
    }
}
