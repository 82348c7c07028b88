package io.loragate.common;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Paths inside the data directory derived from ids. Every id-derived path is built here: each
 * segment must be one plain name (no separator, never {@code .} or {@code ..}), the result must stay
 * under the root after normalization, and no component below the root may be a symbolic link: a
 * link planted inside the data directory (pointing at a file elsewhere) is refused, never followed.
 * The root itself (and what lies above it) is the operator's choice and may be a link.
 */
public final class DataPaths {

    /** Ids of adapters, tenants: one safe path segment, lower case. */
    public static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}");
    /** A path segment we create ourselves: ids, hashes, version numbers, fixed folder names. */
    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private DataPaths() {
    }

    /** {@code root/segments...}, checked: plain segments, under root, no link below root. */
    public static Path under(Path root, String... segments) {
        Path base = root.toAbsolutePath().normalize();
        Path p = base;
        for (String s : segments) {
            if (s == null || !SEGMENT.matcher(s).matches() || s.equals(".") || s.equals("..")) {
                throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "'" + shorten(s)
                        + "' is not a valid name for a path in the data directory");
            }
            p = p.resolve(s);
        }
        p = p.normalize();
        if (!p.startsWith(base) || p.equals(base)) {
            throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, p + " is outside the data directory " + base);
        }
        refuseLinks(base, p);
        return root.resolve(base.relativize(p)); // as the root was given: relative stays relative
    }

    /**
     * Refuses {@code path} when it, or any existing component between {@code root} (exclusive) and it,
     * is a symbolic link; components that do not exist yet are fine (they are about to be created).
     */
    public static void refuseLinks(Path root, Path path) {
        Path base = root.toAbsolutePath().normalize();
        Path p = path.toAbsolutePath().normalize();
        if (!p.startsWith(base)) {
            throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, p + " is outside the data directory " + base);
        }
        Path at = base;
        for (Path name : base.relativize(p)) {
            at = at.resolve(name);
            if (Files.isSymbolicLink(at)) {
                throw new LoragateException(LoragateException.Kind.DATA_LOSS, "refusing to follow the symbolic link " + at
                        + " inside the data directory (only the data directory itself may be a link)");
            }
        }
    }

    private static String shorten(String s) {
        return s == null ? "null" : s.length() <= 80 ? s : s.substring(0, 80) + "...";
    }
}
