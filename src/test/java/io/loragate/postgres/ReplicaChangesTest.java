package io.loragate.postgres;

import static io.loragate.registry.RegistryFixtures.adapter;
import static io.loragate.registry.RegistryFixtures.config;
import static io.loragate.registry.RegistryFixtures.uniqueName;
import static io.loragate.registry.RegistryFixtures.weights;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import io.loragate.config.LoragateConfig;
import io.loragate.registry.AdapterCache;
import io.loragate.registry.AdapterEvent;
import io.loragate.common.BlobStore;
import io.loragate.registry.AdapterRegistry;
import io.loragate.registry.AdapterVersion;
import io.loragate.registry.ChangeListener;
import io.loragate.registry.ReplicaCensus;
import io.loragate.registry.ReplicaIdentity;
import io.loragate.registry.ReplicaRefresh;
import io.loragate.registry.ReplicaSync;
import io.loragate.registry.Tenants;
import io.loragate.runtime.ResidentModel;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.enterprise.event.Event;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Two replicas on one PostgreSQL: the application (replica A) changes something, and a second set of
 * stores (replica B: its own {@link Tenants}, {@link AdapterRegistry} and {@link AdapterCache} on a
 * datasource of its own) sees it through its own {@link ChangeListener}. Replica B runs no periodic
 * reconcile, and each test checks that its listener did not reconnect meanwhile (a reconnect re-reads
 * everything), so what B learns, it learns from the NOTIFY of A's transaction.
 */
@QuarkusTest
@TestProfile(PostgresProfiles.Registry.class)
class ReplicaChangesTest {

    /** A ceiling for waits that normally end within milliseconds; only a failure waits this long. */
    static final Duration PATIENCE = Duration.ofSeconds(60);

    @Inject
    LoragateConfig config;
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
    ReplicaSync syncA;
    @Inject
    ReplicaCensus censusA;

    Tenants tenantsB;
    AdapterRegistry registryB;
    @Inject
    BlobStore blobs;
    AdapterCache cacheB;
    ChangeListener listenerB;
    PGSimpleDataSource databaseB;

    @BeforeEach
    void replicaB() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
        var cfg = ConfigProvider.getConfig();
        PGSimpleDataSource b = new PGSimpleDataSource();
        b.setURL(cfg.getValue("quarkus.datasource.jdbc.url", String.class));
        b.setUser(cfg.getValue("quarkus.datasource.username", String.class));
        b.setPassword(cfg.getValue("quarkus.datasource.password", String.class));
        databaseB = b;
        tenantsB = new Tenants(b, config, deletedEvents);
        // B's registry fires no events in these tests (it only reads); its cache follows notices
        registryB = new AdapterRegistry(b, config, resident, adapterEvents, tenantsB, blobs);
        cacheB = new AdapterCache(registryB, resident, config);
        listenerB = new ChangeListener(b, new ReplicaRefresh(tenantsB, registryB, cacheB));
        awaitTrue("replica B listens", () -> listenerB.connections() == 1);
    }

    @AfterEach
    void stopReplicaB() {
        listenerB.close();
    }

    /** Polls until {@code condition} holds; answers how long it took. */
    static Duration awaitTrue(String what, BooleanSupplier condition) throws InterruptedException {
        long start = System.nanoTime();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - start > PATIENCE.toNanos()) {
                throw new AssertionError("not within " + PATIENCE + ": " + what);
            }
            Thread.sleep(5);
        }
        return Duration.ofNanos(System.nanoTime() - start);
    }

    /** Replica B learnt it from the notice: its listener kept its one connection, and no reconcile runs on B. */
    void heardByNotice(String what, Duration took) {
        assertEquals(1, listenerB.connections(), what + ": replica B's listener did not reconnect (which re-reads all)");
        assertTrue(took.compareTo(config.replicas().reconcileInterval()) < 0, what + " took " + took
                + ", not less than the reconcile interval");
        System.out.printf("replica B saw %s after %d ms%n", what, took.toMillis());
    }

    AdapterVersion register(String tenant, String name, int fixture) {
        Path folder = adapter("tiny-llama", fixture);
        return registryA.register(tenant, name, config(folder), weights(folder));
    }

    /**
     * Replicas count each other by heartbeat rows (what {@code rate-budget=share} divides by): B's
     * first heartbeat counts A and B, A counts B at its next heartbeat, and a stopped B leaves A's
     * count at A's next one.
     */
    @Test
    void replicasCountEachOtherByHeartbeatsAndAStoppedOneLeavesTheCount() throws Exception {
        int before = censusA.live();
        ReplicaCensus censusB = new ReplicaCensus(databaseB, new ReplicaIdentity(uniqueName("census-b")), config);
        censusB.start();
        try {
            assertEquals(before + 1, censusB.live(), "B counts A's heartbeat and its own");
            awaitTrue("A counts B", () -> censusA.live() == before + 1);
        } finally {
            censusB.stop();
        }
        awaitTrue("A no longer counts the stopped B", () -> censusA.live() == before);
    }

    @Test
    void theApplicationListensOnPostgres() {
        assertNotNull(syncA.listener(), "on PostgreSQL each replica listens for the others' changes");
    }

    @Test
    void aNewKeyWorksAndARevokedKeyIsRefusedOnTheOtherReplica() throws Exception {
        String id = uniqueName("notify-key");
        String first = tenantsA.create(id).apiKey();
        heardByNotice("a new tenant's key", awaitTrue("B accepts the new tenant's key",
                () -> tenantsB.authenticate(first).isPresent()));
        assertEquals(id, tenantsB.authenticate(first).orElseThrow());

        long start = System.nanoTime();
        String second = tenantsA.rotate(id).apiKey();
        awaitTrue("B refuses the revoked key", () -> tenantsB.authenticate(first).isEmpty());
        heardByNotice("a revoked key", Duration.ofNanos(System.nanoTime() - start));
        assertEquals(id, tenantsB.authenticate(second).orElseThrow(), "the rotated key works on B");
    }

    @Test
    void aQuotaChangeAndATenantDeletionReachTheOtherReplica() throws Exception {
        String id = uniqueName("notify-quota");
        String key = tenantsA.create(id).apiKey();
        awaitTrue("B knows the tenant", () -> tenantsB.authenticate(key).isPresent());

        tenantsA.setQuotas(id, new Tenants.QuotaOverrides(2.5, null, null, 7, null, null));
        heardByNotice("a quota change", awaitTrue("B applies the new quotas", () -> tenantsB.quota(id).maxAdapters() == 7));
        assertEquals(2.5, tenantsB.quota(id).requestsPerSecond());

        tenantsA.delete(id);
        heardByNotice("a tenant deletion", awaitTrue("B refuses the deleted tenant's key", () -> tenantsB.authenticate(key).isEmpty()));
        LoragateException e = assertThrows(LoragateException.class, () -> tenantsB.get(id));
        assertEquals(Kind.NOT_FOUND, e.kind());
    }

    @Test
    void anAliasSwitchAndANewVersionAreServedByTheOtherReplica() throws Exception {
        String name = uniqueName("notify-alias");
        AdapterVersion v1 = register("default", name, 0);
        assertEquals(v1.version(), registryB.resolve("default", name).version());
        AdapterVersion v2 = register("default", name, 1);
        assertEquals(v2, registryB.resolve("default", name + "@" + v2.version()), "B resolves the new version at once");

        registryA.setActive("default", name, v2.version());
        assertEquals(v2.version(), registryB.resolve("default", name).version(), "B resolves the alias to the new version");
    }

    @Test
    void pinsReachTheOtherReplica() throws Exception {
        String name = uniqueName("notify-pin");
        AdapterVersion v1 = register("default", name, 0);

        registryA.pin("default", name, null);
        heardByNotice("an alias pin", awaitTrue("B pins the active version", () -> cacheB.isPinned(v1)));
        awaitTrue("B holds the pinned weights", () -> cacheB.isResident(v1));

        registryA.unpin("default", name, null);
        heardByNotice("an unpin", awaitTrue("B unpins it", () -> !cacheB.isPinned(v1)));
    }

    @Test
    void aDeletedAdapterIsNotFoundAndLeavesTheOtherReplicasCache() throws Exception {
        String name = uniqueName("notify-delete");
        AdapterVersion v1 = register("default", name, 0);
        cacheB.load(registryB.resolve("default", name)).get(120, TimeUnit.SECONDS);
        assertTrue(cacheB.isResident(v1));

        registryA.deleteVersion("default", name, v1.version());
        LoragateException e = assertThrows(LoragateException.class, () -> registryB.resolve("default", name));
        assertEquals(Kind.NOT_FOUND, e.kind(), "B answers 404 for the deleted adapter");
        heardByNotice("an adapter deletion", awaitTrue("B drops the deleted version's weights", () -> !cacheB.isResident(v1)));
    }

    @Test
    void theListenerReconnectsAfterItsConnectionIsKilled() throws Exception {
        int pid = listenerB.backendPid();
        assertNotEquals(0, pid);
        PostgresServer.shared().terminateBackend(pid);
        awaitTrue("B's listener reconnects", () -> listenerB.connections() == 2);
        assertNotEquals(pid, listenerB.backendPid(), "a new backend listens");

        String id = uniqueName("notify-reconnect");
        String key = tenantsA.create(id).apiKey();
        awaitTrue("B hears changes again", () -> tenantsB.authenticate(key).isPresent());
        assertEquals(2, listenerB.connections(), "heard by the new connection's notice, not by another reconnect");
    }
}
