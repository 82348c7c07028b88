package io.loragate.api.rest;

import io.loragate.config.LoragateConfig;
import io.loragate.service.TenantService;
import io.quarkus.vertx.http.runtime.filters.Filters;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

/**
 * With {@code loragate.metrics.require-admin-key=true}, {@code /q/metrics} answers only to the admin
 * key ({@code Authorization: Bearer <admin key>}): 401 without a key or with an unknown one, 403 with
 * a tenant's key. The metrics endpoint is not a JAX-RS resource, so this is an HTTP filter in front
 * of every route, which lets everything else through.
 */
@ApplicationScoped
public class MetricsGuard {

    static final String METRICS_PATH = "/q/metrics";

    private final LoragateConfig config;
    private final TenantService tenants;

    public MetricsGuard(LoragateConfig config, TenantService tenants) {
        this.config = config;
        this.tenants = tenants;
    }

    void register(@Observes Filters filters) {
        if (config.metrics().requireAdminKey()) {
            filters.register(this::guard, 100);
        }
    }

    private void guard(RoutingContext ctx) {
        String path = ctx.normalizedPath();
        if (path == null || !(path.equals(METRICS_PATH) || path.startsWith(METRICS_PATH + "/"))) {
            ctx.next();
            return;
        }
        String key = TenantService.bearerKey(ctx.request().getHeader("Authorization"));
        if (key != null && tenants.isAdmin(key)) {
            ctx.next();
            return;
        }
        if (!tenants.adminConfigured()) {
            refuse(ctx, 401, "the metrics need the admin key (loragate.metrics.require-admin-key), and none is configured:"
                    + " set loragate.auth.admin-key or loragate.auth.admin-key-sha256", "authentication_error", "unauthenticated");
        } else if (key == null) {
            refuse(ctx, 401, "missing API key: the metrics need 'Authorization: Bearer <admin key>'", "authentication_error",
                    "unauthenticated");
        } else if (tenants.authenticate(key).isPresent()) {
            refuse(ctx, 403, "the metrics need the admin key; a tenant's key cannot read them", "permission_error",
                    "permission_denied");
        } else {
            refuse(ctx, 401, "invalid API key", "authentication_error", "unauthenticated");
        }
    }

    private static void refuse(RoutingContext ctx, int status, String message, String type, String code) {
        JsonObject err = new JsonObject().put("message", message).put("type", type).putNull("param").put("code", code);
        var resp = ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json");
        if (status == 401) {
            resp.putHeader("WWW-Authenticate", "Bearer realm=\"loragate\"");
        }
        resp.end(new JsonObject().put("error", err).encode());
    }
}
