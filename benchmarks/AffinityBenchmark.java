import ai.djl.Device;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.model.BaseModel;
import io.loragate.model.LinearShape;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Adapter affinity across replicas (run by {@code benchmarks/affinity.sh}, which starts the cluster):
 * the same seeded Zipf(s) sequence of streaming completions over M adapters is sent once through
 * HAProxy with consistent hashing on the adapter and once through HAProxy with round-robin, with a
 * fixed number of closed-loop clients. Each mode starts from empty adapter caches (every adapter is
 * unloaded on every replica), is warmed up with another sequence of the same popularity, and is then
 * measured: cache hits, misses and cold loads as deltas of each replica's {@code /q/metrics}, TTFT and
 * throughput as the client sees them. Prints one JSON object.
 *
 * <p>The warm-up of a mode sends every adapter once (in a seeded shuffled order), then
 * {@code --warmup-requests} of the popularity, so that the measured window starts from the mode's
 * steady state instead of counting each adapter's first use.
 */
public class AffinityBenchmark {

    static final class Options {
        List<String> replicas = List.of();
        String affinityUrl;
        String roundRobinUrl;
        java.nio.file.Path modelPath;
        int adapters = 300;
        double zipf = 1.0;
        int rank = 4;
        double alpha = 8;
        List<String> targets = List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");
        int clients = 6;
        int requests = 1500;
        int warmupRequests = 600;
        int maxTokens = 16;
        int promptTokens = 32;
        long seed = 42;
        int cacheAdapters = 100;

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
                        case "replicas" -> o.replicas = List.of(v.split(","));
                        case "affinity-url" -> o.affinityUrl = v;
                        case "round-robin-url" -> o.roundRobinUrl = v;
                        case "model-path" -> o.modelPath = java.nio.file.Path.of(v);
                        case "adapters" -> o.adapters = Integer.parseInt(v);
                        case "zipf" -> o.zipf = Double.parseDouble(v);
                        case "rank" -> o.rank = Integer.parseInt(v);
                        case "alpha" -> o.alpha = Double.parseDouble(v);
                        case "targets" -> o.targets = List.of(v.split(","));
                        case "clients" -> o.clients = Integer.parseInt(v);
                        case "requests" -> o.requests = Integer.parseInt(v);
                        case "warmup-requests" -> o.warmupRequests = Integer.parseInt(v);
                        case "max-tokens" -> o.maxTokens = Integer.parseInt(v);
                        case "prompt-tokens" -> o.promptTokens = Integer.parseInt(v);
                        case "seed" -> o.seed = Long.parseLong(v);
                        case "cache-adapters" -> o.cacheAdapters = Integer.parseInt(v);
                        default -> usage("unknown option " + k);
                    }
                } catch (NumberFormatException e) {
                    usage("option " + k + " needs a number, got '" + v + "'");
                }
            }
            if (o.modelPath == null) {
                usage("--model-path (the base model folder the replicas serve) is required");
            }
            if ((o.replicas.isEmpty() || o.affinityUrl == null || o.roundRobinUrl == null)) {
                usage("--replicas, --affinity-url and --round-robin-url are required");
            }
            if (o.adapters < 1 || o.clients < 1 || o.requests < 1 || o.rank < 1) {
                usage("--adapters, --clients, --requests and --rank must be at least 1");
            }
            return o;
        }

        /** LoadGenerator's options for its REST helpers (registration, streaming, metrics) against one URL. */
        LoadGenerator.Options forUrl(String url) {
            LoadGenerator.Options g = new LoadGenerator.Options();
            g.url = url.replaceAll("/+$", "");
            g.modelPath = modelPath;
            g.adapters = adapters;
            g.rank = rank;
            g.alpha = alpha;
            g.targets = targets;
            g.seed = seed;
            g.clients = clients;
            g.promptTokens = promptTokens;
            g.timeoutSeconds = 300;
            g.prefix = "affinity-r" + rank + "-";
            return g;
        }
    }

    static void usage(String error) {
        System.err.println("error: " + error);
        System.err.println("""
                usage: benchmarks/run.sh AffinityBenchmark --model-path DIR --replicas URL,URL,URL \\
                         --affinity-url URL --round-robin-url URL [options]
                  --adapters M (300) --zipf S (1.0) --rank R (4) --alpha A (8) --targets q_proj,... (all 7 Llama linears)
                  --clients N (6) --requests N (1500, per mode) --warmup-requests N (600, per mode)
                  --max-tokens N (16) --prompt-tokens N (32) --seed N (42) --cache-adapters K (100: what the script sized the cache for; checked against the replicas' budget)""");
        System.exit(2);
    }

    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
        List<LoadGenerator.Rest> replicas = o.replicas.stream().map(u -> new LoadGenerator.Rest(http, o.forUrl(u))).toList();
        LoadGenerator.Rest first = replicas.get(0);
        long t0 = System.nanoTime();
        List<String> names = LoadGenerator.registerAdapters(o.forUrl(o.replicas.get(0)), first);
        double registerSeconds = (System.nanoTime() - t0) / 1e9;
        String base = first.getJson("/v1/models").path("data").path(0).path("id").asText();
        LoadGenerator.Prompts prompts = LoadGenerator.Prompts.calibrate(o.forUrl(o.replicas.get(0)), first, base);

        ObjectNode out = LoadGenerator.JSON.createObjectNode();
        out.put("benchmark", "AffinityBenchmark");
        out.put("date", Instant.now().toString());
        ObjectNode settings = settings(o, names.size(), registerSeconds, prompts);
        double budget = sum(first.metrics(), "loragate_adapter_cache_budget_bytes");
        settings.put("cache_budget_bytes", (long) budget);
        settings.put("cache_holds_adapters", (long) (budget / adapterBytes(o)));
        out.set("settings", settings);
        ArrayNode modes = out.putArray("modes");
        ObjectNode affinity = runMode("consistent_hash", o.affinityUrl, o, http, replicas, names, prompts);
        modes.add(affinity);
        ObjectNode roundRobin = runMode("round_robin", o.roundRobinUrl, o, http, replicas, names, prompts);
        modes.add(roundRobin);
        out.set("comparison", comparison(affinity, roundRobin));
        System.out.println(LoadGenerator.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(out));
    }

    /** Device bytes of one adapter as {@code LoraAdapter.bytes()} counts them: A and B in float32. */
    static long adapterBytes(Options o) {
        long floats = 0;
        try (BaseModel model = BaseModel.load(o.modelPath, Device.cpu())) {
            for (LinearShape l : model.linears().values()) {
                if (o.targets.contains(l.module().substring(l.module().lastIndexOf('.') + 1))) {
                    floats += (long) o.rank * (l.in() + l.out());
                }
            }
        }
        return 4 * floats;
    }

    static ObjectNode settings(Options o, int adapters, double registerSeconds, LoadGenerator.Prompts prompts) {
        ObjectNode s = LoadGenerator.JSON.createObjectNode();
        s.put("replicas", o.replicas.size());
        s.put("adapters", adapters);
        s.put("zipf", o.zipf);
        s.put("lora_rank", o.rank);
        s.put("lora_targets", String.join(",", o.targets));
        s.put("adapter_device_bytes", adapterBytes(o));
        s.put("cache_sized_for_adapters", o.cacheAdapters);
        s.put("clients", o.clients);
        s.put("requests_per_mode", o.requests);
        s.put("warmup_requests_per_mode", o.warmupRequests);
        s.put("max_tokens", o.maxTokens);
        s.set("prompt_tokens", prompts.stats());
        s.put("seed", o.seed);
        s.put("registration_s", LoadGenerator.round(registerSeconds));
        s.put("ideal_hit_rate_top_k", LoadGenerator.round(topShare(adapters, o.zipf, o.cacheAdapters)));
        return s;
    }

    /** The share of requests that go to the K most popular of M adapters: one cache's best hit rate when it sees all M. */
    static double topShare(int m, double s, int k) {
        double top = 0;
        double all = 0;
        for (int i = 1; i <= m; i++) {
            double p = 1 / Math.pow(i, s);
            all += p;
            top += i <= k ? p : 0;
        }
        return top / all;
    }

    // ---------------------------------------------------------------------------------------------
    // one mode

    static ObjectNode runMode(String name, String url, Options o, HttpClient http, List<LoadGenerator.Rest> replicas,
            List<String> names, LoadGenerator.Prompts prompts) throws Exception {
        LoadGenerator.Rest router = new LoadGenerator.Rest(http, o.forUrl(url));
        System.err.printf("mode %s via %s: unloading every adapter on every replica%n", name, url);
        unloadAll(http, o, names);
        System.err.printf("mode %s: warm-up, every adapter once then %d requests%n", name, o.warmupRequests);
        drive(router, o, sweep(names.size(), prompts, o.seed), names, prompts);
        drive(router, o, sequence(o, names.size(), prompts, o.warmupRequests, o.seed ^ 0x5eedL), names, prompts);
        List<Map<String, Double>> before = replicas.stream().map(LoadGenerator.Rest::metrics).toList();
        System.err.printf("mode %s: measuring, %d requests, %d clients%n", name, o.requests, o.clients);
        long start = System.nanoTime();
        List<Result> results = drive(router, o, sequence(o, names.size(), prompts, o.requests, o.seed), names, prompts);
        long end = System.nanoTime();
        List<Map<String, Double>> after = replicas.stream().map(LoadGenerator.Rest::metrics).toList();
        ObjectNode j = clientView(name, url, results, start, end);
        serverView(j, before, after, (end - start) / 60e9);
        return j;
    }

    /** Unloads every adapter on every replica (an adapter not resident answers 200 too), so each mode starts cold. */
    static void unloadAll(HttpClient http, Options o, List<String> names) throws Exception {
        for (String replica : o.replicas) {
            for (String n : names) {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(replica + "/v1/adapters/" + n + "/unload"))
                        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() != 200) {
                    throw new IllegalStateException("unload " + n + " on " + replica + " answered " + r.statusCode() + ": " + r.body());
                }
            }
        }
    }

    /** A request of the sequence: which adapter (by popularity rank) and which prompt. */
    record Step(int adapter, int prompt) {
    }

    static List<Step> sequence(Options o, int adapters, LoadGenerator.Prompts prompts, int n, long seed) {
        LoadGenerator.Zipf zipf = LoadGenerator.Zipf.of(adapters, o.zipf);
        SplittableRandom rnd = new SplittableRandom(seed);
        List<Step> steps = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            steps.add(new Step(zipf.sample(rnd), rnd.nextInt(prompts.texts().size())));
        }
        return steps;
    }

    /** Every adapter once, in a seeded shuffled order. */
    static List<Step> sweep(int adapters, LoadGenerator.Prompts prompts, long seed) {
        List<Step> steps = new ArrayList<>(adapters);
        for (int i = 0; i < adapters; i++) {
            steps.add(new Step(i, i % prompts.texts().size()));
        }
        java.util.Collections.shuffle(steps, new java.util.Random(seed));
        return steps;
    }

    /** What one request observed: start, first token and end (nanoTime), tokens, error or null. */
    record Result(long start, long firstToken, long end, int tokens, String error) {
    }

    /** Closed loop: each client takes the next step of the sequence as soon as its previous request ended. */
    static List<Result> drive(LoadGenerator.Rest router, Options o, List<Step> steps, List<String> names, LoadGenerator.Prompts prompts)
            throws InterruptedException {
        Result[] results = new Result[steps.size()];
        AtomicInteger next = new AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < o.clients; c++) {
            Thread t = new Thread(() -> {
                for (int i = next.getAndIncrement(); i < steps.size(); i = next.getAndIncrement()) {
                    Step s = steps.get(i);
                    long[] first = {0};
                    int[] tokens = {0};
                    long t0 = System.nanoTime();
                    String error = router.stream(names.get(s.adapter()), prompts.texts().get(s.prompt()), o.maxTokens, now -> {
                        if (tokens[0]++ == 0) {
                            first[0] = now;
                        }
                    });
                    results[i] = new Result(t0, first[0], System.nanoTime(), tokens[0], error);
                }
            }, "affinity-client-" + c);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        return Arrays.asList(results);
    }

    static ObjectNode clientView(String name, String url, List<Result> results, long start, long end) {
        double seconds = (end - start) / 1e9;
        List<Result> ok = results.stream().filter(r -> r.error() == null).toList();
        ObjectNode j = LoadGenerator.JSON.createObjectNode();
        j.put("mode", name);
        j.put("url", url);
        j.put("elapsed_s", LoadGenerator.round(seconds));
        j.put("requests_completed", ok.size());
        j.put("requests_failed", results.size() - ok.size());
        j.put("throughput_requests_per_s", LoadGenerator.round(ok.size() / seconds));
        j.put("throughput_tokens_per_s", LoadGenerator.round(ok.stream().mapToLong(Result::tokens).sum() / seconds));
        j.set("ttft_ms", LoadGenerator.percentiles(ok.stream().filter(r -> r.tokens() > 0)
                .mapToDouble(r -> (r.firstToken() - r.start()) / 1e6).toArray()));
        j.set("e2e_ms", LoadGenerator.percentiles(ok.stream().mapToDouble(r -> (r.end() - r.start()) / 1e6).toArray()));
        ObjectNode errors = j.putObject("errors");
        results.stream().filter(r -> r.error() != null)
                .collect(java.util.stream.Collectors.groupingBy(Result::error, java.util.TreeMap::new, java.util.stream.Collectors.counting()))
                .forEach(errors::put);
        return j;
    }

    /** The replicas' own counters over the measured window: cache hits, misses, cold loads, evictions, per replica and summed. */
    static void serverView(ObjectNode j, List<Map<String, Double>> before, List<Map<String, Double>> after, double minutes) {
        ArrayNode per = j.putArray("per_replica");
        double hits = 0;
        double misses = 0;
        double loads = 0;
        double evictions = 0;
        for (int i = 0; i < before.size(); i++) {
            double h = delta(before.get(i), after.get(i), "loragate_adapter_cache_hits_total");
            double m = delta(before.get(i), after.get(i), "loragate_adapter_cache_misses_total");
            double l = delta(before.get(i), after.get(i), "loragate_adapter_cold_load_seconds_count");
            double e = delta(before.get(i), after.get(i), "loragate_adapter_cache_evictions_total");
            ObjectNode r = per.addObject();
            r.put("replica", i + 1);
            r.put("acquires", (long) (h + m));
            r.put("hits", (long) h);
            r.put("misses", (long) m);
            r.put("cold_loads", (long) l);
            r.put("evictions", (long) e);
            r.put("resident_after", (long) sum(after.get(i), "loragate_adapter_cache_resident"));
            r.put("hit_rate", LoadGenerator.round(h + m == 0 ? 0 : h / (h + m)));
            hits += h;
            misses += m;
            loads += l;
            evictions += e;
        }
        j.put("cache_hits", (long) hits);
        j.put("cache_misses", (long) misses);
        j.put("cache_hit_rate", LoadGenerator.round(hits + misses == 0 ? 0 : hits / (hits + misses)));
        j.put("cold_loads", (long) loads);
        j.put("cold_loads_per_min", LoadGenerator.round(loads / minutes));
        j.put("evictions", (long) evictions);
    }

    /** The change of a metric summed over its label sets (a metric may carry tags). */
    static double delta(Map<String, Double> before, Map<String, Double> after, String name) {
        return sum(after, name) - sum(before, name);
    }

    static double sum(Map<String, Double> m, String name) {
        return m.entrySet().stream().filter(e -> e.getKey().equals(name) || e.getKey().startsWith(name + "{"))
                .mapToDouble(Map.Entry::getValue).sum();
    }

    /**
     * Both modes serve the same sequence of requests, so the cold-load ratio is taken on the counts
     * (cold loads per request); the per-minute ratio also moves with each mode's throughput, which on a
     * shared machine is the load of the moment as much as the routing (reported, not judged).
     */
    static ObjectNode comparison(ObjectNode affinity, ObjectNode roundRobin) {
        ObjectNode c = LoadGenerator.JSON.createObjectNode();
        double hit = affinity.path("cache_hit_rate").asDouble();
        double loadsA = affinity.path("cold_loads").asDouble();
        double loadsR = roundRobin.path("cold_loads").asDouble();
        c.put("hit_rate_affinity", hit);
        c.put("hit_rate_round_robin", roundRobin.path("cache_hit_rate").asDouble());
        c.put("cold_loads_affinity", (long) loadsA);
        c.put("cold_loads_round_robin", (long) loadsR);
        if (loadsA > 0) {
            c.put("cold_loads_round_robin_over_affinity", LoadGenerator.round(loadsR / loadsA));
            c.put("cold_loads_per_min_round_robin_over_affinity", LoadGenerator.round(roundRobin.path("cold_loads_per_min").asDouble()
                    / affinity.path("cold_loads_per_min").asDouble()));
        } else {
            c.putNull("cold_loads_round_robin_over_affinity"); // no cold load with affinity: the ratio is unbounded
            c.putNull("cold_loads_per_min_round_robin_over_affinity");
        }
        c.put("throughput_affinity_over_round_robin", LoadGenerator.round(affinity.path("throughput_tokens_per_s").asDouble()
                / roundRobin.path("throughput_tokens_per_s").asDouble()));
        c.put("target_hit_rate", 0.9);
        c.put("target_cold_load_ratio", 2.0);
        c.put("meets_targets", hit >= 0.9 && (loadsA == 0 ? loadsR > 0 : loadsR / loadsA >= 2));
        return c;
    }
}
