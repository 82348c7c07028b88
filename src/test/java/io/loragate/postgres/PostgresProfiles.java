package io.loragate.postgres;

import io.loragate.AuthProfile;
import io.loragate.DatasetsProfile;
import io.loragate.TinyLlamaProfile;
import io.loragate.registry.TinyLlamaRegistryProfile;
import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The test profiles of the registry, dataset, job and tenant tests, on PostgreSQL: the same settings
 * with a fresh database on the test server ({@link PostgresResource}) and a data directory of their
 * own (blobs stay on disk; only the metadata moves).
 */
public final class PostgresProfiles {

    private PostgresProfiles() {
    }

    static Map<String, String> onPostgres(Map<String, String> overrides, String dataDir) {
        Map<String, String> out = new HashMap<>(overrides);
        out.put("loragate.data-dir", dataDir);
        return out;
    }

    static List<QuarkusTestProfile.TestResourceEntry> postgres() {
        return List.of(new QuarkusTestProfile.TestResourceEntry(PostgresResource.class));
    }

    public static class Registry extends TinyLlamaRegistryProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return onPostgres(super.getConfigOverrides(), "target/test-data-pg-registry");
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return postgres();
        }
    }

    public static class Datasets extends DatasetsProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return onPostgres(super.getConfigOverrides(), "target/test-data-pg-datasets");
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return postgres();
        }
    }

    public static class Auth extends AuthProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return onPostgres(super.getConfigOverrides(), "target/test-data-pg-auth");
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return postgres();
        }
    }

    public static class Llama extends TinyLlamaProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return onPostgres(super.getConfigOverrides(), "target/test-data-pg-llama");
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return postgres();
        }
    }

    /**
     * Jobs shared by replicas: short leases, and a queue this replica (A) polls only when one of its
     * own jobs is validated or ends, so that jobs a test queues by hand wait for the test's claimers.
     */
    public static class Jobs extends TinyLlamaProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Map<String, String> out = onPostgres(super.getConfigOverrides(), "target/test-data-pg-jobs");
            out.put("loragate.replica-id", "replica-a");
            out.put("loragate.jobs.lease-duration", "3s");
            out.put("loragate.jobs.poll-interval", "1h");
            out.put("loragate.jobs.yield-policy", "none");
            return out;
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return postgres();
        }
    }
}
