package io.loragate.registry;

import io.loragate.config.LoragateConfig;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;
import org.jboss.logging.Logger;

/**
 * Permissions in the data directory ({@code loragate.data.file-mode}, {@code loragate.data.dir-mode};
 * default 0600 and 0700): at start-up, before anything else writes there, the data directory is
 * created if needed and every folder and file in it gets these modes (links are left alone); the
 * files loragate writes itself (staged uploads, which become adapter and dataset blobs) are created
 * with the file mode. What the libraries write (the database, spooled request bodies, checkpoints)
 * gets the process umask until the next start: the data directory's own mode is what keeps other
 * users out. On file systems without POSIX permissions nothing happens.
 */
@ApplicationScoped
public class DataModes {

    private static final Logger LOG = Logger.getLogger(DataModes.class);
    private static final boolean POSIX = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");

    /** The data directory's own folders, created at start-up. */
    static final java.util.List<String> TOP_FOLDERS = java.util.List.of(AdapterRegistry.ADAPTERS_DIR, DatasetStore.FILES_DIR,
            "jobs", AdapterRegistry.TMP_DIR);

    private static volatile Set<PosixFilePermission> fileMode = parse("600", "loragate.data.file-mode");

    private final LoragateConfig config;

    public DataModes(LoragateConfig config) {
        this.config = config;
    }

    // before the stores' start-up work (which creates folders and files)
    void onStart(@Observes @Priority(jakarta.interceptor.Interceptor.Priority.PLATFORM_BEFORE) StartupEvent e) {
        apply();
    }

    /** Creates the data directory if needed and sets the configured modes on everything in it. */
    public void apply() {
        Set<PosixFilePermission> files = parse(config.data().fileMode(), "loragate.data.file-mode");
        Set<PosixFilePermission> dirs = parse(config.data().dirMode(), "loragate.data.dir-mode");
        fileMode = files;
        if (!POSIX) {
            return;
        }
        Path root = config.dataDir();
        try {
            Files.createDirectories(root);
            for (String top : TOP_FOLDERS) { // made now, with the mode, rather than later with the umask
                Files.createDirectories(root.resolve(top));
            }
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes a) throws IOException {
                    set(d, dirs);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path f, BasicFileAttributes a) {
                    if (a.isRegularFile()) {
                        set(f, files);
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path f, IOException ex) {
                    return FileVisitResult.CONTINUE; // removed meanwhile, or unreadable: left as it is
                }
            });
        } catch (IOException ex) {
            LOG.warnf("cannot set the modes in the data directory: %s", ex.getMessage());
        }
    }

    /** Attributes for creating a file with {@code loragate.data.file-mode} (none without POSIX). */
    public static FileAttribute<?>[] fileAttributes() {
        return POSIX ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(fileMode)} : new FileAttribute<?>[0];
    }

    private static void set(Path p, Set<PosixFilePermission> mode) {
        try {
            if (!Files.isSymbolicLink(p) && !Files.getPosixFilePermissions(p).equals(mode)) {
                Files.setPosixFilePermissions(p, mode);
            }
        } catch (IOException | UnsupportedOperationException ex) {
            LOG.warnf("cannot set the mode of %s: %s", p, ex.getMessage());
        }
    }

    /** {@code "600"} (octal, 3 digits) to permissions; anything else is a configuration error. */
    static Set<PosixFilePermission> parse(String octal, String key) {
        String s = octal == null ? "" : octal.trim();
        if (s.length() == 4 && s.charAt(0) == '0') {
            s = s.substring(1);
        }
        if (!s.matches("[0-7]{3}")) {
            throw new IllegalArgumentException(key + " must be 3 octal digits (e.g. 600), got '" + octal + "'");
        }
        Set<PosixFilePermission> out = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = {PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
            PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE,
            PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE,
            PosixFilePermission.OTHERS_EXECUTE};
        for (int i = 0; i < 9; i++) {
            int digit = s.charAt(i / 3) - '0';
            if ((digit & (4 >> (i % 3))) != 0) {
                out.add(order[i]);
            }
        }
        return out;
    }
}
