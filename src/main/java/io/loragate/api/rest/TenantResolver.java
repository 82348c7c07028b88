package io.loragate.api.rest;

import io.loragate.common.LoragateException;
import io.loragate.service.TenantService;
import jakarta.enterprise.context.RequestScoped;

/**
 * Who is calling. Every REST endpoint asks it for the tenant that scopes its registry calls; the
 * tenant comes from the caller's API key (set by {@link AuthFilter}), never from an adapter id. With
 * authentication off every caller is the tenant {@value #DEFAULT}.
 */
@RequestScoped
public class TenantResolver {

    /** The tenant of unauthenticated deployments. */
    public static final String DEFAULT = TenantService.DEFAULT;

    private final TenantService tenants;
    private String tenant;

    public TenantResolver(TenantService tenants) {
        this.tenants = tenants;
    }

    void set(String tenant) {
        this.tenant = tenant;
    }

    /** The calling tenant. */
    public String tenant() {
        if (tenant != null) {
            return tenant;
        }
        if (tenants.authEnabled()) {
            // every /v1 call passes AuthFilter first; reaching here is a bug, never a reason to fall back
            throw new LoragateException(LoragateException.Kind.UNAUTHENTICATED, "missing API key");
        }
        return DEFAULT;
    }
}
