package io.loragate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.loragate.config.DatabaseConfigSourceFactory;
import io.loragate.registry.RegistryFixtures;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The kill loop: the packaged gateway is killed with SIGKILL at a random (seeded) moment while it
 * registers adapters, switches aliases, serves them and trains (and publishes) adapters, then
 * started again on the same data directory; at least 20 times. After each kill, with the process
 * dead, the H2 file is opened directly: no version row without its files (whole: size and SHA-256),
 * no alias pointing at a missing or errored version. After each restart, over REST and on disk:
 * every acknowledged upload is there with its bytes, no version folder is left without a row (the
 * start-up sweep), no staging leftovers, every alias resolves to a ready version it was set to (or
 * was being set to) and serves, every job is resuming or finished (failed only with a reason), and
 * the GET endpoints answer. At the end the last job finishes and at least one job has been resumed
 * after a kill.
 */
class CrashLoopIT {

    static final int KILLS = Integer.getInteger("loragate.it.kills", 20);
    static final long SEED = Long.getLong("loragate.it.seed", 20240607L);
    static final List<String> NAMES = List.of("crash-a", "crash-b", "crash-c");
    static final String JOB_SUFFIX = "crash-job";

    record Ack(String name, int version, String sha256) {
    }

    /** What the clients know, shared by the activity threads (guarded by itself). */
    static final class Known {
        final List<Ack> uploads = new ArrayList<>();
        /** The alias's last acknowledged value, and a switch sent but not answered (it may or may not have happened). */
        final Map<String, Integer> active = new HashMap<>();
        final Map<String, Integer> pending = new HashMap<>();
        final Set<String> jobs = new TreeSet<>();
    }

    private Gateway gateway;
    private final Known known = new Known();
    private final AtomicInteger variant = new AtomicInteger();
    private final Map<String, Integer> counts = new java.util.concurrent.ConcurrentHashMap<>();
    private final List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());

    /** A client thread: a wrong answer (not a dead server) fails the test. */
    private Thread client(String name, Runnable body) {
        return new Thread(() -> {
            try {
                body.run();
            } catch (Throwable t) {
                failures.add(t);
            }
        }, name);
    }

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    @Test
    void twentyKillsLeaveTheDatabaseAndTheDataDirectoryConsistent() throws Exception {
        long t0 = System.nanoTime();
        Path data = Files.createTempDirectory(Path.of("target"), "it-crash-loop-");
        // C1 only and the serial collector: the gateway starts 21 times, and start-up is what costs here
        gateway = new Gateway(data).jvm("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC");
        Random random = new Random(SEED);
        byte[] config = Files.readAllBytes(RegistryFixtures.config(RegistryFixtures.adapter("tiny-llama", 0)));
        byte[] weights = Files.readAllBytes(RegistryFixtures.weights(RegistryFixtures.adapter("tiny-llama", 0)));
        long startNanos = gateway.start();
        String file = uploadDataset();
        int orphansSwept = 0;
        for (int kill = 1; kill <= KILLS; kill++) {
            ensureJob(file);
            AtomicBoolean running = new AtomicBoolean(true);
            List<Thread> threads = List.of(
                    client("uploads", () -> uploads(running, new Random(random.nextLong()), config, weights)),
                    client("switches", () -> switches(running, new Random(random.nextLong()))),
                    client("reads", () -> reads(running, new Random(random.nextLong()))));
            threads.forEach(Thread::start);
            long delay = 200 + random.nextInt(1800);
            Thread.sleep(delay);
            gateway.kill();
            running.set(false);
            for (Thread t : threads) {
                t.join(30_000);
                assertFalse(t.isAlive(), t.getName() + " did not stop");
            }
            if (!failures.isEmpty()) {
                throw new AssertionError("before kill " + kill + ": " + failures.get(0), failures.get(0));
            }
            orphansSwept += checkDeadStore(data, kill);
            startNanos = Math.max(startNanos, gateway.start());
            checkRunning(data, kill);
        }
        // The last job runs to its end; every job is finished, and at least one resumed after a kill.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        boolean resumed = false;
        for (String id : known.jobs) {
            JsonPath j;
            while (true) {
                j = gateway.api().get("/v1/fine_tuning/jobs/" + id).then().statusCode(200).extract().jsonPath();
                if (Set.of("succeeded", "failed", "cancelled").contains(j.getString("status"))) {
                    break;
                }
                assertTrue(System.nanoTime() < deadline, "job " + id + " did not finish: " + j.prettify());
                Thread.sleep(100);
            }
            assertEquals("succeeded", j.getString("status"), j.prettify());
            List<String> events = gateway.api().queryParam("limit", 999).get("/v1/fine_tuning/jobs/" + id + "/events")
                    .then().statusCode(200).extract().jsonPath().getList("data.message");
            resumed |= events.stream().anyMatch(m -> m.startsWith("The server restarted"));
        }
        assertTrue(resumed, "no job was ever interrupted by a kill: the loop does not test training");
        assertTrue(known.uploads.size() >= KILLS, "too few acknowledged uploads to mean anything: " + known.uploads.size());
        gateway.stop();
        System.out.printf("CrashLoopIT: %d kills in %.1f s (slowest start %.1f s), seed %d, %d acknowledged uploads, %d jobs,"
                + " %d version folders without a row swept at start, activity %s%n", KILLS, (System.nanoTime() - t0) / 1e9,
                startNanos / 1e9, SEED, known.uploads.size(), known.jobs.size(), orphansSwept, new java.util.TreeMap<>(counts));
    }

    // ---------------------------------------------------------------------------------------------
    // Activity (each thread stops at the first failure to connect: the gateway is dead)

    private void count(String what) {
        counts.merge(what, 1, Integer::sum);
    }

    private void uploads(AtomicBoolean running, Random random, byte[] config, byte[] weights) {
        while (running.get()) {
            String name = NAMES.get(random.nextInt(NAMES.size()));
            byte[] w = variant(weights, variant.incrementAndGet());
            String sha = sha256(w);
            count("upload_sent");
            Response r;
            try {
                r = gateway.api().multiPart("name", name).multiPart("config", "adapter_config.json", config, "application/json")
                        .multiPart("weights", "adapter_model.safetensors", w, "application/octet-stream").post("/v1/adapters");
            } catch (Exception gone) {
                count("upload_interrupted");
                return;
            }
            assertEquals(200, r.statusCode(), r.asString());
            JsonPath j = r.jsonPath();
            synchronized (known) {
                known.uploads.add(new Ack(name, j.getInt("version"), sha));
                known.active.putIfAbsent(name, j.getInt("active_version"));
            }
            count("upload_acknowledged");
        }
    }

    private void switches(AtomicBoolean running, Random random) {
        while (running.get()) {
            Ack target = null;
            synchronized (known) {
                if (!known.uploads.isEmpty()) {
                    target = known.uploads.get(random.nextInt(known.uploads.size()));
                    if (known.active.containsKey(target.name())) {
                        known.pending.put(target.name(), target.version());
                    } else {
                        target = null;
                    }
                }
            }
            if (target == null) {
                Gateway.sleep(20);
                continue;
            }
            count("switch_sent");
            Response r;
            try {
                r = gateway.api().contentType(ContentType.JSON).body("{\"version\": " + target.version() + "}")
                        .put("/v1/adapters/" + target.name() + "/active");
            } catch (Exception gone) {
                count("switch_interrupted");
                return;
            }
            assertEquals(200, r.statusCode(), r.asString());
            synchronized (known) {
                known.active.put(target.name(), target.version());
                known.pending.remove(target.name());
            }
            count("switch_acknowledged");
            Gateway.sleep(random.nextInt(30));
        }
    }

    private void reads(AtomicBoolean running, Random random) {
        while (running.get()) {
            String model;
            synchronized (known) {
                if (known.active.isEmpty()) {
                    model = "tiny-llama";
                } else {
                    List<String> names = new ArrayList<>(known.active.keySet());
                    model = names.get(random.nextInt(names.size()));
                }
            }
            try {
                Response r = gateway.api().contentType(ContentType.JSON)
                        .body("{\"model\": \"" + model + "\", \"prompt\": \"hello\", \"max_tokens\": 3, \"temperature\": 0}")
                        .post("/v1/completions");
                assertEquals(200, r.statusCode(), r.asString());
                count("completion_acknowledged");
            } catch (AssertionError e) {
                throw e;
            } catch (Exception gone) {
                return;
            }
        }
    }

    private String uploadDataset() {
        StringBuilder lines = new StringBuilder();
        for (String w : KillAndResumeIT.WORDS) {
            lines.append("{\"prompt\": \"Q: ").append(w).append("\\nA:\", \"completion\": \" yes, ").append(w).append(".\"}\n");
        }
        return gateway.api().multiPart("file", "qa.jsonl", lines.toString().getBytes(StandardCharsets.UTF_8), "application/jsonl")
                .multiPart("purpose", "fine-tune").post("/v1/files").then().statusCode(200).extract().path("id");
    }

    /** A job is always training: a new one whenever the previous ones have finished. */
    private void ensureJob(String file) {
        for (String id : known.jobs) {
            String status = gateway.api().get("/v1/fine_tuning/jobs/" + id).then().statusCode(200).extract().path("status");
            if (!Set.of("succeeded", "failed", "cancelled").contains(status)) {
                return;
            }
        }
        String body = "{\"model\": \"tiny-llama\", \"training_file\": \"" + file + "\", \"suffix\": \"" + JOB_SUFFIX + "\", \"seed\": 3,"
                + " \"method\": {\"type\": \"supervised\", \"hyperparameters\": {\"epochs\": 6, \"batch_size\": 2,"
                + " \"learning_rate\": 0.01, \"checkpoint_every_steps\": 4}, \"adapter\": {\"r\": 4, \"alpha\": 8}}}";
        known.jobs.add(gateway.api().contentType(ContentType.JSON).body(body).post("/v1/fine_tuning/jobs")
                .then().statusCode(200).extract().path("id"));
        count("jobs_created");
    }

    // ---------------------------------------------------------------------------------------------
    // Checks

    /**
     * With the process dead: every version row has its whole files, every alias points at a ready
     * version. Answers how many version folders have no row (the start-up sweep must remove them).
     */
    private int checkDeadStore(Path data, int kill) throws Exception {
        String where = "after kill " + kill + " (seed " + SEED + ", data " + data + "): ";
        Set<String> rows = new TreeSet<>();
        try (Connection c = DriverManager.getConnection(DatabaseConfigSourceFactory.url(data), "", "");
                Statement s = c.createStatement()) {
            try (ResultSet r = s.executeQuery("SELECT tenant, name, version, bytes, sha256, state FROM adapter_versions")) {
                while (r.next()) {
                    String id = r.getString(2) + "@" + r.getInt(3);
                    String state = r.getString(6);
                    rows.add(r.getString(1) + "/" + r.getString(2) + "/" + r.getInt(3));
                    if ("deleted".equals(state)) {
                        continue;
                    }
                    assertEquals("ready", state, where + id + " is " + state);
                    Path dir = versionDir(data, r.getString(1), r.getString(2), r.getInt(3));
                    Path w = dir.resolve("adapter_model.safetensors");
                    assertTrue(Files.isRegularFile(dir.resolve("adapter_config.json")) && Files.isRegularFile(w),
                            where + "version row " + id + " without its files in " + dir);
                    assertEquals(r.getLong(4), Files.size(w), where + id + ": size on disk");
                    assertEquals(r.getString(5), sha256(Files.readAllBytes(w)), where + id + ": sha256 on disk");
                }
            }
            try (ResultSet r = s.executeQuery("SELECT a.name, a.active_version, v.state FROM adapters a LEFT JOIN adapter_versions v"
                    + " ON a.tenant = v.tenant AND a.name = v.name AND a.active_version = v.version WHERE a.active_version IS NOT NULL")) {
                while (r.next()) {
                    assertEquals("ready", r.getString(3), where + "torn alias " + r.getString(1) + " -> " + r.getInt(2));
                }
            }
        }
        int orphans = 0;
        for (String dir : versionFolders(data)) {
            if (!rows.contains(dir)) {
                orphans++;
            }
        }
        return orphans;
    }

    private static boolean stagingLeft(Path data) throws java.io.IOException {
        try (DirectoryStream<Path> staging = Files.newDirectoryStream(data.resolve("tmp"), "publish-*")) {
            return staging.iterator().hasNext();
        } catch (java.nio.file.NoSuchFileException none) {
            return false; // nothing staged yet
        }
    }

    /** Every adapter version the running gateway lists, as {@code default/<name>/<version>}. */
    private Set<String> registryVersions() {
        Set<String> out = new TreeSet<>();
        List<Map<String, Object>> adapters = gateway.api().get("/v1/adapters").then().statusCode(200).extract().jsonPath().getList("data");
        for (Map<String, Object> a : adapters) {
            String name = (String) a.get("name");
            List<Map<String, Object>> versions = gateway.api().get("/v1/adapters/" + name).then().statusCode(200).extract()
                    .jsonPath().getList("versions");
            for (Map<String, Object> v : versions) {
                out.add("default/" + name + "/" + v.get("version"));
            }
        }
        return out;
    }

    /** With the gateway running again after a kill. */
    private void checkRunning(Path data, int kill) throws Exception {
        String where = "after restart " + kill + " (seed " + SEED + ", data " + data + "): ";
        for (String path : List.of("/v1/models", "/v1/adapters", "/v1/files", "/v1/fine_tuning/jobs", "/q/health/ready")) {
            assertEquals(200, gateway.api().get(path).statusCode(), where + "GET " + path);
        }
        // Versions over REST = version folders on disk (no folder without a row once the sweep ran).
        List<Map<String, Object>> adapters = gateway.api().get("/v1/adapters").then().statusCode(200).extract().jsonPath().getList("data");
        Map<String, String> shaById = new HashMap<>();
        Set<String> listed = new TreeSet<>();
        for (Map<String, Object> a : adapters) {
            String name = (String) a.get("name");
            JsonPath one = gateway.api().get("/v1/adapters/" + name).then().statusCode(200).extract().jsonPath();
            int active = one.getInt("active_version");
            List<Map<String, Object>> versions = one.getList("versions");
            for (Map<String, Object> v : versions) {
                int version = (Integer) v.get("version");
                listed.add("default/" + name + "/" + version);
                shaById.put(name + "@" + version, (String) v.get("sha256"));
                assertEquals("ready", v.get("state"), where + name + "@" + version);
            }
            assertTrue(shaById.containsKey(name + "@" + active), where + "alias " + name + " -> missing version " + active);
            synchronized (known) {
                if (known.active.containsKey(name)) {
                    Set<Integer> allowed = new TreeSet<>();
                    allowed.add(known.active.get(name));
                    if (known.pending.containsKey(name)) {
                        allowed.add(known.pending.get(name));
                    }
                    assertTrue(allowed.contains(active), where + "alias " + name + " is @" + active + "; it was set to " + allowed);
                    known.active.put(name, active);
                    known.pending.remove(name);
                }
            }
            // the alias serves
            gateway.api().contentType(ContentType.JSON)
                    .body("{\"model\": \"" + name + "\", \"prompt\": \"hi\", \"max_tokens\": 2, \"temperature\": 0}")
                    .post("/v1/completions").then().statusCode(200);
        }
        // A resumed job may publish between the listing above and this one: every version listed has its
        // folder, and every folder has a version in a listing taken after the disk's.
        Set<String> onDisk = new TreeSet<>(versionFolders(data));
        assertTrue(onDisk.containsAll(listed), where + "versions without their folder: listed " + listed + ", on disk " + onDisk);
        Set<String> after = registryVersions();
        assertTrue(after.containsAll(onDisk), where + "version folders without a row: on disk " + onDisk + ", listed " + after);
        // The start-up sweep removed what the kill left; a resumed job may be publishing right now, so
        // a staging folder must be gone within a few seconds, not at once.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (stagingLeft(data)) {
            assertTrue(System.nanoTime() < deadline, where + "staging folders left in " + data.resolve("tmp"));
            Thread.sleep(100);
        }
        // Every acknowledged upload is there, with its bytes.
        synchronized (known) {
            for (Ack a : known.uploads) {
                String id = a.name() + "@" + a.version();
                assertEquals(a.sha256(), shaById.get(id), where + "acknowledged upload " + id);
                Path w = versionDir(data, "default", a.name(), a.version()).resolve("adapter_model.safetensors");
                assertEquals(a.sha256(), sha256(Files.readAllBytes(w)), where + id + " on disk");
            }
        }
        // Every job resumes or has ended; a failure carries its reason.
        for (String id : known.jobs) {
            JsonPath j = gateway.api().get("/v1/fine_tuning/jobs/" + id).then().statusCode(200).extract().jsonPath();
            String status = j.getString("status");
            assertTrue(Set.of("validating_files", "queued", "running", "succeeded", "failed", "cancelled").contains(status), where + j.prettify());
            if ("failed".equals(status)) {
                assertNotNull(j.getString("error.message"), where + "a failed job without a reason: " + j.prettify());
                fail(where + "job failed after a kill: " + j.getString("error.message"));
            }
            if ("succeeded".equals(status)) {
                assertTrue(j.getString("fine_tuned_model").startsWith(JOB_SUFFIX + "@"), j.prettify());
            }
        }
    }

    private static Set<String> versionFolders(Path data) throws Exception {
        Set<String> out = new TreeSet<>();
        Path root = data.resolve("adapters");
        if (!Files.isDirectory(root)) {
            return out;
        }
        try (var tenants = Files.list(root)) {
            for (Path t : tenants.toList()) {
                try (var names = Files.list(t)) {
                    for (Path n : names.toList()) {
                        try (var versions = Files.list(n)) {
                            versions.forEach(v -> out.add(t.getFileName() + "/" + n.getFileName() + "/" + v.getFileName()));
                        }
                    }
                }
            }
        }
        return out;
    }

    private static Path versionDir(Path data, String tenant, String name, int version) {
        return data.resolve("adapters").resolve(tenant).resolve(name).resolve(Integer.toString(version));
    }

    /** The fixture adapter with its last float (inside the last tensor's data) replaced: a valid adapter, different bytes. */
    static byte[] variant(byte[] weights, int k) {
        byte[] w = weights.clone();
        ByteBuffer.wrap(w, w.length - 4, 4).order(ByteOrder.LITTLE_ENDIAN).putFloat(k * 1e-4f);
        return w;
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
