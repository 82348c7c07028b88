package io.loragate.postgres;

import static io.loragate.registry.RegistryFixtures.adapter;
import static io.loragate.registry.RegistryFixtures.config;
import static io.loragate.registry.RegistryFixtures.uniqueName;
import static io.loragate.registry.RegistryFixtures.weights;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.common.BlobStore;
import io.loragate.common.LoragateException;
import io.loragate.config.LoragateConfig;
import io.loragate.registry.AdapterEvent;
import io.loragate.registry.AdapterRegistry;
import io.loragate.registry.AdapterVersion;
import io.loragate.registry.JobEventRecord;
import io.loragate.registry.JobLeases;
import io.loragate.registry.JobRecord;
import io.loragate.registry.JobStore;
import io.loragate.registry.Tenants;
import io.loragate.runtime.ResidentModel;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import jakarta.enterprise.event.Event;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Fine-tuning jobs shared by two replicas on one PostgreSQL: the application is replica A (its
 * {@code FineTuningJobs} runs the jobs created over REST); replica B is a second set of stores on a
 * datasource of its own. Claims, leases, takeovers, publication and cancellation hold across them.
 */
@QuarkusTest
@TestProfile(PostgresProfiles.Jobs.class)
class JobsAcrossReplicasTest {

    static final String A = "replica-a";
    static final Duration LONG = Duration.ofMinutes(10);

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
    AdapterRegistry registryA;
    @Inject
    JobStore jobsA;
    @Inject
    JobLeases leasesA;

    DataSource dbB;
    JobStore jobsB;
    JobLeases leasesB;
    ExecutorService pool;

    @BeforeEach
    void replicaB() throws Exception {
        var cfg = ConfigProvider.getConfig();
        String url = cfg.getValue("quarkus.datasource.jdbc.url", String.class);
        try (Connection c = dbA.getConnection()) {
            assertEquals("PostgreSQL", c.getMetaData().getDatabaseProductName());
        }
        PGSimpleDataSource b = new PGSimpleDataSource();
        b.setURL(url);
        b.setUser(cfg.getValue("quarkus.datasource.username", String.class));
        b.setPassword(cfg.getValue("quarkus.datasource.password", String.class));
        dbB = b;
        jobsB = new JobStore(dbB, config);
        leasesB = new JobLeases(dbB);
        pool = Executors.newFixedThreadPool(8);
    }

    @AfterEach
    void stop() {
        pool.shutdownNow();
    }

    /** A job queued by hand (its files are never read: only claims touch it). */
    String queuedJob(String tenant) {
        JobRecord j = jobsA.create(tenant, "tiny-llama", "file-0", null, "claimed", 42, "{}", null, false);
        assertTrue(jobsA.transition(j.id(), Set.of(JobStore.VALIDATING), JobStore.QUEUED, "info", "queued by the test", null, null));
        return j.id();
    }

    /** Ends a job a test claimed by hand, so that no later claim finds it. */
    void end(String id) {
        JobRecord j = jobsA.find(id);
        if (!j.isFinal()) {
            jobsA.transition(id, Set.of(JobStore.QUEUED, JobStore.RUNNING), JobStore.FAILED, "info", "ended by the test", "test",
                    null);
        }
    }

    @Test
    void racingReplicasClaimEveryQueuedJobExactlyOnce() throws Exception {
        int n = 24;
        Set<String> queued = new HashSet<>();
        for (int i = 0; i < n; i++) {
            queued.add(queuedJob("default"));
        }
        ConcurrentLinkedQueue<String> claimed = new ConcurrentLinkedQueue<>();
        CountDownLatch go = new CountDownLatch(1);
        List<Future<?>> claimers = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            JobLeases leases = t % 2 == 0 ? leasesA : leasesB;
            String owner = (t % 2 == 0 ? "race-a-" : "race-b-") + t;
            int batch = 1 + t % 3;
            claimers.add(pool.submit(() -> {
                go.await();
                while (true) {
                    List<JobLeases.Claimed> got = leases.claim(owner, LONG, batch);
                    if (got.isEmpty()) {
                        return null;
                    }
                    for (JobLeases.Claimed c : got) {
                        assertEquals(owner, c.job().owner());
                        assertNull(c.previousOwner(), "a queued job has no previous owner");
                        claimed.add(c.job().id());
                    }
                }
            }));
        }
        go.countDown();
        for (Future<?> f : claimers) {
            f.get(120, TimeUnit.SECONDS);
        }
        List<String> all = new ArrayList<>(claimed);
        try {
            assertEquals(n, all.size(), "claims: " + all);
            assertEquals(queued, new HashSet<>(all), "every queued job claimed exactly once");
            for (String id : all) {
                JobRecord j = jobsA.find(id);
                assertEquals(JobStore.RUNNING, j.status());
                assertEquals(1, j.attempts());
                assertNotNull(j.leaseExpires());
            }
        } finally {
            all.forEach(this::end);
        }
    }

    @Test
    void anExpiredLeaseIsTakenOverAndItsOldOwnerCanNoLongerWrite() {
        String id = queuedJob("default");
        try {
            List<JobLeases.Claimed> first = leasesB.claim("replica-b", Duration.ofMillis(1500), 1);
            assertEquals(List.of(id), first.stream().map(c -> c.job().id()).toList());
            assertTrue(leasesA.claim("replica-c", LONG, 5).isEmpty(), "a lease that runs is not claimable");
            assertTrue(leasesB.renew(id, "replica-b", Duration.ofMillis(1500)).held());
            List<JobLeases.Claimed> taken = await(() -> {
                List<JobLeases.Claimed> c = leasesA.claim("replica-c", LONG, 5);
                return c.isEmpty() ? null : c;
            }, "the expired lease was never taken over");
            assertEquals(1, taken.size());
            assertEquals(id, taken.get(0).job().id());
            assertEquals("replica-b", taken.get(0).previousOwner());
            assertEquals("replica-c", taken.get(0).job().owner());
            assertEquals(2, taken.get(0).job().attempts(), "the takeover counts an attempt");
            assertFalse(leasesB.renew(id, "replica-b", LONG).held(), "the old owner's renewal finds another owner");
            assertFalse(jobsB.transitionOwned(id, "replica-b", JobStore.SUCCEEDED, "info", "late", null, "x@1"),
                    "the old owner cannot end the job");
            assertEquals(JobStore.RUNNING, jobsA.find(id).status());
            assertTrue(messages(id).stream().anyMatch(m -> m.startsWith("The lease of replica replica-b expired")), messages(id)
                    .toString());
        } finally {
            end(id);
        }
    }

    @Test
    void twoPublicationsOfOneJobGiveOneVersion() throws Exception {
        AdapterRegistry registryB = new AdapterRegistry(dbB, config, resident, adapterEvents, new Tenants(dbB, config,
                deletedEvents), blobs);
        String name = uniqueName("once");
        String job = String.format("ftjob-%024x", System.nanoTime());
        Path folder = adapter("tiny-llama", 0);
        List<Callable<Object>> tasks = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            AdapterRegistry replica = i % 2 == 0 ? registryA : registryB;
            tasks.add(() -> replica.register("default", name, config(folder), weights(folder), job));
        }
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Object>> futures = new ArrayList<>();
        for (Callable<Object> t : tasks) {
            futures.add(pool.submit(() -> {
                go.await();
                return t.call();
            }));
        }
        go.countDown();
        Set<Integer> versions = new HashSet<>();
        for (Future<Object> f : futures) {
            versions.add(((AdapterVersion) f.get(120, TimeUnit.SECONDS)).version());
        }
        assertEquals(Set.of(1), versions, "every publisher of the job got the same one version");
        assertEquals(1, registryA.get("default", name).versions().size());
        // another job publishes a new version of the same name
        AdapterVersion other = registryB.register("default", name, config(folder), weights(folder), job.replace("ftjob-0", "ftjob-1"));
        assertEquals(2, other.version());
    }

    @Test
    void aRunnerWhoseLeaseWasTakenStopsWithoutPublishing() {
        String suffix = uniqueName("taken");
        String id = createJob(uploadFile(), suffix, 400);
        try {
            awaitStep(id, 1);
            // what a takeover does once replica A's lease has expired (here without waiting for it)
            takeOver(id, "replica-b");
            String stopped = await(() -> messages(id).stream().filter(m -> m.startsWith("Replica replica-a stopped at step"))
                    .findFirst().orElse(null), "replica A never noticed that it lost the job");
            JobRecord j = jobsA.find(id);
            assertEquals(JobStore.RUNNING, j.status(), "the job is the new owner's: " + stopped);
            assertEquals("replica-b", j.owner());
            long step = j.completedSteps();
            sleep(1000);
            assertEquals(step, jobsA.find(id).completedSteps(), "replica A wrote no more progress");
            assertThrowsNotFound(suffix);
        } finally {
            end(id);
        }
    }

    @Test
    void aCancelOnTheOtherReplicaStopsTheJob() {
        String suffix = uniqueName("cancel");
        String id = createJob(uploadFile(), suffix, 400);
        awaitStep(id, 1);
        long t0 = System.nanoTime();
        JobRecord asked = jobsB.requestCancel("default", id);
        assertTrue(asked.cancelRequested());
        JobRecord done = await(() -> {
            JobRecord j = jobsA.find(id);
            return j.isFinal() ? j : null;
        }, "the job never stopped");
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("JobsAcrossReplicasTest: a cancel on replica B stopped the job on replica A after %.2f s (step %d of %d)%n",
                seconds, done.completedSteps(), done.totalSteps());
        assertEquals(JobStore.CANCELLED, done.status());
        assertTrue(done.completedSteps() < done.totalSteps(), "stopped before the end");
        assertTrue(seconds < 30, "a cancel reaches the running replica within a step or a lease renewal, took " + seconds + " s");
        assertThrowsNotFound(suffix);
    }

    // ---------------------------------------------------------------------------------------------

    /** Makes {@code owner} the job's owner with a long lease, as a claim after expiry does. */
    void takeOver(String id, String owner) {
        try (Connection c = dbB.getConnection(); var s = c.prepareStatement(
                "UPDATE jobs SET status = 'running', owner = ?, lease_expires = CURRENT_TIMESTAMP + INTERVAL '10' MINUTE WHERE id = ?")) {
            s.setString(1, owner);
            s.setString(2, id);
            assertEquals(1, s.executeUpdate());
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    void assertThrowsNotFound(String suffix) {
        try {
            registryA.get("default", suffix);
            throw new AssertionError("adapter " + suffix + " was published");
        } catch (LoragateException e) {
            assertEquals(LoragateException.Kind.NOT_FOUND, e.kind());
        }
    }

    List<String> messages(String id) {
        return jobsA.events("default", id, 0, 1000).stream().map(JobEventRecord::message).toList();
    }

    static String uploadFile() {
        StringBuilder lines = new StringBuilder();
        for (String w : List.of("apple", "river", "stone", "cloud", "tiger", "lemon", "piano", "maple")) {
            lines.append("{\"prompt\": \"Q: ").append(w).append("\\nA:\", \"completion\": \" yes, ").append(w).append(".\"}\n");
        }
        return given().multiPart("file", "qa.jsonl", lines.toString().getBytes(StandardCharsets.UTF_8), "application/jsonl")
                .multiPart("purpose", "fine-tune").post("/v1/files").then().statusCode(200).extract().path("id");
    }

    static String createJob(String file, String suffix, int epochs) {
        String body = "{\"model\": \"tiny-llama\", \"training_file\": \"" + file + "\", \"suffix\": \"" + suffix + "\", \"seed\": 3,"
                + " \"method\": {\"type\": \"supervised\", \"hyperparameters\": {\"epochs\": " + epochs + ", \"batch_size\": 2,"
                + " \"learning_rate\": 0.01, \"checkpoint_every_steps\": 5}, \"adapter\": {\"r\": 2, \"alpha\": 4}}}";
        return given().contentType(ContentType.JSON).body(body).post("/v1/fine_tuning/jobs").then().statusCode(200).extract()
                .path("id");
    }

    void awaitStep(String id, long step) {
        await(() -> {
            JobRecord j = jobsA.find(id);
            assertFalse(j.isFinal(), () -> "the job ended early: " + j + " " + messages(id));
            return j.completedSteps() >= step && JobStore.RUNNING.equals(j.status()) ? j : null;
        }, "the job never reached step " + step);
    }

    static <T> T await(Supplier<T> probe, String failure) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {
            T t = probe.get();
            if (t != null) {
                return t;
            }
            assertTrue(System.nanoTime() < deadline, failure);
            sleep(50);
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
