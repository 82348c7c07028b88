package io.loragate.api.rest;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.junit.jupiter.api.Test;

/**
 * {@link HealthChanges} logs a check's first DOWN and each change, never a repeat nor a first UP,
 * captured from its log category.
 */
class HealthChangesTest {

    static HealthCheckResponse down(String state) {
        return HealthCheckResponse.named("base-model").down().withData("state", state).build();
    }

    @Test
    void onceForTheFirstStatusAndOncePerChange() {
        List<LogRecord> records = new ArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                records.add(r);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger logger = Logger.getLogger(HealthChanges.class.getName());
        logger.addHandler(capture);
        try {
            HealthChanges changes = new HealthChanges();
            HealthCheckResponse database = HealthCheckResponse.named("database").up().build();
            for (int i = 0; i < 12; i++) {
                changes.observe("readiness", List.of(down("LOADING"), database));
                // the same name as a liveness check is another check: its own status, its own line
                changes.observe("liveness", List.of(HealthCheckResponse.named("base-model").up().build()));
            }
            for (int i = 0; i < 3; i++) {
                changes.observe("readiness", List.of(HealthCheckResponse.named("base-model").up().withData("state", "READY").build(),
                        database));
            }
            changes.observe("readiness", List.of(down("CLOSED")));
            changes.observe("readiness", List.of(down("CLOSED")));
            List<String> lines = records.stream()
                    .map(r -> (r.getLevel().intValue() >= Level.WARNING.intValue() ? "WARN " : "INFO ") + r.getMessage()).toList();
            assertEquals(List.of("INFO health check base-model (readiness) is DOWN (state=LOADING)",
                    "INFO health check base-model (readiness) is UP (was DOWN) (state=READY)",
                    "WARN health check base-model (readiness) is DOWN (was UP) (state=CLOSED)"), lines);
        } finally {
            logger.removeHandler(capture);
        }
    }
}
