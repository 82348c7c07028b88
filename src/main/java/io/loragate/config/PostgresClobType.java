package io.loragate.config;

import io.quarkus.flyway.FlywayConfigurationCustomizer;
import jakarta.inject.Singleton;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import org.flywaydb.core.api.callback.Callback;
import org.flywaydb.core.api.callback.Context;
import org.flywaydb.core.api.callback.Event;
import org.flywaydb.core.api.configuration.FluentConfiguration;

/**
 * Lets the one migration history run on PostgreSQL unchanged. Migrations V2, V3, V5 and V6 declare
 * JSON columns as {@code CLOB}, which H2 has and PostgreSQL does not; they cannot be edited (H2
 * databases in the field store their checksums). Before migrating a PostgreSQL schema this creates
 * the domain {@code clob} over {@code text}, so those columns become text there. New migrations
 * use {@code TEXT}, which both databases know.
 */
@Singleton
public class PostgresClobType implements FlywayConfigurationCustomizer {

    @Override
    public void customize(FluentConfiguration configuration) {
        Callback[] existing = configuration.getCallbacks();
        Callback[] all = Arrays.copyOf(existing, existing.length + 1);
        all[existing.length] = new ClobDomain();
        configuration.callbacks(all);
    }

    static final class ClobDomain implements Callback {

        // Replicas starting together on a fresh database race here (before Flyway's own lock): the one
        // that loses sees the other's domain as a duplicate, which is what it wanted.
        static final String SQL = "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
                + " WHERE t.typname = 'clob' AND n.nspname = current_schema()) THEN"
                + " BEGIN CREATE DOMAIN clob AS text; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;"
                + " END IF; END $$";

        @Override
        public boolean supports(Event event, Context context) {
            return event == Event.BEFORE_MIGRATE;
        }

        @Override
        public boolean canHandleInTransaction(Event event, Context context) {
            return true;
        }

        @Override
        public void handle(Event event, Context context) {
            try {
                if (!"PostgreSQL".equals(context.getConnection().getMetaData().getDatabaseProductName())) {
                    return;
                }
                try (Statement s = context.getConnection().createStatement()) {
                    s.execute(SQL);
                }
            } catch (SQLException e) {
                throw new IllegalStateException("cannot create the domain clob (text) that the migrations use on PostgreSQL: "
                        + e.getMessage(), e);
            }
        }

        @Override
        public String getCallbackName() {
            return "loragate-postgres-clob";
        }
    }
}
