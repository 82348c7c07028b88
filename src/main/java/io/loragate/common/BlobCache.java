package io.loragate.common;

import io.loragate.common.LoragateException.Kind;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * The local copies of a remote store's blobs, bounded in bytes. A blob is written to a temporary
 * sibling while its SHA-256 is computed and renamed into place only when it matches the one recorded
 * at upload, so a cached file is always whole and checked; a mismatch drops the cached copy too.
 *
 * <p>Eviction is least recently used, after each new copy, down to the bound. A copy handed out less
 * than {@code minAge} ago is never evicted: its caller holds a path it may not have opened yet (an
 * adapter load waits for the base model between its checks and its read). A file already open or
 * memory-mapped stays readable after eviction (POSIX keeps an unlinked file's content until its last
 * reader closes), so eviction never breaks a reader, only frees the space later. The bound can be
 * exceeded while every copy is younger than {@code minAge}, and by one blob larger than the bound.
 */
final class BlobCache {

    private static final Logger LOG = Logger.getLogger(BlobCache.class);

    /** What the cache knows of one copy. */
    private static final class Entry {
        final String etag;
        final long bytes;
        long usedNanos;

        Entry(String etag, long bytes) {
            this.etag = etag;
            this.bytes = bytes;
            this.usedNanos = System.nanoTime();
        }
    }

    private final Path root;
    private final long maxBytes;
    private final long minAgeNanos;
    private final Supplier<FileAttribute<?>[]> fileAttributes;
    /** In access order: the least recently used first. */
    private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
    private long bytes;

    BlobCache(Path root, long maxBytes, Duration minAge, Supplier<FileAttribute<?>[]> fileAttributes) {
        this.root = root;
        this.maxBytes = maxBytes;
        this.minAgeNanos = minAge.toNanos();
        this.fileAttributes = fileAttributes;
        DurableFiles.deleteRecursively(root); // copies of an earlier process are unknown: start empty
    }

    /** The local path of {@code key} (checked: plain segments under the cache's folder). */
    Path path(String key) {
        if (key == null || key.isEmpty()) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "a blob key is missing");
        }
        return DataPaths.under(root, key.split("/", -1));
    }

    /** Whether the copy of {@code key} is there and of the object version {@code etag}. */
    synchronized boolean holds(String key, String etag) {
        Entry e = entries.get(key);
        return e != null && e.etag.equals(etag);
    }

    /**
     * Copies an object's content into the cache, checking it against {@code sha256}; on a mismatch
     * nothing (not even an older copy) stays, and the error names the key.
     */
    void fill(String key, String etag, String sha256, InputStream in) throws IOException {
        Path file = path(key);
        long[] written = {0};
        MessageDigest md = DurableFiles.sha256Digest();
        try {
            DurableFiles.write(file, ch -> {
                byte[] buf = new byte[1 << 16];
                for (int n; (n = in.read(buf)) > 0; ) {
                    md.update(buf, 0, n);
                    DurableFiles.writeFully(ch, ByteBuffer.wrap(buf, 0, n));
                    written[0] += n;
                }
                String actual = HexFormat.of().formatHex(md.digest());
                if (!actual.equalsIgnoreCase(sha256)) {
                    throw new ShaMismatch(key, actual, sha256);
                }
            }, fileAttributes.get());
        } catch (ShaMismatch e) {
            drop(List.of(key));
            throw new LoragateException(Kind.DATA_LOSS, e.getMessage(), e);
        }
        synchronized (this) {
            Entry old = entries.put(key, new Entry(etag, written[0]));
            bytes += written[0] - (old == null ? 0 : old.bytes);
        }
    }

    /** Marks the copies as just used (they move to the end of the eviction order), then evicts beyond the bound. */
    synchronized void used(Collection<String> keys) {
        long now = System.nanoTime();
        for (String k : keys) {
            Entry e = entries.get(k);
            if (e != null) {
                e.usedNanos = now;
            }
        }
        evict(Set.copyOf(keys));
    }

    /** The keys of the copies of {@code key} itself and of the blobs under it. */
    synchronized List<String> under(String key) {
        List<String> out = new ArrayList<>();
        for (String k : entries.keySet()) {
            if (k.equals(key) || k.startsWith(key + "/")) {
                out.add(k);
            }
        }
        return out;
    }

    /** Deletes the copies of {@code keys}. */
    synchronized void drop(Collection<String> keys) {
        for (String k : keys) {
            Entry e = entries.remove(k);
            if (e != null) {
                bytes -= e.bytes;
            }
            DurableFiles.deleteRecursively(path(k));
        }
    }

    /** Bytes held by the copies. */
    synchronized long bytes() {
        return bytes;
    }

    private void evict(Set<String> keep) {
        long now = System.nanoTime();
        Iterator<Map.Entry<String, Entry>> it = entries.entrySet().iterator();
        while (bytes > maxBytes && it.hasNext()) {
            Map.Entry<String, Entry> e = it.next();
            if (keep.contains(e.getKey()) || now - e.getValue().usedNanos < minAgeNanos) {
                continue;
            }
            it.remove();
            bytes -= e.getValue().bytes;
            DurableFiles.deleteRecursively(path(e.getKey()));
        }
        if (bytes > maxBytes) {
            LOG.debugf("blob cache holds %d bytes, over its bound of %d: every copy is in use", bytes, maxBytes);
        }
    }

    /** The content read does not have the SHA-256 recorded at upload. */
    private static final class ShaMismatch extends IOException {
        ShaMismatch(String key, String actual, String recorded) {
            super("blob " + key + " read from the object store has SHA-256 " + actual + " but " + recorded
                    + " was recorded when it was stored: the object was changed or corrupted; the local copy is dropped");
        }
    }
}
