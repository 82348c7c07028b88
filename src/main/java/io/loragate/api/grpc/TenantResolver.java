package io.loragate.api.grpc;

import jakarta.enterprise.context.ApplicationScoped;

/**
 * Whose request a gRPC call is. Until authentication arrives every caller is the tenant
 * {@code default}; the tenant will come from the caller's credentials (call metadata), never from an
 * adapter id.
 */
@ApplicationScoped
public class TenantResolver {

    /** The tenant of every caller until credentials exist. */
    public static final String DEFAULT_TENANT = "default";

    /** The tenant of the current call. */
    public String current() {
        return DEFAULT_TENANT;
    }
}
