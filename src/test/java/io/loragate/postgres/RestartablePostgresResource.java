package io.loragate.postgres;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.util.Map;

/**
 * A PostgreSQL of the test's own (not the shared one other tests use), which the test stops and
 * starts again: the datasource points at it, and {@code restartable-postgres.dir} / {@code .port}
 * tell the test where it is ({@link PostgresServer#of}).
 */
public class RestartablePostgresResource implements QuarkusTestResourceLifecycleManager {

    private PostgresServer server;

    @Override
    public Map<String, String> start() {
        server = PostgresServer.startPrivate();
        String url = server.createDatabase("loragate");
        return Map.of(
                "quarkus.datasource.jdbc.url", url,
                "quarkus.datasource.username", PostgresServer.USER,
                "quarkus.datasource.password", PostgresServer.PASSWORD,
                "restartable-postgres.dir", server.dir().toString(),
                "restartable-postgres.port", String.valueOf(server.port()));
    }

    @Override
    public void stop() {
        if (server != null) {
            server.stopAtExit();
        }
    }
}
