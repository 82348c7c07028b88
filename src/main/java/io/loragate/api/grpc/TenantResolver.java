package io.loragate.api.grpc;

import jakarta.enterprise.context.ApplicationScoped;

/**
 * Whose request a gRPC call is. Until authentication arrives every caller is the tenant
 * {@code default}; the tenant will come from the caller's credentials (call metadata), never from an
 * adapter id.
 */
@ApplicationScoped
public class TenantResolver {

    /** The tenant of every caller until credentials exist (as REST's). */
    public static final String DEFAULT = "default";

    /** The tenant of the current call. */
    public String tenant() {
        return DEFAULT;
    }
}
