package io.loragate.common;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * The data directory as a {@link BlobStore}: the blob {@code a/b/c} is the file {@code <root>/a/b/c},
 * so the folders are exactly those the gateway has always written. Paths are built by
 * {@link DataPaths#under} (plain segments, no symbolic link below the root). Writes go through
 * {@link DurableFiles}: staged beside their target, forced, renamed into place.
 */
public final class FileBlobStore implements BlobStore {

    /** Staged paths are hidden siblings of their target: {@code .tmp-<name>-<uuid>}. */
    private static final String STAGED_PREFIX = ".tmp-";

    private final Path root;
    private final Supplier<FileAttribute<?>[]> fileAttributes;

    /**
     * @param root           the data directory
     * @param fileAttributes the attributes of files this store creates (the data directory's file mode)
     */
    public FileBlobStore(Path root, Supplier<FileAttribute<?>[]> fileAttributes) {
        this.root = root;
        this.fileAttributes = fileAttributes;
    }

    public Path root() {
        return root;
    }

    @Override
    public String put(String key, InputStream in) throws IOException {
        MessageDigest md = DurableFiles.sha256Digest();
        DurableFiles.write(path(key), ch -> {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
                DurableFiles.writeFully(ch, ByteBuffer.wrap(buf, 0, n));
            }
        }, fileAttributes.get());
        return HexFormat.of().formatHex(md.digest());
    }

    @Override
    public Path stage(String key) throws IOException {
        Path target = path(key);
        Files.createDirectories(target.getParent());
        return target.resolveSibling(STAGED_PREFIX + target.getFileName() + "-" + UUID.randomUUID());
    }

    @Override
    public void publish(String key, Path staged) throws IOException {
        Path target = path(key);
        Path local = onThisFileSystem(key, staged);
        if (Files.isDirectory(local, LinkOption.NOFOLLOW_LINKS)) {
            DurableFiles.replaceFolder(local, target);
        } else {
            Files.createDirectories(target.getParent());
            DurableFiles.replace(local, target);
        }
    }

    @Override
    public void unpublish(String key, Path staged) throws IOException {
        Path target = path(key);
        if (Files.exists(staged, LinkOption.NOFOLLOW_LINKS)) { // it was copied in: the original is still there
            DurableFiles.deleteRecursively(target);
            return;
        }
        try {
            if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                DurableFiles.move(target, staged);
            }
        } catch (IOException e) {
            DurableFiles.deleteRecursively(target);
            throw e;
        }
    }

    @Override
    public Path get(String key) throws IOException {
        Path p = path(key);
        if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(p)) {
                for (Path e : entries) {
                    DataPaths.refuseLinks(root, e); // a file replaced by a link is refused, never followed
                }
            }
        }
        return p;
    }

    @Override
    public boolean exists(String key) {
        return Files.exists(path(key), LinkOption.NOFOLLOW_LINKS);
    }

    @Override
    public long size(String key) throws IOException {
        Path p = path(key);
        return Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) ? Files.size(p) : -1;
    }

    @Override
    public Instant modified(String key) throws IOException {
        Path p = path(key);
        return Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)
                ? Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toInstant() : null;
    }

    @Override
    public void probe() throws IOException {
        Files.createDirectories(root);
        if (!Files.isDirectory(root) || !Files.isWritable(root)) {
            throw new IOException("the store's folder is not a writable directory");
        }
    }

    @Override
    public List<String> list(String prefix) throws IOException {
        Path base = path(prefix);
        if (!Files.exists(base, LinkOption.NOFOLLOW_LINKS)) {
            return List.of();
        }
        List<String> keys = new ArrayList<>();
        try (Stream<Path> files = Files.walk(base)) { // links are not followed
            files.filter(f -> Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)).forEach(f -> {
                String relative = root.toAbsolutePath().normalize().relativize(f.toAbsolutePath().normalize()).toString();
                String key = relative.replace(f.getFileSystem().getSeparator(), "/");
                // staged paths and temporary files are hidden (no key segment starts with a dot)
                if (!key.startsWith(".") && !key.contains("/.") && !DurableFiles.isTemporary(f.getFileName().toString())) {
                    keys.add(key);
                }
            });
        }
        keys.sort(null);
        return keys;
    }

    @Override
    public void delete(String prefix) {
        DurableFiles.deleteRecursively(path(prefix));
    }

    @Override
    public void deleteStaged(String prefix) throws IOException {
        Path dir = path(prefix);
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, STAGED_PREFIX + "*")) {
            for (Path p : entries) {
                DurableFiles.deleteRecursively(p);
            }
        }
    }

    /** The file of a key, checked like every path in the data directory. */
    private Path path(String key) {
        if (key == null || key.isEmpty()) {
            throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "a blob key is missing");
        }
        return DataPaths.under(root, key.split("/", -1));
    }

    /**
     * {@code staged} itself when it lies on the store's file system (publication is a rename), else a
     * forced copy staged beside the target, so that a blob never appears half-copied.
     */
    private Path onThisFileSystem(String key, Path staged) throws IOException {
        Path target = path(key);
        Path existing = target.toAbsolutePath();
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null || Files.getFileStore(existing).equals(Files.getFileStore(staged))) {
            return staged;
        }
        Path copy = stage(key);
        try {
            copyTree(staged, copy);
        } catch (IOException | RuntimeException e) {
            DurableFiles.deleteRecursively(copy);
            throw e;
        }
        return copy;
    }

    private void copyTree(Path from, Path to) throws IOException {
        if (!Files.isDirectory(from, LinkOption.NOFOLLOW_LINKS)) {
            DurableFiles.copy(from, to, fileAttributes.get());
            return;
        }
        Files.createDirectories(to);
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(from)) {
            for (Path e : entries) {
                copyTree(e, to.resolve(e.getFileName().toString()));
            }
        }
        DurableFiles.fsyncDirectory(to);
    }
}
