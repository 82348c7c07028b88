package io.loragate.api.grpc;

import io.loragate.common.LoragateException;
import io.loragate.service.TenantService;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * Whose request a gRPC call is: the tenant {@link AuthInterceptor} put into the call's
 * {@link io.grpc.Context} from its {@code authorization} metadata (never from an adapter id). With
 * authentication off every caller is the tenant {@code default}.
 */
@ApplicationScoped
public class TenantResolver {

    /** The tenant of every caller while authentication is off (as REST's). */
    public static final String DEFAULT = TenantService.DEFAULT;

    private final TenantService tenants;

    public TenantResolver(TenantService tenants) {
        this.tenants = tenants;
    }

    /** The tenant of the current call. */
    public String tenant() {
        String t = AuthInterceptor.TENANT.get();
        if (t != null) {
            return t;
        }
        if (tenants.authEnabled()) {
            // every call passes AuthInterceptor first; reaching here is a bug, never a reason to fall back
            throw new LoragateException(LoragateException.Kind.UNAUTHENTICATED, "missing API key");
        }
        return DEFAULT;
    }
}
