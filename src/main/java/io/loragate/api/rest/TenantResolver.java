package io.loragate.api.rest;

import jakarta.enterprise.context.RequestScoped;

/**
 * Who is calling. Every REST endpoint asks it for the tenant that scopes its registry calls; the
 * tenant comes from the caller's credentials, never from an adapter id. Until authentication
 * arrives every caller is the tenant {@value #DEFAULT}.
 */
@RequestScoped
public class TenantResolver {

    /** The tenant of unauthenticated deployments. */
    public static final String DEFAULT = "default";

    /** The calling tenant. */
    public String tenant() {
        return DEFAULT;
    }
}
