package io.loragate.common;

import io.loragate.common.LoragateException.Kind;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * What a client reads when the object store fails: UNAVAILABLE (503, gRPC UNAVAILABLE, retry later)
 * when it cannot be reached or answers a server error, INTERNAL when it refuses the request (missing
 * bucket, credentials without the right): an operator's problem, never the caller's.
 */
final class S3Errors {

    /** What an UNAVAILABLE answer suggests as Retry-After. */
    static final long RETRY_SECONDS = 5;

    private S3Errors() {
    }

    /** {@code what} names the operation: "read blob files/ab/ab12..". */
    static LoragateException of(String what, Exception e) {
        if (e instanceof S3Exception s3 && s3.statusCode() > 0 && s3.statusCode() < 500 && s3.statusCode() != 408
                && s3.statusCode() != 429) {
            String code = s3.awsErrorDetails() == null ? "" : s3.awsErrorDetails().errorCode() + " ";
            return new LoragateException(Kind.INTERNAL, "the object store refused to " + what + ": " + code
                    + "(HTTP " + s3.statusCode() + ")", e);
        }
        return new LoragateException(Kind.UNAVAILABLE, "object store unavailable: cannot " + what + " now; retry later", e)
                .retryAfter(RETRY_SECONDS);
    }

    /** Whether the store answered that the object does not exist. */
    static boolean notFound(SdkException e) {
        return e instanceof S3Exception s3 && s3.statusCode() == 404;
    }
}
