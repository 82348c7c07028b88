import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.model.BaseModel;
import io.loragate.model.LinearShape;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
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
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * A tenant's request rate limit across replicas (run by {@code benchmarks/ratelimit-replicas.sh},
 * which starts the cluster with authentication on): it creates a tenant, registers its adapters, sets
 * its {@code requests_per_second}, and then, for a fixed time per phase, offers requests well above
 * that limit at a fixed rate (open loop, cheap completions of one token): (a) to one replica, (b)
 * round-robin over the replicas from the client, (c) through HAProxy's adapter affinity on one
 * adapter and on many adapters, and (d) through HAProxy for the base model (round-robin there).
 * Reports admitted (200) and refused (429) requests per second against the configured limit.
 */
public class RateLimitReplicas {

    static final class Options {
        List<String> replicas = List.of();
        String haproxy;
        String adminKey;
        Path modelPath;
        String tenant = "ratebench";
        double rps = 5;
        double duration = 20;
        double offered = 60;
        int senders = 16;
        int manyAdapters = 30;
        int rank = 4;
        double pause = 2;
        String budget = "whole";

        static Options parse(String[] args) {
            Options o = new Options();
            for (int i = 0; i + 1 < args.length; i += 2) {
                String v = args[i + 1];
                switch (args[i]) {
                    case "--replicas" -> o.replicas = List.of(v.split(","));
                    case "--haproxy" -> o.haproxy = v;
                    case "--admin-key" -> o.adminKey = v;
                    case "--model-path" -> o.modelPath = Path.of(v);
                    case "--tenant" -> o.tenant = v;
                    case "--rps" -> o.rps = Double.parseDouble(v);
                    case "--duration" -> o.duration = Double.parseDouble(v);
                    case "--offered" -> o.offered = Double.parseDouble(v);
                    case "--senders" -> o.senders = Integer.parseInt(v);
                    case "--many-adapters" -> o.manyAdapters = Integer.parseInt(v);
                    case "--rank" -> o.rank = Integer.parseInt(v);
                    case "--pause" -> o.pause = Double.parseDouble(v);
                    case "--budget" -> o.budget = v;
                    default -> usage("unknown option " + args[i]);
                }
            }
            if (args.length % 2 != 0 || o.replicas.isEmpty() || o.haproxy == null || o.adminKey == null || o.modelPath == null) {
                usage("--replicas, --haproxy, --admin-key and --model-path are required");
            }
            if (o.rps <= 0 || o.offered <= o.rps || o.duration <= 0 || o.senders < 1 || o.manyAdapters < 1) {
                usage("--rps > 0, --offered > --rps, --duration > 0, --senders and --many-adapters >= 1");
            }
            if (!o.budget.equals("whole") && !o.budget.equals("share")) {
                usage("--budget is whole or share");
            }
            return o;
        }
    }

    static void usage(String error) {
        System.err.println("error: " + error);
        System.err.println("""
                usage: benchmarks/run.sh RateLimitReplicas --replicas URL,URL,URL --haproxy URL --admin-key KEY --model-path DIR
                  --rps R (5) the tenant's requests_per_second   --offered F (60) requests/s sent per phase
                  --duration S (20) per phase   --senders N (16) sending threads   --many-adapters M (30)
                  --tenant ID (ratebench)   --rank R (4)   --pause S (2) idle seconds before each phase (buckets refill)""");
        System.exit(2);
    }

    final Options o;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
    String key;

    RateLimitReplicas(Options o) {
        this.o = o;
    }

    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        RateLimitReplicas b = new RateLimitReplicas(o);
        List<String> adapters = b.setUp();
        String base = b.send("GET", o.replicas.get(0) + "/v1/models", null, b.key).path("data").path(0).path("id").asText();
        String first = adapters.get(0);
        ObjectNode out = LoadGenerator.JSON.createObjectNode();
        out.put("benchmark", "RateLimitReplicas");
        out.put("date", Instant.now().toString());
        ObjectNode s = out.putObject("settings");
        s.put("replicas", o.replicas.size());
        s.put("requests_per_second_limit", o.rps);
        s.put("offered_requests_per_s", o.offered);
        s.put("duration_s", o.duration);
        s.put("many_adapters", o.manyAdapters);
        s.put("rate_budget", o.budget + " (loragate.replicas.rate-budget of every replica)");
        s.put("request", "POST /v1/completions, max_tokens 1, not streamed, the tenant's key");
        ArrayNode phases = out.putArray("phases");
        phases.add(b.phase("a_one_replica", o.replicas.subList(0, 1), List.of(first), 1));
        phases.add(b.phase("b_round_robin_" + o.replicas.size() + "_replicas", o.replicas, List.of(first), o.replicas.size()));
        phases.add(b.phase("c_haproxy_affinity_one_adapter", List.of(o.haproxy), List.of(first), 1));
        phases.add(b.phase("c_haproxy_affinity_" + adapters.size() + "_adapters", List.of(o.haproxy), adapters, o.replicas.size()));
        phases.add(b.phase("d_haproxy_base_model", List.of(o.haproxy), List.of(base), o.replicas.size()));
        System.out.println(LoadGenerator.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(out));
    }

    // ---------------------------------------------------------------------------------------------
    // set-up: tenant, adapters, limit

    /** Creates the tenant, registers its adapters (before the limit, which also counts registrations), then sets the limit. */
    List<String> setUp() throws Exception {
        String r0 = o.replicas.get(0);
        ObjectNode create = LoadGenerator.JSON.createObjectNode().put("id", o.tenant);
        key = send("POST", r0 + "/v1/admin/tenants", create.toString(), o.adminKey).path("api_key").asText();
        List<LinearShape> linears = new ArrayList<>();
        try (BaseModel model = BaseModel.load(o.modelPath, Device.cpu())) {
            linears.addAll(model.linears().values());
        }
        String config = String.format(Locale.ROOT, """
                {"peft_type": "LORA", "r": %d, "lora_alpha": %d, "target_modules": ["q_proj", "v_proj"], "bias": "none"}""",
                o.rank, 2 * o.rank);
        List<LinearShape> targets = linears.stream().filter(l -> l.module().endsWith("q_proj") || l.module().endsWith("v_proj")).toList();
        Path tmp = Files.createTempFile("ratelimit-adapter", ".safetensors");
        List<String> names = new ArrayList<>();
        try {
            for (int i = 0; i < o.manyAdapters; i++) {
                String name = String.format(Locale.ROOT, "rate-%03d", i);
                LoadGenerator.writeRandomAdapter(tmp, targets, o.rank, 1000 + i);
                register(r0, name, config.getBytes(StandardCharsets.UTF_8), Files.readAllBytes(tmp));
                names.add(name);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        ObjectNode quota = LoadGenerator.JSON.createObjectNode().put("requests_per_second", o.rps);
        send("PUT", r0 + "/v1/admin/tenants/" + o.tenant + "/quotas", quota.toString(), o.adminKey);
        for (String r : o.replicas) {
            awaitLimit(r, names.get(0));
        }
        return names;
    }

    /** Waits until a replica refuses a burst above the limit (the change reaches it by LISTEN/NOTIFY). */
    void awaitLimit(String replica, String adapter) throws Exception {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < deadline) {
            for (int i = 0; i < 3 * Math.ceil(o.rps) + 2; i++) {
                if (complete(replica, adapter) == 429) {
                    return;
                }
            }
            Thread.sleep(500);
        }
        throw new IllegalStateException(replica + " does not enforce requests_per_second " + o.rps + " after 60 s");
    }

    void register(String url, String name, byte[] config, byte[] weights) throws Exception {
        String boundary = "----loragate-ratelimit-" + Long.toHexString(System.nanoTime());
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        LoadGenerator.Rest.part(b, boundary, "name", null, "text/plain; charset=UTF-8", name.getBytes(StandardCharsets.UTF_8));
        LoadGenerator.Rest.part(b, boundary, "config", "adapter_config.json", "application/json", config);
        LoadGenerator.Rest.part(b, boundary, "weights", "adapter_model.safetensors", "application/octet-stream", weights);
        b.writeBytes(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url + "/v1/adapters")).header("Authorization", "Bearer " + key)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(b.toByteArray())).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("registering " + name + " answered " + r.statusCode() + ": " + r.body());
        }
    }

    JsonNode send(String method, String url, String json, String bearer) throws IOException, InterruptedException {
        HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + bearer)
                .method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
        if (json != null) {
            req.header("Content-Type", "application/json");
        }
        HttpResponse<String> r = http.send(req.build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException(method + " " + url + " answered " + r.statusCode() + ": " + r.body());
        }
        return LoadGenerator.JSON.readTree(r.body());
    }

    /** One cheap completion with the tenant's key; answers the status (-1: no answer). */
    int complete(String url, String model) {
        ObjectNode body = LoadGenerator.JSON.createObjectNode().put("model", model).put("prompt", "hello").put("max_tokens", 1)
                .put("temperature", 0);
        try {
            HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create(url + "/v1/completions")).timeout(Duration.ofSeconds(60))
                    .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(), HttpResponse.BodyHandlers.discarding());
            return r.statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // one phase

    /**
     * Offers {@code offered} requests per second for {@code duration} seconds, request i at start + i/offered,
     * cycling over the targets and the models; {@code reachable} is how many replicas the phase can reach
     * (the expected bound is reachable × the limit).
     */
    ObjectNode phase(String name, List<String> targets, List<String> models, int reachable) throws Exception {
        Thread.sleep((long) (o.pause * 1000));
        System.err.printf("phase %s: %.0f requests/s for %.0f s over %d target(s), %d model(s)%n", name, o.offered, o.duration,
                targets.size(), models.size());
        int n = (int) Math.round(o.offered * o.duration);
        Map<String, LongAdder> statuses = new ConcurrentHashMap<>();
        LongAdder lateNanos = new LongAdder();
        AtomicInteger next = new AtomicInteger();
        List<Map<String, Double>> before = o.replicas.stream().map(this::metrics).toList();
        long start = System.nanoTime() + 100_000_000L;
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < o.senders; t++) {
            Thread th = new Thread(() -> {
                for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) {
                    long due = start + (long) (i * 1e9 / o.offered);
                    long wait = due - System.nanoTime();
                    if (wait > 0) {
                        LoadGenerator.sleepQuietly(wait / 1_000_000);
                    } else {
                        lateNanos.add(-wait);
                    }
                    int status = complete(targets.get(i % targets.size()), models.get(i % models.size()));
                    statuses.computeIfAbsent(String.valueOf(status), k -> new LongAdder()).increment();
                }
            }, "rate-sender-" + t);
            th.setDaemon(true);
            threads.add(th);
            th.start();
        }
        for (Thread th : threads) {
            th.join();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        List<Map<String, Double>> after = o.replicas.stream().map(this::metrics).toList();
        return phaseJson(name, targets, models, reachable, n, seconds, statuses, lateNanos.sum() / 1e6 / n, before, after);
    }

    ObjectNode phaseJson(String name, List<String> targets, List<String> models, int reachable, int n, double seconds,
            Map<String, LongAdder> statuses, double meanLateMs, List<Map<String, Double>> before, List<Map<String, Double>> after) {
        long admitted = statuses.getOrDefault("200", new LongAdder()).sum();
        ObjectNode j = LoadGenerator.JSON.createObjectNode();
        j.put("phase", name);
        j.put("targets", String.join(",", targets));
        j.put("models", models.size() == 1 ? models.get(0) : models.size() + " adapters");
        j.put("sent", n);
        j.put("elapsed_s", LoadGenerator.round(seconds));
        j.put("offered_per_s", LoadGenerator.round(n / seconds));
        j.put("mean_send_lateness_ms", LoadGenerator.round(meanLateMs));
        ObjectNode st = j.putObject("statuses");
        new TreeMap<>(statuses).forEach((k, v) -> st.put(k, v.sum()));
        j.put("admitted", admitted);
        j.put("admitted_per_s", LoadGenerator.round(admitted / seconds));
        j.put("admitted_over_limit", LoadGenerator.round(admitted / seconds / o.rps));
        // each reached replica's bucket starts full (one second's worth, at least one request) and refills
        // at its rate: the whole limit ("whole"), or limit / replicas ("share")
        double perReplica = o.budget.equals("share") ? o.rps / o.replicas.size() : o.rps;
        double bound = reachable * (perReplica * seconds + Math.max(1, perReplica)) / seconds / o.rps;
        j.put("expected_over_limit", LoadGenerator.round(bound));
        j.put("replicas_reachable", reachable);
        ArrayNode per = j.putArray("admitted_per_replica");
        for (int i = 0; i < before.size(); i++) {
            per.add((long) (okCompletions(after.get(i)) - okCompletions(before.get(i))));
        }
        return j;
    }

    /** Completions a replica answered 200 (Quarkus' http_server_requests metric). */
    static double okCompletions(Map<String, Double> m) {
        return m.entrySet().stream().filter(e -> e.getKey().startsWith("http_server_requests_seconds_count{")
                && e.getKey().contains("uri=\"/v1/completions\"") && e.getKey().contains("status=\"200\""))
                .mapToDouble(Map.Entry::getValue).sum();
    }

    Map<String, Double> metrics(String replica) {
        LoadGenerator.Options g = new LoadGenerator.Options();
        g.url = replica;
        return new LoadGenerator.Rest(http, g).metrics();
    }
}
