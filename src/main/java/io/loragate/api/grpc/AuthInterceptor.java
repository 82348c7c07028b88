package io.loragate.api.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.StatusException;
import io.loragate.common.LoragateException;
import io.loragate.service.TenantLimits;
import io.loragate.service.TenantService;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.Optional;

/**
 * Authentication and the request-rate quota of every gRPC call: with authentication on, the
 * {@code authorization} metadata ({@code Bearer <key>}) names the tenant, which goes into the call's
 * {@link Context} for {@link TenantResolver}; a missing or bad key closes the call UNAUTHENTICATED,
 * a tenant over its request rate RESOURCE_EXHAUSTED (with {@code retry-after}). The reflection and
 * health services need no key.
 */
@ApplicationScoped
@GlobalInterceptor
public class AuthInterceptor implements ServerInterceptor {

    /** The calling tenant, for the services' {@link TenantResolver}. */
    static final Context.Key<String> TENANT = Context.key("loragate-tenant");

    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    private final TenantService tenants;
    private final TenantLimits limits;

    public AuthInterceptor(TenantService tenants, TenantLimits limits) {
        this.tenants = tenants;
        this.limits = limits;
    }

    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
            ServerCallHandler<ReqT, RespT> next) {
        String service = call.getMethodDescriptor().getServiceName();
        if (service == null || !service.startsWith("loragate.")) {
            return next.startCall(call, headers); // reflection, health
        }
        String tenant;
        if (tenants.authEnabled()) {
            String key = TenantService.bearerKey(headers.get(AUTHORIZATION));
            Optional<String> t = key == null ? Optional.empty() : tenants.authenticate(key);
            if (t.isEmpty()) {
                return refuse(call, new LoragateException(LoragateException.Kind.UNAUTHENTICATED, key == null
                        ? "missing API key: send metadata 'authorization: Bearer <key>'" : "invalid API key"));
            }
            tenant = t.get();
        } else {
            tenant = TenantResolver.DEFAULT;
        }
        try {
            limits.acquireRequest(tenant);
        } catch (LoragateException e) {
            return refuse(call, e);
        }
        return Contexts.interceptCall(Context.current().withValue(TENANT, tenant), call, headers, next);
    }

    private static <ReqT, RespT> ServerCall.Listener<ReqT> refuse(ServerCall<ReqT, RespT> call, LoragateException e) {
        StatusException s = GrpcErrorMapper.toStatusException(e);
        call.close(s.getStatus(), s.getTrailers() != null ? s.getTrailers() : new Metadata());
        return new ServerCall.Listener<>() {
        };
    }
}
