package io.loragate.service;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.diagnostics.DiagnosticsService;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.List;

/**
 * On-demand diagnostics of an adapter on one of the caller's datasets ({@code POST
 * /v1/adapters/{id}/diagnostics}): delegates to {@link DiagnosticsService}, which answers the report
 * a job writes as JSON.
 */
@ApplicationScoped
public class AdapterDiagnosticsService {

    /**
     * @param file          a dataset id: the examples to diagnose on
     * @param layers        0-based layers; null: the default spread
     * @param maxExamples   null: {@code loragate.diagnostics.max-examples}
     * @param referenceFile a dataset id whose texts measure forgetting; null: the built-in reference
     */
    public record Request(String file, List<Integer> layers, Integer maxExamples, String referenceFile) {
    }

    private final DiagnosticsService diagnostics;

    public AdapterDiagnosticsService(DiagnosticsService diagnostics) {
        this.diagnostics = diagnostics;
    }

    /**
     * The report of adapter {@code adapterId} ({@code name} = its active version, or {@code name@v});
     * another tenant's adapter or file is NOT_FOUND like an unknown one.
     */
    public ObjectNode report(String tenant, String adapterId, Request r) {
        return diagnostics.report(tenant, adapterId, new DiagnosticsService.Request(r.file(), r.layers(), r.maxExamples(),
                r.referenceFile()));
    }
}
