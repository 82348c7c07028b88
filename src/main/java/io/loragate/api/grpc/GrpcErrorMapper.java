package io.loragate.api.grpc;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.loragate.config.ErrorText;
import io.loragate.common.LoragateException;
import io.quarkus.grpc.ExceptionHandler;
import io.quarkus.grpc.ExceptionHandlerProvider;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.jboss.logging.Logger;

/**
 * The one gRPC error mapper: every failure of a gRPC call (a failed Uni/Multi, an exception thrown by a
 * service method, one raised while a call is dispatched) becomes a gRPC status whose description is
 * the exception's message. Clients never see a stack trace; unexpected failures are logged here with
 * theirs. Replaces Quarkus' default {@link ExceptionHandlerProvider}, which answers UNKNOWN.
 */
@ApplicationScoped
public class GrpcErrorMapper implements ExceptionHandlerProvider {

    private static final Logger LOG = Logger.getLogger(GrpcErrorMapper.class);

    /** Trailer naming the request field at fault (OpenAI's {@code param}), when known. */
    public static final Metadata.Key<String> PARAM = Metadata.Key.of("loragate-param", Metadata.ASCII_STRING_MARSHALLER);

    /** Trailer on RESOURCE_EXHAUSTED and UNAVAILABLE: seconds after which a retry may succeed (HTTP's Retry-After). */
    public static final Metadata.Key<String> RETRY_AFTER = Metadata.Key.of("retry-after", Metadata.ASCII_STRING_MARSHALLER);

    @Override
    public <ReqT, RespT> ExceptionHandler<ReqT, RespT> createHandler(ServerCall.Listener<ReqT> listener,
            ServerCall<ReqT, RespT> call, Metadata metadata) {
        return new ExceptionHandler<>(listener, call, metadata) {
            @Override
            protected void handleException(Throwable t, ServerCall<ReqT, RespT> serverCall, Metadata headers) {
                StatusException e = toStatusException(t);
                try {
                    serverCall.close(e.getStatus(), e.getTrailers() != null ? e.getTrailers() : new Metadata());
                } catch (IllegalStateException alreadyClosed) {
                    // the call ended first (client gone): nothing left to tell it
                }
            }
        };
    }

    @Override
    public Throwable transform(Throwable t) {
        return toStatusException(t);
    }

    /** Maps any failure to the status the client sees. */
    public static StatusException toStatusException(Throwable t) {
        Throwable e = unwrap(t);
        if (e instanceof StatusException s) {
            Status redacted = redact(s.getStatus());
            return redacted == s.getStatus() ? s : new StatusException(redacted, s.getTrailers());
        }
        if (e instanceof StatusRuntimeException s) {
            return new StatusException(redact(s.getStatus()), s.getTrailers());
        }
        if (e instanceof LoragateException le) {
            Status.Code code = code(le.kind());
            if (code == Status.Code.INTERNAL || code == Status.Code.DATA_LOSS) {
                LOG.error("gRPC call failed", le);
            }
            Metadata trailers = new Metadata();
            if (le.param() != null) {
                trailers.put(PARAM, le.param());
            }
            if (le.kind() == LoragateException.Kind.RESOURCE_EXHAUSTED || le.kind() == LoragateException.Kind.UNAVAILABLE) {
                trailers.put(RETRY_AFTER, String.valueOf(Math.max(1, le.retryAfterSeconds())));
            }
            return Status.fromCode(code).withDescription(ErrorText.redact(le.getMessage())).asException(trailers);
        }
        if (e instanceof CancellationException) {
            return Status.CANCELLED.withDescription("request cancelled").asException();
        }
        if (e instanceof IllegalArgumentException) {
            return Status.INVALID_ARGUMENT.withDescription(ErrorText.redact(e.getMessage())).asException();
        }
        LOG.error("unexpected failure in a gRPC call", e);
        return Status.INTERNAL.withDescription("internal error: " + e.getClass().getSimpleName()).asException();
    }

    /**
     * The transport-independent kind to a gRPC code. {@code UNIMPLEMENTED} means a feature the user asked
     * for (an architecture, an adapter type) that loragate does not support: that is bad input from the
     * caller, so it is INVALID_ARGUMENT (REST answers 400); gRPC's own UNIMPLEMENTED says "this RPC does
     * not exist here", which clients and proxies treat as a wrong endpoint.
     */
    public static Status.Code code(LoragateException.Kind kind) {
        return switch (kind) {
            case INVALID_ARGUMENT, UNIMPLEMENTED -> Status.Code.INVALID_ARGUMENT;
            case NOT_FOUND -> Status.Code.NOT_FOUND;
            case FAILED_PRECONDITION -> Status.Code.FAILED_PRECONDITION;
            case RESOURCE_EXHAUSTED -> Status.Code.RESOURCE_EXHAUSTED;
            case DATA_LOSS -> Status.Code.DATA_LOSS;
            case INTERNAL -> Status.Code.INTERNAL;
            case UNAUTHENTICATED -> Status.Code.UNAUTHENTICATED;
            case UNAVAILABLE -> Status.Code.UNAVAILABLE;
        };
    }

    /** {@code s} itself when its description names no server path. */
    private static Status redact(Status s) {
        String d = s.getDescription();
        String r = ErrorText.redact(d);
        return d == null || d.equals(r) ? s : s.withDescription(r);
    }

    private static Throwable unwrap(Throwable t) {
        Throwable e = t;
        while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }
}
