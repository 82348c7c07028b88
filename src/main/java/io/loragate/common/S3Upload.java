package io.loragate.common;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;

/**
 * Uploads a local file as one object with its SHA-256 as metadata: one PUT up to the part size,
 * else a multipart upload whose parts are streamed from the file (each part read from its offset,
 * again on a retry), so memory stays constant whatever the size. An object appears only when its
 * upload completes; a failed multipart upload is aborted.
 */
final class S3Upload {

    private final S3Client s3;
    private final String bucket;
    private final long partSize;

    S3Upload(S3Client s3, String bucket, long partSize) {
        this.s3 = s3;
        this.bucket = bucket;
        this.partSize = partSize;
    }

    /** Uploads {@code file} as {@code object}, replacing it. */
    void file(String object, Path file) throws IOException {
        long size = Files.size(file);
        Map<String, String> metadata = Map.of(S3BlobStore.SHA256_METADATA, DurableFiles.sha256(file));
        if (size <= partSize) {
            s3.putObject(b -> b.bucket(bucket).key(object).metadata(metadata).contentLength(size), RequestBody.fromFile(file));
            return;
        }
        String id = s3.createMultipartUpload(b -> b.bucket(bucket).key(object).metadata(metadata)).uploadId();
        try {
            List<CompletedPart> parts = new ArrayList<>();
            for (long at = 0; at < size; at += partSize) {
                long offset = at;
                int number = parts.size() + 1;
                long length = Math.min(partSize, size - offset);
                String etag = s3.uploadPart(b -> b.bucket(bucket).key(object).uploadId(id).partNumber(number).contentLength(length),
                        RequestBody.fromContentProvider(() -> range(file, offset, length), length, "application/octet-stream")).eTag();
                parts.add(CompletedPart.builder().partNumber(number).eTag(etag).build());
            }
            s3.completeMultipartUpload(b -> b.bucket(bucket).key(object).uploadId(id).multipartUpload(m -> m.parts(parts)));
        } catch (SdkException | UncheckedIOException e) {
            abort(object, id, e);
            throw e;
        }
    }

    /** A stream of {@code length} bytes of {@code file} from {@code offset}. */
    private static InputStream range(Path file, long offset, long length) {
        try {
            FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
            ch.position(offset);
            return new BoundedStream(Channels.newInputStream(ch), length);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file.getFileName() + " for its upload", e);
        }
    }

    private void abort(String object, String id, Exception failure) {
        try {
            s3.abortMultipartUpload(b -> b.bucket(bucket).key(object).uploadId(id));
        } catch (SdkException e) {
            failure.addSuppressed(e); // the store's lifecycle rule for incomplete uploads removes it
        }
    }

    /** At most {@code remaining} bytes of a stream; closing it closes the stream. */
    private static final class BoundedStream extends java.io.FilterInputStream {
        private long remaining;

        BoundedStream(InputStream in, long remaining) {
            super(in);
            this.remaining = remaining;
        }

        @Override
        public int read() throws IOException {
            if (remaining <= 0) {
                return -1;
            }
            int b = super.read();
            if (b >= 0) {
                remaining--;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (remaining <= 0) {
                return -1;
            }
            int n = super.read(b, off, (int) Math.min(len, remaining));
            if (n > 0) {
                remaining -= n;
            }
            return n;
        }
    }
}
