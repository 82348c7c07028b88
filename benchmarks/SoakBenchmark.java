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
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Soak test of a RUNNING gateway (issue 5, item 9): for {@code --duration} seconds it runs, all at
 * once, mixed inference ({@code --clients} closed-loop clients; streamed and plain completions over
 * {@code --adapters} adapter aliases), adapter uploads (a new version of a random adapter every
 * {@code --upload-every} s; old versions deleted so that each adapter keeps 3), alias switches
 * (every {@code --switch-every} s), dataset uploads (every {@code --dataset-every} s) and
 * fine-tuning jobs (one at a time, a new one every {@code --job-every} s once the last ended). Every
 * {@code --sample} seconds it records the window's requests, errors, p50/p99 latency and the
 * gateway's RSS ({@code VmRSS} of {@code --pid}, else {@code process_resident_memory_bytes} from
 * {@code /q/metrics} when present). Prints one JSON object: settings, the time series, and a summary
 * with RSS after {@code --warmup} vs at the end, growth in % and the error count (targets: zero
 * errors, growth under 5 %).
 *
 * <pre>
 * benchmarks/soak.sh --duration 1800                                  # builds, starts the gateway, runs this, stops it
 * benchmarks/run.sh SoakBenchmark --url http://localhost:8080 --pid 1234 --model-path /models/m --duration 600
 * </pre>
 */
public class SoakBenchmark {

    static final class Options {
        String url = "http://localhost:8080";
        long pid = -1;
        Path modelPath;
        double duration = 1800;
        double warmup = 60;
        double sample = 10;
        int clients = 4;
        int adapters = 4;
        int maxTokens = 24;
        int rank = 8;
        List<String> targets = List.of("q_proj", "k_proj", "v_proj", "o_proj");
        double uploadEvery = 5;
        double switchEvery = 2;
        double datasetEvery = 30;
        double jobEvery = 30;
        int jobEpochs = 2;
        long seed = 7;

        static Options parse(String[] args) {
            Options o = new Options();
            for (int i = 0; i < args.length; i++) {
                String k = args[i];
                if (!k.startsWith("--") || i + 1 >= args.length) {
                    throw new IllegalArgumentException("expected --flag value pairs, got " + k);
                }
                String v = args[++i];
                switch (k.substring(2)) {
                    case "url" -> o.url = v.replaceAll("/+$", "");
                    case "pid" -> o.pid = Long.parseLong(v);
                    case "model-path" -> o.modelPath = Path.of(v);
                    case "duration" -> o.duration = Double.parseDouble(v);
                    case "warmup" -> o.warmup = Double.parseDouble(v);
                    case "sample" -> o.sample = Double.parseDouble(v);
                    case "clients" -> o.clients = Integer.parseInt(v);
                    case "adapters" -> o.adapters = Integer.parseInt(v);
                    case "max-tokens" -> o.maxTokens = Integer.parseInt(v);
                    case "rank" -> o.rank = Integer.parseInt(v);
                    case "targets" -> o.targets = List.of(v.split(","));
                    case "upload-every" -> o.uploadEvery = Double.parseDouble(v);
                    case "switch-every" -> o.switchEvery = Double.parseDouble(v);
                    case "dataset-every" -> o.datasetEvery = Double.parseDouble(v);
                    case "job-every" -> o.jobEvery = Double.parseDouble(v);
                    case "job-epochs" -> o.jobEpochs = Integer.parseInt(v);
                    case "seed" -> o.seed = Long.parseLong(v);
                    default -> throw new IllegalArgumentException("unknown flag " + k + " (see the class comment of SoakBenchmark)");
                }
            }
            if (o.modelPath == null) {
                throw new IllegalArgumentException("--model-path (the base model folder the gateway serves) is required: random"
                        + " adapters are shaped from its linear layers");
            }
            if (o.warmup >= o.duration) {
                throw new IllegalArgumentException("--warmup " + o.warmup + " must be shorter than --duration " + o.duration);
            }
            return o;
        }
    }

    /** What happened in one sampling window (guarded by itself). */
    static final class Window {
        final List<Double> latencies = new ArrayList<>();
        final Map<String, Integer> errors = new TreeMap<>();
        final Map<String, Integer> operations = new TreeMap<>();
    }

    final Options o;
    final HttpClient http;
    final LoadGenerator.Rest rest;
    final AtomicBoolean running = new AtomicBoolean(true);
    final Map<String, Integer> errorsTotal = new ConcurrentHashMap<>();
    final Map<String, Integer> operationsTotal = new ConcurrentHashMap<>();
    final List<Double> allLatencies = new ArrayList<>();
    final List<String> names = new ArrayList<>();
    final List<LinearShape> linears = new ArrayList<>();
    final AtomicLong adapterSeed = new AtomicLong();
    volatile String latestFile;
    Window window = new Window();

    SoakBenchmark(Options o) {
        this.o = o;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
        this.rest = new LoadGenerator.Rest(http, LoadGenerator.Options.parse(new String[] {"--url", o.url, "--timeout", "120"}));
        this.adapterSeed.set(o.seed * 1_000_003L);
    }

    public static void main(String[] args) throws Exception {
        SoakBenchmark soak = new SoakBenchmark(Options.parse(args));
        System.out.println(LoadGenerator.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(soak.run()));
    }

    ObjectNode run() throws Exception {
        try (BaseModel model = BaseModel.load(o.modelPath, Device.cpu())) {
            for (LinearShape l : model.linears().values()) {
                if (o.targets.contains(l.module().substring(l.module().lastIndexOf('.') + 1))) {
                    linears.add(l);
                }
            }
        }
        if (linears.isEmpty()) {
            throw new IllegalArgumentException("no linear layer of " + o.modelPath + " matches --targets " + o.targets);
        }
        String base = rest.getJson("/v1/models").path("data").path(0).path("id").asText();
        String run = Long.toString(System.currentTimeMillis() % 1_000_000_000L, 36);
        for (int i = 0; i < o.adapters; i++) {
            names.add("soak-" + run + "-" + i);
            upload(names.get(i));
        }
        latestFile = uploadDataset(0);

        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < o.clients; c++) {
            SplittableRandom rnd = new SplittableRandom(o.seed + c);
            threads.add(new Thread(() -> inference(rnd), "client-" + c));
        }
        SplittableRandom rnd = new SplittableRandom(o.seed - 1);
        Object admin = new Object(); // a switch never races the trim of old versions into deleting the new active one
        threads.add(every("uploads", o.uploadEvery, () -> {
            String name = names.get(rnd.nextInt(names.size()));
            upload(name);
            synchronized (admin) {
                trimVersions(name);
            }
        }));
        threads.add(every("switches", o.switchEvery, () -> {
            String name = names.get(rnd.nextInt(names.size()));
            synchronized (admin) {
                JsonNode a = rest.getJson("/v1/adapters/" + name);
                List<Integer> versions = new ArrayList<>();
                a.path("versions").forEach(v -> versions.add(v.path("version").asInt()));
                int v = versions.get(rnd.nextInt(versions.size()));
                send("switch", "PUT", "/v1/adapters/" + name + "/active", "application/json",
                        ("{\"version\": " + v + "}").getBytes(StandardCharsets.UTF_8));
            }
        }));
        AtomicLong datasets = new AtomicLong();
        threads.add(every("datasets", o.datasetEvery, () -> latestFile = uploadDataset(datasets.incrementAndGet())));
        String[] job = {null};
        threads.add(every("jobs", o.jobEvery, () -> job[0] = job(base, job[0])));
        threads.forEach(Thread::start);

        ArrayNode series = LoadGenerator.JSON.createArrayNode();
        long t0 = System.nanoTime();
        long sampleNanos = (long) (o.sample * 1e9);
        Double rssStart = null;
        Double rssEnd = null;
        for (long next = t0 + sampleNanos; ; next += sampleNanos) {
            long sleep = next - System.nanoTime();
            if (sleep > 0) {
                Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
            }
            double t = (System.nanoTime() - t0) / 1e9;
            Window w;
            synchronized (this) {
                w = window;
                window = new Window();
            }
            Double rss = rssMb();
            ObjectNode s = series.addObject();
            s.put("t_s", LoadGenerator.round(t));
            synchronized (w) {
                s.put("requests", w.latencies.size());
                s.put("errors", w.errors.values().stream().mapToInt(Integer::intValue).sum());
                ObjectNode lat = LoadGenerator.percentiles(w.latencies.stream().mapToDouble(Double::doubleValue).toArray());
                s.set("latency_ms", lat);
                s.set("operations", LoadGenerator.JSON.valueToTree(w.operations));
                if (!w.errors.isEmpty()) {
                    s.set("error_kinds", LoadGenerator.JSON.valueToTree(w.errors));
                }
            }
            if (rss != null) {
                s.put("rss_mb", LoadGenerator.round(rss));
                if (rssStart == null && t >= o.warmup) {
                    rssStart = rss;
                }
                rssEnd = rss;
            }
            System.err.printf(Locale.ROOT, "soak t=%.0fs %s%n", t, s);
            if (t >= o.duration) {
                break;
            }
        }
        running.set(false);
        for (Thread th : threads) {
            th.interrupt();
            th.join(130_000);
        }

        ObjectNode out = LoadGenerator.JSON.createObjectNode();
        out.put("benchmark", "SoakBenchmark");
        out.set("settings", LoadGenerator.JSON.valueToTree(Map.of("url", o.url, "pid", o.pid, "model_path", o.modelPath.toString(),
                "duration_s", o.duration, "warmup_s", o.warmup, "sample_s", o.sample, "clients", o.clients,
                "adapters", o.adapters, "max_tokens", o.maxTokens)));
        ObjectNode summary = out.putObject("summary");
        synchronized (allLatencies) {
            summary.put("requests", allLatencies.size());
            summary.set("latency_ms", LoadGenerator.percentiles(allLatencies.stream().mapToDouble(Double::doubleValue).toArray()));
        }
        int errors = errorsTotal.values().stream().mapToInt(Integer::intValue).sum();
        summary.put("errors", errors);
        summary.set("error_kinds", LoadGenerator.JSON.valueToTree(new TreeMap<>(errorsTotal)));
        summary.set("operations", LoadGenerator.JSON.valueToTree(new TreeMap<>(operationsTotal)));
        if (rssStart != null) {
            summary.put("rss_start_mb", LoadGenerator.round(rssStart));
            summary.put("rss_end_mb", LoadGenerator.round(rssEnd));
            summary.put("rss_growth_pct", LoadGenerator.round(100 * (rssEnd - rssStart) / rssStart));
            summary.put("meets_targets", errors == 0 && (rssEnd - rssStart) / rssStart < 0.05);
        } else {
            summary.putNull("rss_start_mb");
            summary.put("rss_note", "no RSS: give --pid, or run longer than --warmup");
        }
        out.set("series", series);
        return out;
    }

    // ---------------------------------------------------------------------------------------------
    // the load

    void inference(SplittableRandom rnd) {
        String[] prompts = {"Transfer learning is thrift.", "The river runs past the stone.", "Q: apple\nA:", "Once upon a time"};
        while (running.get()) {
            String model = names.get(rnd.nextInt(names.size()));
            String prompt = prompts[rnd.nextInt(prompts.length)];
            long t0 = System.nanoTime();
            String error;
            if (rnd.nextBoolean()) {
                error = rest.stream(model, prompt, o.maxTokens, now -> { });
                if (error != null && !running.get()) {
                    return; // the run ended and interrupted this client: not a server error
                }
                count("completion_stream", error);
            } else {
                String body = "{\"model\": \"" + model + "\", \"prompt\": " + LoadGenerator.JSON.valueToTree(prompt)
                        + ", \"max_tokens\": " + o.maxTokens + ", \"temperature\": 0, \"ignore_eos\": true}";
                error = send("completion", "POST", "/v1/completions", "application/json", body.getBytes(StandardCharsets.UTF_8));
            }
            if (error == null) {
                double ms = (System.nanoTime() - t0) / 1e6;
                synchronized (this) {
                    synchronized (window) {
                        window.latencies.add(ms);
                    }
                }
                synchronized (allLatencies) {
                    allLatencies.add(ms);
                }
            }
        }
    }

    /** A thread that runs {@code body} every {@code seconds}; a thrown exception counts as an error of that kind. */
    Thread every(String name, double seconds, ThrowingRunnable body) {
        return new Thread(() -> {
            while (running.get()) {
                try {
                    Thread.sleep((long) (seconds * 1000));
                    if (!running.get()) {
                        return;
                    }
                    body.run();
                } catch (InterruptedException e) {
                    return;
                } catch (Exception e) {
                    count(name, e.getClass().getSimpleName() + ": " + e.getMessage());
                }
            }
        }, name);
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    void upload(String name) throws IOException {
        Path file = Files.createTempFile("soak-adapter", ".safetensors");
        try {
            LoadGenerator.writeRandomAdapter(file, linears, o.rank, adapterSeed.incrementAndGet());
            String config = String.format(Locale.ROOT, "{\"peft_type\": \"LORA\", \"r\": %d, \"lora_alpha\": %d, \"target_modules\": %s,"
                    + " \"bias\": \"none\", \"task_type\": \"CAUSAL_LM\"}", o.rank, 2 * o.rank, LoadGenerator.JSON.writeValueAsString(o.targets));
            multipart("upload", "/v1/adapters", List.of(
                    new Part("name", null, "text/plain", name.getBytes(StandardCharsets.UTF_8)),
                    new Part("config", "adapter_config.json", "application/json", config.getBytes(StandardCharsets.UTF_8)),
                    new Part("weights", "adapter_model.safetensors", "application/octet-stream", Files.readAllBytes(file))));
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** Deletes the oldest versions that are not active, keeping three per adapter (the data directory stays flat). */
    void trimVersions(String name) throws Exception {
        JsonNode a = rest.getJson("/v1/adapters/" + name);
        List<Integer> inactive = new ArrayList<>();
        a.path("versions").forEach(v -> {
            if (!v.path("active").asBoolean()) {
                inactive.add(v.path("version").asInt());
            }
        });
        for (int i = 0; i < inactive.size() - 2; i++) {
            send("delete_version", "DELETE", "/v1/adapters/" + name + "@" + inactive.get(i), null, null);
        }
    }

    String uploadDataset(long k) throws Exception {
        StringBuilder lines = new StringBuilder();
        String[] words = {"apple", "river", "stone", "cloud", "tiger", "lemon", "piano", "maple", "ocean", "pencil", "garden", "window"};
        for (String w : words) {
            lines.append("{\"prompt\": \"Q: ").append(w).append(" ").append(k).append("\\nA:\", \"completion\": \" yes, ")
                    .append(w).append(".\"}\n");
        }
        HttpResponse<String> r = multipart("dataset", "/v1/files", List.of(
                new Part("purpose", null, "text/plain", "fine-tune".getBytes(StandardCharsets.UTF_8)),
                new Part("file", "soak-" + k + ".jsonl", "application/jsonl", lines.toString().getBytes(StandardCharsets.UTF_8))));
        return r == null ? latestFile : LoadGenerator.JSON.readTree(r.body()).path("id").asText();
    }

    /** Starts a job when the previous one has ended; answers the job being watched. */
    String job(String base, String previous) throws Exception {
        if (previous != null) {
            JsonNode j = rest.getJson("/v1/fine_tuning/jobs/" + previous);
            String status = j.path("status").asText();
            switch (status) {
                case "succeeded" -> count("job_succeeded", null);
                case "failed", "cancelled" -> count("job", status + ": " + j.path("error").path("message").asText());
                default -> {
                    return previous;
                }
            }
        }
        String body = "{\"model\": \"" + base + "\", \"training_file\": \"" + latestFile + "\", \"suffix\": \"soak-trained\", \"seed\": 1,"
                + " \"method\": {\"type\": \"supervised\", \"hyperparameters\": {\"epochs\": " + o.jobEpochs + ", \"batch_size\": 2,"
                + " \"learning_rate\": 0.001}, \"adapter\": {\"r\": 4, \"alpha\": 8}}}";
        HttpResponse<String> r = request("job_create", "POST", "/v1/fine_tuning/jobs", "application/json", body.getBytes(StandardCharsets.UTF_8));
        return r == null ? null : LoadGenerator.JSON.readTree(r.body()).path("id").asText();
    }

    // ---------------------------------------------------------------------------------------------
    // HTTP

    record Part(String field, String filename, String type, byte[] content) {
    }

    HttpResponse<String> multipart(String what, String path, List<Part> parts) {
        String boundary = "----loragate-soak-" + Long.toHexString(System.nanoTime());
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (Part p : parts) {
            LoadGenerator.Rest.part(b, boundary, p.field(), p.filename(), p.type(), p.content());
        }
        b.writeBytes(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        return request(what, "POST", path, "multipart/form-data; boundary=" + boundary, b.toByteArray());
    }

    /** Sends a request; answers null when it succeeded, else the error it counted. */
    String send(String what, String method, String path, String type, byte[] body) {
        HttpResponse<String> r = request(what, method, path, type, body);
        return r == null ? "failed" : null;
    }

    /** Sends a request and counts it; answers the response when it was a 200, else null (the error is counted). */
    HttpResponse<String> request(String what, String method, String path, String type, byte[] body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(o.url + path)).timeout(Duration.ofSeconds(120));
        if (type != null) {
            b.header("Content-Type", type);
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        try {
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 200) {
                count(what, null);
                return r;
            }
            count(what, "http_" + r.statusCode() + LoadGenerator.Rest.errorCode(r.body()));
        } catch (IOException e) {
            if (running.get()) { // else the run ended and interrupted the request: not a server error
                count(what, "io:" + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : " " + e.getMessage()));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return null;
    }

    /** Counts an operation, and its error when {@code error} is not null. */
    void count(String what, String error) {
        operationsTotal.merge(what, 1, Integer::sum);
        if (error != null) {
            errorsTotal.merge(what + " " + error, 1, Integer::sum);
        }
        synchronized (this) {
            synchronized (window) {
                window.operations.merge(what, 1, Integer::sum);
                if (error != null) {
                    window.errors.merge(what + " " + error, 1, Integer::sum);
                }
            }
        }
    }

    /** The gateway's resident set in MiB: /proc/<pid>/status, else the process metric if the gateway exports one. */
    Double rssMb() {
        if (o.pid > 0) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/" + o.pid + "/status"))) {
                    if (line.startsWith("VmRSS:")) {
                        return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                    }
                }
            } catch (IOException e) {
                return null;
            }
        }
        Double bytes = rest.metrics().get("process_resident_memory_bytes");
        return bytes == null ? null : bytes / (1024.0 * 1024.0);
    }
}
