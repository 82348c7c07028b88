package io.loragate;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;

/**
 * A gateway whose base model cannot load (health stays DOWN), logging to a file of its own as well
 * as the console, so that a test reads what one start logged: the file name carries this JVM's
 * process id (the same in the test's and the application's class loaders), so earlier runs' lines
 * are never counted.
 */
public class LogsProfile implements QuarkusTestProfile {

    public static final String LOG_FILE = "target/test-logs/gateway-" + ProcessHandle.current().pid() + ".log";

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("loragate.model.path", "target/no-such-model", "loragate.data-dir", "target/test-data-logs",
                "quarkus.log.file.enabled", "true", "quarkus.log.file.path", LOG_FILE);
    }
}
