package io.loragate.common;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Set;
import java.util.regex.Pattern;
import org.jboss.logging.Logger;

/**
 * The one implementation of durable file writes: a file is written to a temporary sibling in the
 * same folder, forced to disk, renamed over its final name (atomically where the file system can)
 * and the folder is forced too, so a reader sees the old content or the new, never a part, and a
 * crash right after the write keeps it. Also the recursive delete and SHA-256 of the data directory.
 */
public final class DurableFiles {

    private static final Logger LOG = Logger.getLogger(DurableFiles.class);
    /** Temporary siblings are named {@code <name>.tmp-<pid>-<nanos>}: another process's leftovers are recognisable. */
    private static final String TMP_INFIX = ".tmp-";
    private static final Pattern TEMPORARY = Pattern.compile(".*\\.tmp-[0-9]+-[0-9]+");
    private static final Set<OpenOption> CREATE_NEW = Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);

    private DurableFiles() {
    }

    /** Writes the content of a file through its channel (positioned at 0, empty). */
    public interface ChannelWriter {
        void write(FileChannel channel) throws IOException;
    }

    /** Writes {@code bytes} to {@code file} durably and atomically, replacing what is there. */
    public static void write(Path file, byte[] bytes, FileAttribute<?>... attributes) throws IOException {
        write(file, ch -> writeFully(ch, ByteBuffer.wrap(bytes)), attributes);
    }

    /**
     * Writes {@code file} durably and atomically through {@code body}, replacing what is there; the
     * parent folders are created. On failure the temporary file is deleted and {@code file} is as it was.
     */
    public static void write(Path file, ChannelWriter body, FileAttribute<?>... attributes) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path tmp = file.resolveSibling(file.getFileName() + TMP_INFIX + ProcessHandle.current().pid() + "-" + System.nanoTime());
        boolean replaced = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, CREATE_NEW, attributes)) {
                body.write(ch);
                ch.force(true);
            }
            replace(tmp, file);
            replaced = true;
        } finally {
            if (!replaced) {
                deleteQuietly(tmp);
            }
        }
    }

    /**
     * Copies {@code source} to a new file {@code target} (which must not exist), forced to disk;
     * answers the hex SHA-256 of the bytes copied.
     */
    public static String copy(Path source, Path target, FileAttribute<?>... attributes) throws IOException {
        MessageDigest md = sha256Digest();
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(source);
                FileChannel out = FileChannel.open(target, CREATE_NEW, attributes)) {
            try {
                for (int n; (n = in.read(buf)) > 0; ) {
                    md.update(buf, 0, n);
                    writeFully(out, ByteBuffer.wrap(buf, 0, n));
                }
                out.force(true);
            } catch (IOException | RuntimeException e) {
                deleteQuietly(target); // ours (created above): a part of a copy is no copy
                throw e;
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /**
     * Moves a finished file or folder (already forced to disk) to {@code target}, which must not
     * exist, then forces the target's folder. Atomic where the file system can rename atomically;
     * elsewhere a plain move.
     */
    public static void move(Path source, Path target) throws IOException {
        try {
            Files.move(source, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(source, target);
        }
        fsyncDirectory(target.toAbsolutePath().getParent());
    }

    /**
     * Renames {@code source} to {@code target} atomically or not at all (an
     * {@link AtomicMoveNotSupportedException} where the file system cannot), then forces the
     * target's folder. A folder cannot replace an existing non-empty folder this way.
     */
    public static void rename(Path source, Path target) throws IOException {
        Files.move(source, target, StandardCopyOption.ATOMIC_MOVE);
        fsyncDirectory(target.toAbsolutePath().getParent());
    }

    /**
     * Makes a finished staged folder the folder {@code target}: forces the staged folder, deletes
     * what {@code target} held, moves the staged folder there and forces the parent. A folder named
     * {@code target} is then always complete (folders cannot be replaced atomically: between the
     * delete and the move there is none).
     */
    public static void replaceFolder(Path staged, Path target) throws IOException {
        fsyncDirectory(staged);
        deleteRecursively(target);
        Files.createDirectories(target.toAbsolutePath().getParent());
        move(staged, target);
    }

    /** Renames a finished file (already forced to disk) over {@code target}, replacing it, and forces the folder. */
    public static void replace(Path source, Path target) throws IOException {
        try {
            Files.move(source, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(source, target, StandardCopyOption.REPLACE_EXISTING);
        }
        fsyncDirectory(target.toAbsolutePath().getParent());
    }

    /** Forces a file's content to disk. */
    public static void fsync(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    /** Makes a rename or a new entry durable (a no-op where folders cannot be synced; the rename is still atomic). */
    public static void fsyncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // some file systems do not support syncing directories
        }
    }

    /** Whether {@code name} is a temporary sibling left by {@link #write}. */
    public static boolean isTemporary(String name) {
        return TEMPORARY.matcher(name).matches();
    }

    /** Deletes a file or a folder with everything in it; gone already is fine, a failure is logged. */
    public static void deleteRecursively(Path path) {
        if (!Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try {
            Files.walkFileTree(path, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                    Files.deleteIfExists(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (NoSuchFileException e) {
            // already gone
        } catch (IOException e) {
            LOG.warnf("cannot delete %s: %s", path, e.getMessage());
        }
    }

    public static MessageDigest sha256Digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Hex SHA-256 of a file. */
    public static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return sha256(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Hex SHA-256 of what is left in a stream (read to its end, not closed). */
    public static String sha256(InputStream in) throws IOException {
        MessageDigest md = sha256Digest();
        byte[] buf = new byte[1 << 16];
        for (int n; (n = in.read(buf)) > 0; ) {
            md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    public static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // the temporary file is garbage either way
        }
    }
}
