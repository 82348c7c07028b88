package io.loragate.api.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.grpc.Status;
import io.grpc.StatusException;
import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every failure kind maps to its documented gRPC status, with the message and never a stack trace. */
class GrpcErrorMapperTest {

    @ParameterizedTest
    @CsvSource({
            "INVALID_ARGUMENT, INVALID_ARGUMENT",
            "NOT_FOUND, NOT_FOUND",
            "FAILED_PRECONDITION, FAILED_PRECONDITION",
            "RESOURCE_EXHAUSTED, RESOURCE_EXHAUSTED",
            "UNIMPLEMENTED, INVALID_ARGUMENT",
            "DATA_LOSS, DATA_LOSS",
            "INTERNAL, INTERNAL",
            "UNAVAILABLE, UNAVAILABLE"})
    void kindsMapToStatuses(Kind kind, Status.Code code) {
        StatusException e = GrpcErrorMapper.toStatusException(new LoragateException(kind, "the value 'x' is bad"));
        assertEquals(code, e.getStatus().getCode());
        assertEquals("the value 'x' is bad", e.getStatus().getDescription());
    }

    @Test
    void wrappedFailuresAreUnwrapped() {
        LoragateException cause = new LoragateException(Kind.NOT_FOUND, "adapter 'a' not found").withParam("adapter_id");
        StatusException e = GrpcErrorMapper.toStatusException(new CompletionException(cause));
        assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
        assertEquals("adapter_id", e.getTrailers().get(GrpcErrorMapper.PARAM));
    }

    @Test
    void queueFullCarriesRetryAfter() {
        StatusException e = GrpcErrorMapper.toStatusException(new LoragateException(Kind.RESOURCE_EXHAUSTED, "queue full").retryAfter(3));
        assertEquals("3", e.getTrailers().get(GrpcErrorMapper.RETRY_AFTER));
    }

    @Test
    void anUnavailableDatabaseCarriesRetryAfter() {
        StatusException e = GrpcErrorMapper.toStatusException(new LoragateException(Kind.UNAVAILABLE, "database unavailable").retryAfter(5));
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
        assertEquals("5", e.getTrailers().get(GrpcErrorMapper.RETRY_AFTER));
    }

    @Test
    void statusesPassThroughAndTheUnexpectedIsInternalWithoutDetails() {
        StatusException given = Status.UNAVAILABLE.withDescription("draining").asException();
        assertSame(given, GrpcErrorMapper.toStatusException(given));
        StatusException e = GrpcErrorMapper.toStatusException(new NullPointerException("secret internals"));
        assertEquals(Status.Code.INTERNAL, e.getStatus().getCode());
        assertFalse(e.getStatus().getDescription().contains("secret"));
        assertEquals(Status.Code.INVALID_ARGUMENT,
                GrpcErrorMapper.toStatusException(new IllegalArgumentException("bad")).getStatus().getCode());
    }
}
