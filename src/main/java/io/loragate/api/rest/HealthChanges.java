package io.loragate.api.rest;

import jakarta.enterprise.context.ApplicationScoped;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.jboss.logging.Logger;

/**
 * Logs each health check's status once per change (and its first status), not once per probe: a
 * probe every second while the base model loads used to log the whole DOWN report each time.
 * Only the status and the {@code state}/{@code error} data are logged, never the whole report.
 */
@ApplicationScoped
public class HealthChanges {

    private static final Logger LOG = Logger.getLogger(HealthChanges.class);
    /** Longest check name or data value logged; names and errors come from our checks, but bound them anyway. */
    private static final int MAX_TEXT = 300;

    /** The last status seen per kind and check name (one name may be a liveness and a readiness check). */
    private final Map<String, HealthCheckResponse.Status> last = new ConcurrentHashMap<>();

    /**
     * Records the statuses of one probe's checks of {@code kind} (liveness, readiness, startup) and
     * logs those that changed; a check first seen UP is not logged (nothing to act on).
     */
    public void observe(String kind, List<HealthCheckResponse> responses) {
        for (HealthCheckResponse r : responses) {
            HealthCheckResponse.Status before = last.put(kind + "/" + r.getName(), r.getStatus());
            if (before == r.getStatus() || before == null && r.getStatus() == HealthCheckResponse.Status.UP) {
                continue;
            }
            String detail = r.getData().map(d -> {
                StringBuilder s = new StringBuilder();
                for (String key : List.of("state", "error")) {
                    if (d.get(key) != null) {
                        s.append(s.isEmpty() ? " (" : ", ").append(key).append('=').append(cut(String.valueOf(d.get(key))));
                    }
                }
                return s.isEmpty() ? "" : s.append(')').toString();
            }).orElse("");
            String line = "health check " + cut(r.getName()) + " (" + kind + ") is " + r.getStatus() + (before == null ? "" : " (was " + before + ")")
                    + detail;
            if (r.getStatus() == HealthCheckResponse.Status.UP) {
                LOG.info(line);
            } else if (before == null) {
                LOG.info(line); // DOWN at the first probe: normal while the base model loads
            } else {
                LOG.warn(line);
            }
        }
    }

    private static String cut(String s) {
        return s.length() <= MAX_TEXT ? s : s.substring(0, MAX_TEXT) + "…";
    }
}
