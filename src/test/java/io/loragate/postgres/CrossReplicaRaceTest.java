package io.loragate.postgres;

import static io.loragate.registry.RegistryFixtures.adapter;
import static io.loragate.registry.RegistryFixtures.config;
import static io.loragate.registry.RegistryFixtures.uniqueName;
import static io.loragate.registry.RegistryFixtures.weights;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.common.BlobStore;
import io.loragate.config.LoragateConfig;
import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import io.loragate.registry.AdapterEvent;
import io.loragate.registry.AdapterRegistry;
import io.loragate.registry.AdapterVersion;
import io.loragate.registry.DatasetStore;
import io.loragate.registry.JobStore;
import io.loragate.registry.Tenants;
import io.loragate.runtime.ResidentModel;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.enterprise.event.Event;
import jakarta.inject.Inject;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Two replicas on one PostgreSQL: the application's stores (replica A, its pool) and a second set of
 * store instances (replica B) on a datasource of its own, with JVM locks of its own (its own
 * {@link Tenants}, so {@code quotaLock} and {@code synchronized} serialise nothing between A and B).
 * Only the database is shared; racing both, every invariant still holds: exactly one wins.
 */
@QuarkusTest
@TestProfile(PostgresProfiles.Registry.class)
class CrossReplicaRaceTest {

    static final int ROUNDS = 3;

    @Inject
    DataSource dbA;
    @Inject
    LoragateConfig config;
    @Inject
    BlobStore blobs;
    @Inject
    ResidentModel resident;
    @Inject
    Event<AdapterEvent> adapterEvents;
    @Inject
    Event<Tenants.Deleted> deletedEvents;
    @Inject
    Tenants tenantsA;
    @Inject
    AdapterRegistry registryA;
    @Inject
    DatasetStore datasetsA;
    @Inject
    JobStore jobsA;

    DataSource dbB;
    ExecutorService pool;

    @BeforeEach
    void replicaB() throws Exception {
        var cfg = ConfigProvider.getConfig();
        String url = cfg.getValue("quarkus.datasource.jdbc.url", String.class);
        assertTrue(url.startsWith("jdbc:postgresql:"), url);
        try (Connection c = dbA.getConnection()) {
            assertEquals("PostgreSQL", c.getMetaData().getDatabaseProductName());
        }
        PGSimpleDataSource b = new PGSimpleDataSource();
        b.setURL(url);
        b.setUser(cfg.getValue("quarkus.datasource.username", String.class));
        b.setPassword(cfg.getValue("quarkus.datasource.password", String.class));
        dbB = b;
        pool = Executors.newFixedThreadPool(8);
    }

    @AfterEach
    void stop() {
        pool.shutdownNow();
    }

    /** Replica B's tenants, created after the test's tenants exist (a replica reads them at start). */
    Tenants tenantsB() {
        return new Tenants(dbB, config, deletedEvents);
    }

    /** A tenant with quota overrides, created through replica A. */
    String tenant(String prefix, Integer maxAdapters, Long maxStoredBytes, Integer maxJobs) {
        String id = uniqueName(prefix);
        tenantsA.create(id);
        tenantsA.setQuotas(id, new Tenants.QuotaOverrides(null, null, null, maxAdapters, maxStoredBytes, maxJobs));
        return id;
    }

    /** Runs every task at once (released together); answers each one's result or LoragateException. */
    List<Object> race(List<Callable<?>> tasks) throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Object>> futures = new ArrayList<>();
        for (Callable<?> t : tasks) {
            futures.add(pool.submit(() -> {
                go.await();
                try {
                    return t.call();
                } catch (LoragateException e) {
                    return e;
                }
            }));
        }
        go.countDown();
        List<Object> out = new ArrayList<>();
        for (Future<Object> f : futures) {
            out.add(f.get(120, TimeUnit.SECONDS));
        }
        return out;
    }

    static long refused(List<Object> results, Kind kind) {
        return results.stream().filter(r -> r instanceof LoragateException e && e.kind() == kind).count();
    }

    static long succeeded(List<Object> results) {
        return results.stream().filter(r -> !(r instanceof Throwable)).count();
    }

    @Test
    void versionNumbersAreAssignedOnceAcrossReplicas() throws Exception {
        AdapterRegistry registryB = new AdapterRegistry(dbB, config, resident, adapterEvents, tenantsB(), blobs);
        String name = uniqueName("race-versions");
        Path folder = adapter("tiny-llama", 0);
        List<Callable<?>> tasks = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            AdapterRegistry replica = i % 2 == 0 ? registryA : registryB;
            tasks.add(() -> replica.register("default", name, config(folder), weights(folder)));
        }
        List<Object> results = race(tasks);
        TreeSet<Integer> versions = new TreeSet<>();
        for (Object r : results) {
            versions.add(((AdapterVersion) r).version());
        }
        assertEquals(new TreeSet<>(List.of(1, 2, 3, 4, 5, 6)), versions, "each number was given to exactly one register");
        assertEquals(6, registryB.get("default", name).versions().size());
        assertEquals(1, registryA.get("default", name).activeVersion());
    }

    @Test
    void theAdapterQuotaHoldsAcrossReplicas() throws Exception {
        for (int round = 0; round < ROUNDS; round++) {
            String t = tenant("race-adapters", 1, null, null);
            AdapterRegistry registryB = new AdapterRegistry(dbB, config, resident, adapterEvents, tenantsB(), blobs);
            Path folder = adapter("tiny-llama", round % 2);
            List<Object> results = race(List.of(
                    () -> registryA.register(t, "a", config(folder), weights(folder)),
                    () -> registryB.register(t, "b", config(folder), weights(folder))));
            assertEquals(1, succeeded(results), "max_adapters=1: exactly one of two racing replicas registers " + results);
            assertEquals(1, refused(results, Kind.RESOURCE_EXHAUSTED), results.toString());
            assertEquals(1, tenantsA.usage(t).adapters());
            assertEquals(1, registryA.list(t).size(), "the refused name left no adapter behind");
        }
    }

    @Test
    void theStorageQuotaHoldsAcrossReplicas() throws Exception {
        int size = 200;
        for (int round = 0; round < ROUNDS; round++) {
            String t = tenant("race-bytes", null, size * 3L / 2, null);
            DatasetStore datasetsB = new DatasetStore(dbB, config, tenantsB(), blobs);
            List<Object> results = race(List.of(() -> upload(datasetsA, t, size), () -> upload(datasetsB, t, size)));
            assertEquals(1, succeeded(results), "room for one file: exactly one of two racing replicas stores it " + results);
            assertEquals(1, refused(results, Kind.RESOURCE_EXHAUSTED), results.toString());
            assertEquals(size, tenantsA.usage(t).fileBytes());
            assertEquals(1, datasetsA.list(t).size());
        }
    }

    /** Stores a distinct dataset of exactly {@code size} bytes. */
    static Object upload(DatasetStore store, String tenant, int size) {
        String line = "{\"text\": \"" + UUID.randomUUID() + "\"}";
        String padded = line.substring(0, line.length() - 2) + "x".repeat(size - line.length() - 1) + "\"}\n";
        try (DatasetStore.Staging s = store.stage(new ByteArrayInputStream(padded.getBytes(StandardCharsets.UTF_8)))) {
            return store.publish(tenant, s, "d.jsonl", "fine-tune", "{}");
        }
    }

    @Test
    void theJobQuotaHoldsAcrossReplicas() throws Exception {
        JobStore jobsB = new JobStore(dbB, config);
        for (int round = 0; round < ROUNDS; round++) {
            String t = tenant("race-jobs", null, null, 1);
            List<Object> results = race(List.of(() -> createJob(jobsA, t), () -> createJob(jobsB, t)));
            assertEquals(1, succeeded(results), "max_concurrent_jobs=1: exactly one of two racing replicas creates one " + results);
            assertEquals(1, refused(results, Kind.RESOURCE_EXHAUSTED), results.toString());
            assertEquals(1, jobsA.activeCount(t));
        }
    }

    static Object createJob(JobStore store, String tenant) {
        return store.create(tenant, "tiny-llama", "file-0", null, "race", 42, "{}", null, false, null, 1);
    }

    @Test
    void aTenantIdIsIssuedOnceAcrossReplicas() throws Exception {
        for (int round = 0; round < ROUNDS; round++) {
            String id = uniqueName("race-tenant");
            Tenants b = tenantsB();
            b.list(); // replica B has read the tenants before either creates
            List<Object> results = race(List.of(() -> tenantsA.create(id), () -> b.create(id)));
            assertEquals(1, succeeded(results), "exactly one replica creates tenant " + id + ": " + results);
            assertEquals(1, refused(results, Kind.INVALID_ARGUMENT), results.toString());
        }
    }
}
