package io.loragate.api.rest;

import io.loragate.common.LoragateException;
import io.loragate.service.TenantLimits;
import io.loragate.service.TenantService;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerResponseContext;
import jakarta.ws.rs.core.Response;
import java.util.Locale;
import java.util.Optional;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;
import org.jboss.resteasy.reactive.server.ServerResponseFilter;

/**
 * Authentication and the request-rate quota of every REST endpoint (JAX-RS resources only: the
 * health and metrics endpoints under {@code /q} are not resources and stay open). With
 * authentication on, {@code Authorization: Bearer <key>} names the tenant; {@code /v1/admin} takes
 * only the admin key. Every answer to a tenant carries its {@code x-ratelimit-*} headers (when it
 * has rate limits).
 */
public class AuthFilter {

    static final String TENANT = "loragate.tenant";
    static final String ADMIN_PATH = "/v1/admin";

    private final TenantService tenants;
    private final TenantLimits limits;
    private final TenantResolver resolver;

    public AuthFilter(TenantService tenants, TenantLimits limits, TenantResolver resolver) {
        this.tenants = tenants;
        this.limits = limits;
        this.resolver = resolver;
    }

    @ServerRequestFilter
    public Optional<Response> authenticate(ContainerRequestContext ctx) {
        String path = ctx.getUriInfo().getPath();
        String key = TenantService.bearerKey(ctx.getHeaderString("Authorization"));
        if (path.startsWith(ADMIN_PATH)) {
            if (!tenants.adminConfigured()) {
                return Optional.of(error(new LoragateException(LoragateException.Kind.UNAUTHENTICATED,
                        "tenant management is off: configure loragate.auth.admin-key or loragate.auth.admin-key-sha256")));
            }
            if (key == null) {
                return Optional.of(error(missing()));
            }
            if (!tenants.isAdmin(key)) {
                if (tenants.authenticate(key).isPresent()) {
                    return Optional.of(ErrorMapper.body(403, "this endpoint needs the admin key; a tenant's key cannot manage tenants",
                            "permission_error", null, "permission_denied").build());
                }
                return Optional.of(error(invalid()));
            }
            return Optional.empty();
        }
        String tenant;
        if (tenants.authEnabled()) {
            if (key == null) {
                return Optional.of(error(missing()));
            }
            Optional<String> t = tenants.authenticate(key);
            if (t.isEmpty()) {
                return Optional.of(error(invalid()));
            }
            tenant = t.get();
        } else {
            tenant = TenantResolver.DEFAULT;
        }
        resolver.set(tenant);
        ctx.setProperty(TENANT, tenant);
        try {
            limits.acquireRequest(tenant);
        } catch (LoragateException e) {
            return Optional.of(error(e));
        }
        return Optional.empty();
    }

    /** OpenAI's rate-limit headers, on successes and errors alike. */
    @ServerResponseFilter
    public void rateLimitHeaders(ContainerRequestContext req, ContainerResponseContext resp) {
        if (!(req.getProperty(TENANT) instanceof String tenant)) {
            return;
        }
        TenantLimits.RateState r = limits.requestState(tenant);
        if (r != null) {
            resp.getHeaders().putSingle("x-ratelimit-limit-requests", String.valueOf(r.limit()));
            resp.getHeaders().putSingle("x-ratelimit-remaining-requests", String.valueOf(r.remaining()));
            resp.getHeaders().putSingle("x-ratelimit-reset-requests", seconds(r.resetSeconds()));
        }
        TenantLimits.RateState t = limits.tokenState(tenant);
        if (t != null) {
            resp.getHeaders().putSingle("x-ratelimit-limit-tokens", String.valueOf(t.limit()));
            resp.getHeaders().putSingle("x-ratelimit-remaining-tokens", String.valueOf(t.remaining()));
            resp.getHeaders().putSingle("x-ratelimit-reset-tokens", seconds(t.resetSeconds()));
        }
    }

    private static String seconds(double s) {
        return String.format(Locale.ROOT, "%.3fs", Math.max(0, s));
    }

    static LoragateException missing() {
        return new LoragateException(LoragateException.Kind.UNAUTHENTICATED,
                "missing API key: send 'Authorization: Bearer <key>'");
    }

    static LoragateException invalid() {
        return new LoragateException(LoragateException.Kind.UNAUTHENTICATED, "invalid API key");
    }

    private static Response error(LoragateException e) {
        return new ErrorMapper().loragate(e);
    }
}
