package io.loragate.common;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.time.Instant;
import java.util.List;
import java.util.function.Supplier;

/**
 * Where the gateway keeps its bytes: published adapter versions, uploaded datasets and job
 * checkpoints. The metadata (who owns what, versions, states) stays in the database; a store only
 * holds content under keys.
 *
 * <p>A key is a {@code /}-separated path of plain segments (letters, digits, {@code . _ -}, not
 * starting with a dot, never {@code .} or {@code ..}), and is also a prefix of the keys below it:
 * <ul>
 *   <li>{@code adapters/<tenant>/<name>/<version>/adapter_config.json} and {@code .../adapter_model.safetensors}:
 *       a published version (a PEFT folder);</li>
 *   <li>{@code files/<sha256[0:2]>/<sha256>}: an uploaded dataset, content-addressed (one blob for the
 *       same content uploaded by several tenants; the {@code files} rows say who owns it);</li>
 *   <li>{@code jobs/<job>/checkpoints/step-<n>/...}: a job's checkpoint.</li>
 * </ul>
 *
 * <p>A blob becomes visible only when fully written: a put or publish either happened completely or
 * not at all. Readers get local paths (the weights are memory-mapped): {@link FileBlobStore} answers
 * its own files; a remote store materialises blobs into a bounded local cache and checks them against
 * the SHA-256 it recorded when they were put.
 */
public interface BlobStore {

    /**
     * The store {@code loragate.store.url} names: {@code file:<folder>} (the data directory by
     * default) is a {@link FileBlobStore}; {@code s3://<bucket>/<prefix>} an {@link S3BlobStore} with
     * {@code s3} (null: refused, naming the setting); any other scheme is refused, naming it.
     *
     * @param fileAttributes the attributes of files the store creates (the data directory's file mode)
     */
    static BlobStore fromUrl(String url, Supplier<FileAttribute<?>[]> fileAttributes, S3Settings s3) {
        int colon = url == null ? -1 : url.indexOf(':');
        String scheme = colon <= 0 ? "" : url.substring(0, colon);
        if (scheme.equals("s3")) {
            if (s3 == null) {
                throw new IllegalArgumentException("loragate.store.url: '" + url + "' needs the loragate.store.s3.* settings");
            }
            return new S3BlobStore(S3Location.parse(url), s3);
        }
        if (!scheme.equals("file")) {
            throw new IllegalArgumentException("loragate.store.url: unsupported scheme '" + scheme + "' in '" + url
                    + "'; supported: file:<folder> (the data directory by default), s3://<bucket>/<prefix>");
        }
        String rest = url.substring(colon + 1);
        if (rest.isEmpty()) {
            throw new IllegalArgumentException("loragate.store.url: '" + url + "' names no folder");
        }
        Path root = rest.startsWith("//") ? Path.of(URI.create(url)) : Path.of(rest);
        return new FileBlobStore(root, fileAttributes);
    }

    /** {@link #fromUrl(String, Supplier, S3Settings)} for file URLs. */
    static BlobStore fromUrl(String url, Supplier<FileAttribute<?>[]> fileAttributes) {
        return fromUrl(url, fileAttributes, null);
    }

    /** Writes the blob {@code key} from a stream (read to its end, not closed), replacing it; answers its hex SHA-256. */
    String put(String key, InputStream in) throws IOException;

    /**
     * A fresh local path (not yet created) where a file or folder for {@code key} can be staged so
     * that {@link #publish} is cheapest; leftovers of crashed writers are removed by {@link #deleteStaged}.
     */
    Path stage(String key) throws IOException;

    /**
     * Publishes a finished local file or folder (its files forced to disk) as the blob {@code key}
     * (a folder: one blob per file, under {@code key/}), replacing what {@code key} held. Remote
     * stores record each file's SHA-256 as they upload it. Afterwards the staged path may be gone
     * (renamed into place) or still there (uploaded): the caller deletes what is left.
     */
    void publish(String key, Path staged) throws IOException;

    /**
     * Undoes a {@link #publish} whose metadata could not be recorded (a failed transaction): the
     * blob leaves the store and {@code staged} holds its content again, for a retry.
     */
    void unpublish(String key, Path staged) throws IOException;

    /**
     * A local path holding the blob {@code key} (a file), or the blobs under it (a folder, by their
     * key's remainder). What does not exist is simply absent there, as on a disk.
     */
    Path get(String key) throws IOException;

    /** Whether {@code key} is a blob or a prefix of some. */
    boolean exists(String key);

    /** The size in bytes of the blob {@code key}; -1 when there is none. */
    long size(String key) throws IOException;

    /** When the blob {@code key} was last written; null when there is none. */
    Instant modified(String key) throws IOException;

    /**
     * Checks that the store can be used now (readiness): throws, saying why, when it cannot. A remote
     * store answers within its own short timeouts.
     */
    void probe() throws IOException;

    /** The keys of the blobs under {@code prefix} (and {@code prefix} itself if it is one), sorted. */
    List<String> list(String prefix) throws IOException;

    /** Deletes the blob {@code prefix} and every blob under it; nothing there is fine. */
    void delete(String prefix) throws IOException;

    /** Deletes what crashed writers left of their {@link #stage staged} paths directly under {@code prefix}. */
    void deleteStaged(String prefix) throws IOException;
}
