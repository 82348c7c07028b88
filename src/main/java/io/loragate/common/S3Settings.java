package io.loragate.common;

import java.net.URI;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * How an {@link S3BlobStore} reaches its store and where it keeps its local copies.
 *
 * @param endpoint       another endpoint than AWS's (MinIO, s3rver, a cloud's S3-compatible service); empty: AWS
 * @param region         the signing region; empty: the AWS chain's ({@code AWS_REGION}, profile), else us-east-1
 * @param pathStyle      {@code http://host/bucket/key} instead of {@code http://bucket.host/key} (most non-AWS stores)
 * @param partSize       bytes per part of a multipart upload (at least 5 MiB, S3's minimum); larger blobs upload in parts
 * @param cacheDir       the local cache of blobs read (emptied when the store opens)
 * @param stagingDir     where blobs are staged before their upload (emptied when the store opens)
 * @param cacheMaxBytes  the cache's bound: least recently used blobs go beyond it
 * @param cacheMinAge    a blob handed out this recently is never evicted (its reader may not have opened it yet)
 * @param fileAttributes the attributes of local files the store creates (the data directory's file mode)
 */
public record S3Settings(Optional<URI> endpoint, Optional<String> region, boolean pathStyle, long partSize,
        Path cacheDir, Path stagingDir, long cacheMaxBytes, Duration cacheMinAge, Supplier<FileAttribute<?>[]> fileAttributes) {

    /** S3's smallest part (but the last). */
    public static final long MIN_PART_SIZE = 5L << 20;

    public S3Settings {
        if (partSize < MIN_PART_SIZE) {
            throw new IllegalArgumentException("loragate.store.s3.part-size: " + partSize + " bytes is below S3's minimum part of "
                    + MIN_PART_SIZE + " bytes (5M)");
        }
        if (cacheMaxBytes <= 0) {
            throw new IllegalArgumentException("loragate.store.cache-max-bytes must be positive, not " + cacheMaxBytes);
        }
    }
}
