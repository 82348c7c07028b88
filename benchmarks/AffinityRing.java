import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where HAProxy's consistent-hash ring puts the affinity benchmark's adapters, and what hit rate that
 * placement allows, without models (seconds instead of the full {@code affinity.sh} run):
 * <ol>
 * <li>runs the real {@code haproxy} with each given configuration in front of three stand-in
 * replicas (JDK HTTP servers that answer which replica they are) and sends one request per adapter,
 * one at a time (so bounded load never spills): how many adapters, and how much of the Zipf mass,
 * each replica owns;</li>
 * <li>replays {@code AffinityBenchmark}'s exact request sequence (the same seeds: every adapter once,
 * the warm-up, the measured window) with its closed-loop clients through that HAProxy, the stand-ins
 * answering after a random service time: which replica served each request, so how often bounded
 * load spilled a request off its adapter's replica;</li>
 * <li>replays both placements through simulated caches of {@code --cache-adapters} slots per
 * replica ({@link CacheReplay}: real Caffeine as the gateway builds it, and LRU), with the reference
 * points: a perfect partition, uniformly random placements (a ring with infinitely many points), and
 * round-robin.</li>
 * </ol>
 * Prints one JSON object.
 */
public class AffinityRing {

    static final Pattern MODEL = Pattern.compile("\"model\"\\s*:\\s*\"([^\"]*)\"");

    static final class Options {
        List<Path> configs = new ArrayList<>();
        int adapters = 300;
        double zipf = 1.0;
        int cacheAdapters = 100;
        String prefix = "affinity-r4-";
        int clients = 6;
        int requests = 750;
        int warmupRequests = 450;
        long seed = 42;
        int serveMs = 40;
        int randomPlacements = 200;
        String authorization;
        String baseModel = "tiny-llama";

        static Options parse(String[] args) {
            Options o = new Options();
            for (int i = 0; i < args.length; i++) {
                String k = args[i];
                if (!k.startsWith("--") || i + 1 >= args.length) {
                    usage("expected --option value, got '" + k + "'");
                }
                String v = args[++i];
                try {
                    switch (k.substring(2)) {
                        case "config" -> o.configs.add(Path.of(v));
                        case "adapters" -> o.adapters = Integer.parseInt(v);
                        case "zipf" -> o.zipf = Double.parseDouble(v);
                        case "cache-adapters" -> o.cacheAdapters = Integer.parseInt(v);
                        case "prefix" -> o.prefix = v;
                        case "clients" -> o.clients = Integer.parseInt(v);
                        case "requests" -> o.requests = Integer.parseInt(v);
                        case "warmup-requests" -> o.warmupRequests = Integer.parseInt(v);
                        case "seed" -> o.seed = Long.parseLong(v);
                        case "serve-ms" -> o.serveMs = Integer.parseInt(v);
                        case "random-placements" -> o.randomPlacements = Integer.parseInt(v);
                        case "authorization" -> o.authorization = v;
                        case "base-model" -> o.baseModel = v;
                        default -> usage("unknown option " + k);
                    }
                } catch (NumberFormatException e) {
                    usage("option " + k + " needs a number, got '" + v + "'");
                }
            }
            if (o.configs.isEmpty()) {
                usage("at least one --config (an HAProxy configuration like deployment/haproxy/haproxy.cfg) is required");
            }
            for (Path c : o.configs) {
                if (!Files.isRegularFile(c)) {
                    usage("--config " + c + " is not a file");
                }
            }
            if (o.adapters < 1 || o.clients < 1 || o.requests < 1 || o.cacheAdapters < 1 || o.serveMs < 0) {
                usage("--adapters, --clients, --requests and --cache-adapters must be at least 1, --serve-ms at least 0");
            }
            return o;
        }
    }

    static void usage(String error) {
        System.err.println("error: " + error);
        System.err.println("""
                usage: benchmarks/run.sh AffinityRing --config haproxy.cfg [--config other.cfg ...] [options]
                  --adapters M (300) --zipf S (1.0) --cache-adapters K (100) --prefix P (affinity-r4-: AffinityBenchmark's names)
                  --clients N (6) --requests N (750) --warmup-requests N (450) --seed N (42): AffinityBenchmark's sequence
                  --serve-ms MS (40: the stand-ins' mean service time) --random-placements N (200)
                  --authorization VALUE (none: the benchmark sends none) --base-model ID (tiny-llama)""");
        System.exit(2);
    }

    /** One stand-in replica: answers health checks, and any /v1/ request with its number after the service delay. */
    static final class StandIn {
        final int index;
        final HttpServer server;
        final AtomicInteger healthChecks = new AtomicInteger();
        volatile int serveMs;

        StandIn(int index) throws IOException {
            this.index = index;
            this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 200);
            server.setExecutor(Executors.newCachedThreadPool());
            server.createContext("/q/health/ready", ex -> {
                healthChecks.incrementAndGet();
                ex.sendResponseHeaders(200, 2);
                ex.getResponseBody().write("UP".getBytes(StandardCharsets.UTF_8));
                ex.close();
            });
            server.createContext("/v1/", ex -> {
                ex.getRequestBody().readAllBytes();
                if (serveMs > 0) { // uniform in [0.5, 1.5] x the mean: requests overlap unevenly, as real ones do
                    sleep((long) (serveMs * (0.5 + ThreadLocalRandom.current().nextDouble())));
                }
                byte[] out = ("{\"replica\":" + index + "}").getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(200, out.length);
                ex.getResponseBody().write(out);
                ex.close();
            });
            server.start();
        }

        String address() {
            return "127.0.0.1:" + server.getAddress().getPort();
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        int[] sweep = ranks(AffinityBenchmark.sweep(o.adapters, prompts(o), o.seed));
        int[] warm = ranks(AffinityBenchmark.sequence(benchOptions(o), o.adapters, prompts(o), o.warmupRequests, o.seed ^ 0x5eedL));
        int[] measured = ranks(AffinityBenchmark.sequence(benchOptions(o), o.adapters, prompts(o), o.requests, o.seed));
        int[] all = concat(sweep, warm, measured);
        int countFrom = sweep.length + warm.length;
        double[] mass = zipfMass(o.adapters, o.zipf);

        ObjectNode out = LoadGenerator.JSON.createObjectNode();
        out.put("benchmark", "AffinityRing");
        out.put("date", Instant.now().toString());
        ObjectNode s = out.putObject("settings");
        s.put("replicas", 3);
        s.put("adapters", o.adapters);
        s.put("zipf", o.zipf);
        s.put("cache_adapters_per_replica", o.cacheAdapters);
        s.put("clients", o.clients);
        s.put("sequence", "AffinityBenchmark's: every adapter once, " + o.warmupRequests + " warm-up, " + o.requests
                + " measured (seed " + o.seed + ")");
        s.put("stand_in_serve_ms", o.serveMs);
        s.put("hash_key", "<adapter>|" + (o.authorization == null ? "" : "<authorization>"));
        s.put("top_k_share", LoadGenerator.round(AffinityBenchmark.topShare(o.adapters, o.zipf, o.cacheAdapters)));
        out.set("reference", reference(o, all, countFrom, mass));

        ArrayNode configs = out.putArray("configs");
        List<StandIn> standIns = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            standIns.add(new StandIn(i));
        }
        try {
            for (Path cfg : o.configs) {
                configs.add(probe(o, cfg, standIns, sweep, warm, measured, all, countFrom, mass));
            }
        } finally {
            standIns.forEach(r -> r.server.stop(0));
        }
        System.out.println(LoadGenerator.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(out));
        System.exit(0); // the stand-ins' executors hold non-daemon threads
    }

    static AffinityBenchmark.Options benchOptions(Options o) {
        AffinityBenchmark.Options b = new AffinityBenchmark.Options();
        b.zipf = o.zipf;
        b.clients = o.clients;
        return b;
    }

    /** As many prompts as AffinityBenchmark calibrates (their count draws from the same random stream). */
    static LoadGenerator.Prompts prompts(Options o) {
        int n = Math.max(16, 2 * o.clients);
        return new LoadGenerator.Prompts(java.util.Collections.nCopies(n, "p"), new int[n]);
    }

    static int[] ranks(List<AffinityBenchmark.Step> steps) {
        return steps.stream().mapToInt(AffinityBenchmark.Step::adapter).toArray();
    }

    static int[] concat(int[]... parts) {
        int[] out = new int[Arrays.stream(parts).mapToInt(p -> p.length).sum()];
        int at = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    /** The Zipf probability of each rank (0 = most popular). */
    static double[] zipfMass(int m, double s) {
        double[] p = new double[m];
        double sum = 0;
        for (int i = 0; i < m; i++) {
            p[i] = 1 / Math.pow(i + 1, s);
            sum += p[i];
        }
        for (int i = 0; i < m; i++) {
            p[i] /= sum;
        }
        return p;
    }

    // ---------------------------------------------------------------------------------------------
    // reference points (no HAProxy)

    static ObjectNode reference(Options o, int[] all, int countFrom, double[] mass) {
        ObjectNode r = LoadGenerator.JSON.createObjectNode();
        // perfect partition: ranks dealt round the replicas, so each owns exactly M/3 adapters
        int[] dealt = new int[o.adapters];
        for (int a = 0; a < o.adapters; a++) {
            dealt[a] = a % 3;
        }
        r.set("perfect_partition", hitRates(viaPlacement(all, dealt), o, all, countFrom));
        // round-robin: HAProxy hands requests to the replicas in turn
        int[] turns = new int[all.length];
        for (int i = 0; i < all.length; i++) {
            turns[i] = i % 3;
        }
        ObjectNode rr = hitRates(turns, o, all, countFrom);
        // the benchmark measures round-robin after consistent hashing on the same replicas: unloading
        // keeps Caffeine's frequency sketch, so round-robin starts with the affinity mode's history
        CacheReplay.ReplicaCache[] used = CacheReplay.caches(CacheReplay.Policy.CAFFEINE, 3, o.cacheAdapters);
        CacheReplay.replay(used, all, viaPlacement(all, dealt), all.length);
        for (CacheReplay.ReplicaCache c : used) {
            c.unloadAll();
        }
        rr.put("caffeine_after_affinity_mode", LoadGenerator.round(CacheReplay.replay(used, all, turns, countFrom).hitRate()));
        r.set("round_robin", rr);
        // is the warm-up long enough? the same measured window after a 10x longer warm-up
        int sweepLength = o.adapters;
        int[] longWarm = ranks(AffinityBenchmark.sequence(benchOptions(o), o.adapters, prompts(o), 10 * o.warmupRequests,
                o.seed ^ 0x10_5eedL));
        int[] allLong = concat(Arrays.copyOf(all, sweepLength), longWarm, Arrays.copyOfRange(all, countFrom, all.length));
        int[] turnsLong = new int[allLong.length];
        for (int i = 0; i < allLong.length; i++) {
            turnsLong[i] = i % 3;
        }
        rr.put("caffeine_after_10x_warmup", LoadGenerator.round(replay(CacheReplay.Policy.CAFFEINE, o, allLong, turnsLong,
                sweepLength + longWarm.length).hitRate()));
        rr.put("lru_after_10x_warmup", LoadGenerator.round(replay(CacheReplay.Policy.LRU, o, allLong, turnsLong,
                sweepLength + longWarm.length).hitRate()));
        // uniformly random placements: what a hash ring with infinitely many points gives on average
        SplittableRandom rnd = new SplittableRandom(o.seed);
        double[] caffeine = new double[o.randomPlacements];
        double[] lru = new double[o.randomPlacements];
        double[] maxKeys = new double[o.randomPlacements];
        for (int t = 0; t < o.randomPlacements; t++) {
            int[] place = new int[o.adapters];
            int[] keys = new int[3];
            for (int a = 0; a < o.adapters; a++) {
                place[a] = rnd.nextInt(3);
                keys[place[a]]++;
            }
            int[] via = viaPlacement(all, place);
            caffeine[t] = replay(CacheReplay.Policy.CAFFEINE, o, all, via, countFrom).hitRate();
            lru[t] = replay(CacheReplay.Policy.LRU, o, all, via, countFrom).hitRate();
            maxKeys[t] = Arrays.stream(keys).max().orElse(0);
        }
        ObjectNode u = r.putObject("uniform_random_placement");
        u.put("placements", o.randomPlacements);
        u.set("max_adapters_on_one_replica", LoadGenerator.percentiles(maxKeys));
        u.set("hit_rate_caffeine", LoadGenerator.percentiles(caffeine));
        u.set("hit_rate_lru", LoadGenerator.percentiles(lru));
        return r;
    }

    static int[] viaPlacement(int[] all, int[] placement) {
        return Arrays.stream(all).map(a -> placement[a]).toArray();
    }

    static CacheReplay.Counts replay(CacheReplay.Policy policy, Options o, int[] all, int[] via, int countFrom) {
        return CacheReplay.replay(CacheReplay.caches(policy, 3, o.cacheAdapters), all, via, countFrom);
    }

    /** Hit rates of one routing of the sequence, both policies, with the measured window's misses. */
    static ObjectNode hitRates(int[] via, Options o, int[] all, int countFrom) {
        ObjectNode j = LoadGenerator.JSON.createObjectNode();
        CacheReplay.Counts c = replay(CacheReplay.Policy.CAFFEINE, o, all, via, countFrom);
        CacheReplay.Counts l = replay(CacheReplay.Policy.LRU, o, all, via, countFrom);
        j.put("caffeine", LoadGenerator.round(c.hitRate()));
        j.put("caffeine_misses", c.totalMisses());
        j.put("caffeine_per_replica", Arrays.toString(new double[] {LoadGenerator.round(c.hitRate(0)),
                LoadGenerator.round(c.hitRate(1)), LoadGenerator.round(c.hitRate(2))}));
        j.put("lru", LoadGenerator.round(l.hitRate()));
        j.put("lru_misses", l.totalMisses());
        return j;
    }

    // ---------------------------------------------------------------------------------------------
    // one HAProxy configuration

    static ObjectNode probe(Options o, Path cfg, List<StandIn> standIns, int[] sweep, int[] warm, int[] measured, int[] all,
            int countFrom, double[] mass) throws Exception {
        int port;
        try (ServerSocket sock = new ServerSocket(0)) {
            port = sock.getLocalPort();
        }
        Path log = Path.of("target", "affinity-ring-" + cfg.getFileName() + ".log");
        Files.createDirectories(log.getParent());
        ProcessBuilder pb = new ProcessBuilder("haproxy", "-db", "-f", cfg.toString()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().put("LORAGATE_LB_BIND", "127.0.0.1:" + port);
        pb.environment().put("LORAGATE_BASE_MODEL_ID", o.baseModel);
        for (int i = 0; i < 3; i++) {
            pb.environment().put("LORAGATE_REPLICA_" + (i + 1), standIns.get(i).address());
        }
        Process haproxy = pb.start();
        try {
            awaitUp(haproxy, standIns, log);
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .executor(Executors.newCachedThreadPool()).connectTimeout(Duration.ofSeconds(10)).build();
            URI url = URI.create("http://127.0.0.1:" + port + "/v1/completions");
            ObjectNode j = LoadGenerator.JSON.createObjectNode();
            j.put("config", cfg.toString());
            j.put("balance", grep(cfg, "^\\s*(hash-type|hash-balance-factor|default-server).*", "backend affinity"));

            // 1. the ring: one request per adapter, one at a time
            standIns.forEach(r -> r.serveMs = 0);
            int[] home = new int[o.adapters];
            for (int a = 0; a < o.adapters; a++) {
                home[a] = post(http, url, o, a);
            }
            int[] keys = new int[3];
            double[] share = new double[3];
            for (int a = 0; a < o.adapters; a++) {
                keys[home[a]]++;
                share[home[a]] += mass[a];
            }
            ObjectNode ring = j.putObject("ring");
            ring.put("adapters_per_replica", Arrays.toString(keys));
            ring.put("zipf_mass_per_replica", Arrays.toString(Arrays.stream(share).map(LoadGenerator::round).toArray()));
            ring.put("top10_replicas", Arrays.toString(Arrays.copyOf(home, Math.min(10, home.length))));
            ring.set("no_spill_hit_rate", hitRates(viaPlacement(all, home), o, all, countFrom));
            // is the warm-up long enough? the same measured window after a 10x longer warm-up
            int[] longWarm = ranks(AffinityBenchmark.sequence(benchOptions(o), o.adapters, prompts(o), 10 * o.warmupRequests,
                    o.seed ^ 0x10_5eedL));
            int[] allLong = concat(sweep, longWarm, measured);
            CacheReplay.Counts longer = replay(CacheReplay.Policy.CAFFEINE, o, allLong, viaPlacement(allLong, home),
                    sweep.length + longWarm.length);
            ring.put("no_spill_caffeine_after_10x_warmup", LoadGenerator.round(longer.hitRate()));

            // 2. the sequence with the benchmark's concurrency: who served what
            standIns.forEach(r -> r.serveMs = o.serveMs);
            int[] served = concat(drive(http, url, o, sweep), drive(http, url, o, warm), drive(http, url, o, measured));
            long spilled = 0;
            int[] perReplica = new int[3];
            for (int i = countFrom; i < all.length; i++) {
                spilled += served[i] != home[all[i]] ? 1 : 0;
                perReplica[served[i]]++;
            }
            ObjectNode run = j.putObject("concurrent_replay");
            run.put("measured_requests_per_replica", Arrays.toString(perReplica));
            run.put("spilled_requests", spilled);
            run.put("spilled_share", LoadGenerator.round((double) spilled / (all.length - countFrom)));
            run.set("hit_rate", hitRates(served, o, all, countFrom));
            return j;
        } finally {
            haproxy.destroy();
            haproxy.waitFor(10, TimeUnit.SECONDS);
            haproxy.destroyForcibly();
        }
    }

    /** The lines of a config's section that match a pattern, joined (to say in the JSON which settings ran). */
    static String grep(Path cfg, String regex, String section) throws IOException {
        List<String> lines = Files.readAllLines(cfg);
        List<String> hits = new ArrayList<>();
        boolean in = false;
        for (String l : lines) {
            if (!l.startsWith(" ") && !l.startsWith("\t") && !l.isBlank()) {
                in = l.trim().equals(section);
            }
            if (in && l.matches(regex)) {
                hits.add(l.trim());
            }
        }
        return String.join("; ", hits);
    }

    /** HAProxy marks a server up after 2 passing checks: wait for a few more on every stand-in. */
    static void awaitUp(Process haproxy, List<StandIn> standIns, Path log) {
        int[] base = standIns.stream().mapToInt(r -> r.healthChecks.get()).toArray();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        for (int i = 0; i < standIns.size(); i++) {
            while (standIns.get(i).healthChecks.get() < base[i] + 8) { // 4 backends check each replica
                if (!haproxy.isAlive() || System.nanoTime() > deadline) {
                    throw new IllegalStateException("HAProxy did not start or check the stand-ins; see " + log);
                }
                sleep(50);
            }
        }
    }

    static int post(HttpClient http, URI url, Options o, int adapter) {
        String name = String.format(java.util.Locale.ROOT, "%s%04d", o.prefix, adapter);
        HttpRequest.Builder b = HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + name + "\",\"prompt\":\"p\",\"max_tokens\":1}"));
        if (o.authorization != null) {
            b.header("Authorization", o.authorization);
        }
        try {
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            Matcher m = Pattern.compile("\"replica\":(\\d)").matcher(r.body());
            if (r.statusCode() != 200 || !m.find()) {
                throw new IllegalStateException("HAProxy answered " + r.statusCode() + ": " + r.body());
            }
            return Integer.parseInt(m.group(1));
        } catch (IOException e) {
            throw new IllegalStateException("request for " + name + " failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** Closed loop, as AffinityBenchmark drives: each client takes the next request when its previous one ended. */
    static int[] drive(HttpClient http, URI url, Options o, int[] adapters) throws InterruptedException {
        int[] served = new int[adapters.length];
        AtomicInteger next = new AtomicInteger();
        ConcurrentHashMap<Integer, Throwable> failures = new ConcurrentHashMap<>();
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < o.clients; c++) {
            Thread t = new Thread(() -> {
                for (int i = next.getAndIncrement(); i < adapters.length; i = next.getAndIncrement()) {
                    try {
                        served[i] = post(http, url, o, adapters[i]);
                    } catch (RuntimeException e) {
                        failures.put(i, e);
                    }
                }
            });
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        if (!failures.isEmpty()) {
            throw new IllegalStateException(failures.size() + " requests failed, e.g. " + failures.values().iterator().next());
        }
        return served;
    }
}
