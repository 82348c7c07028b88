package io.loragate.config;

import io.smallrye.config.ConfigSourceContext;
import io.smallrye.config.ConfigSourceFactory;
import io.smallrye.config.ConfigValue;
import io.smallrye.config.PropertiesConfigSource;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.eclipse.microprofile.config.spi.ConfigSource;

/**
 * Puts the metadata database inside the data directory: {@code quarkus.datasource.jdbc.url} becomes
 * an H2 file database at {@code <loragate.data-dir>/db/loragate}. H2 refuses paths that are relative
 * without a leading {@code ./}, so the URL cannot be a plain expression over {@code loragate.data-dir}
 * (which is relative by default); here the directory is made absolute first. The ordinal is below
 * {@code application.properties}, so an explicit {@code quarkus.datasource.jdbc.url} (e.g. PostgreSQL)
 * still wins.
 */
public class DatabaseConfigSourceFactory implements ConfigSourceFactory {

    static final int ORDINAL = 200;

    @Override
    public Iterable<ConfigSource> getConfigSources(ConfigSourceContext context) {
        ConfigValue dir = context.getValue("loragate.data-dir");
        String dataDir = dir == null || dir.getValue() == null ? "data" : dir.getValue();
        return List.of(new PropertiesConfigSource(Map.of("quarkus.datasource.jdbc.url", url(Path.of(dataDir))),
                "loragate-database", ORDINAL));
    }

    /** The H2 URL of the database in a data directory. */
    public static String url(Path dataDir) {
        Path db = dataDir.toAbsolutePath().normalize().resolve("db").resolve("loragate");
        // Quarkus closes the pool on shutdown; H2 must not close the database under it first.
        // WRITE_DELAY=0: a commit is written to the file before it returns (H2 otherwise batches
        // commits for up to a second, and a process killed with SIGKILL loses acknowledged writes).
        return "jdbc:h2:file:" + db + ";DB_CLOSE_ON_EXIT=FALSE;LOCK_TIMEOUT=10000;WRITE_DELAY=0";
    }
}
