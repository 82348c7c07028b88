import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.model.BaseModel;
import io.loragate.model.LinearShape;
import io.loragate.model.safetensors.SafetensorsWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Stream;

/**
 * Load generator for a RUNNING loragate gateway (issue 3, Benchmark). N client threads send
 * streaming completions (temperature 0, {@code ignore_eos}, fixed {@code max_tokens}) for adapters
 * drawn from a Zipf(s) popularity over M registered adapters, and it measures what a caller sees:
 * time to first token, time per output token, inter-token gaps, end-to-end latency, generated
 * tokens/s and requests/s, errors by status, requests per adapter. Prints one JSON object.
 *
 * <p>Adapters: it registers M random LoRA adapters (rank {@code --rank} on {@code --targets})
 * through {@code POST /v1/adapters}, shaped from the base folder given by {@code --model-path} (the
 * same folder the gateway serves; loaded here with {@link BaseModel} only to read its linear
 * shapes), or registers the PEFT folders under {@code --adapter-dir}. Adapters already registered
 * under the same names are reused, so a second run does not upload again.
 *
 * <p>{@code --scenario ratio} runs, in one invocation, all clients on one adapter (a), spread
 * uniformly over 32 adapters (b), over 500 adapters with Zipf {@code --zipf} (c), and (a) again, and
 * reports the throughput ratios b/a and c/a against the mean of both (a) runs (targets: at least
 * 0.85 and 0.7). The gateway's adapter cache budget must be smaller than the 500 adapters.
 *
 * <pre>
 * benchmarks/run.sh LoadGenerator --write-model /models/smollm2-135m-random   # a base to serve, if you have none
 * benchmarks/run.sh LoadGenerator --url http://localhost:8080 --model-path /models/SmolLM2-135M \
 *     --clients 32 --duration 60 --adapters 500 --zipf 1.0 --max-tokens 64 --prompt-tokens 128
 * benchmarks/run.sh LoadGenerator --url http://localhost:8080 --model-path /models/SmolLM2-135M \
 *     --scenario ratio --clients 32 --duration 60
 * </pre>
 *
 * <p>{@code --transport grpc} sends GenerateStream over gRPC instead (same host and port: the
 * gateway serves gRPC on its HTTP port); it needs the generated stubs of {@code proto/loragate/v1}
 * ({@code io.loragate.api.grpc.v1}) and grpc-java on the classpath, which builds without the gRPC
 * API do not have. Adapters are always registered over REST.
 */
public class LoadGenerator {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String[] WORDS = ("the of and to in is was for on that with as by at from his her an were are which this be "
            + "or has had not but first one their its new after who they have two been she other all also into more time "
            + "over year only when some would up world city could most school part state through under many later against "
            + "during where three then made since between while known several about each these american used however game "
            + "river season both war home early people before team national because well group until old said series film "
            + "music may being area same second album north name small large place work life south family government "
            + "number following four west since club won member album including around county great back village left")
            .split(" ");

    // ---------------------------------------------------------------------------------------------
    // options

    static final class Options {
        String url = "http://localhost:8080";
        String transport = "rest";
        String scenario = "single";
        int clients = 8;
        double duration = 30;
        int requests = 0; // > 0: a fixed number of requests instead of a duration
        double warmup = 5;
        int adapters = 8;
        double zipf = 1.0;
        int maxTokens = 64;
        int promptTokens = 128;
        long seed = 42;
        Path modelPath;
        Path adapterDir;
        String prefix;
        int rank = 16;
        double alpha = 32;
        List<String> targets = List.of("q_proj", "k_proj", "v_proj", "o_proj");
        int registerThreads = 4;
        int[] ratioSizes = {1, 32, 500};
        double timeoutSeconds = 600;
        Path writeModel;
        int layers = 30;

        static Options parse(String[] args) {
            Options o = new Options();
            for (int i = 0; i < args.length; i++) {
                String k = args[i];
                if (k.equals("--help") || k.equals("-h")) {
                    usage(null);
                }
                if (!k.startsWith("--") || i + 1 >= args.length) {
                    usage("expected --option value, got '" + k + "'");
                }
                String v = args[++i];
                try {
                    switch (k.substring(2)) {
                        case "url" -> o.url = v.replaceAll("/+$", "");
                        case "transport" -> o.transport = v.toLowerCase(Locale.ROOT);
                        case "scenario" -> o.scenario = v.toLowerCase(Locale.ROOT);
                        case "clients" -> o.clients = positive(k, Integer.parseInt(v));
                        case "duration" -> o.duration = Double.parseDouble(v);
                        case "requests" -> o.requests = Integer.parseInt(v);
                        case "warmup" -> o.warmup = Double.parseDouble(v);
                        case "adapters" -> o.adapters = Integer.parseInt(v);
                        case "zipf" -> o.zipf = Double.parseDouble(v);
                        case "max-tokens" -> o.maxTokens = positive(k, Integer.parseInt(v));
                        case "prompt-tokens" -> o.promptTokens = positive(k, Integer.parseInt(v));
                        case "seed" -> o.seed = Long.parseLong(v);
                        case "model-path" -> o.modelPath = Path.of(v);
                        case "adapter-dir" -> o.adapterDir = Path.of(v);
                        case "adapter-prefix" -> o.prefix = v;
                        case "rank" -> o.rank = positive(k, Integer.parseInt(v));
                        case "alpha" -> o.alpha = Double.parseDouble(v);
                        case "targets" -> o.targets = List.of(v.split(","));
                        case "register-threads" -> o.registerThreads = positive(k, Integer.parseInt(v));
                        case "ratio-sizes" -> o.ratioSizes = Arrays.stream(v.split(",")).mapToInt(Integer::parseInt).toArray();
                        case "timeout" -> o.timeoutSeconds = Double.parseDouble(v);
                        case "write-model" -> o.writeModel = Path.of(v);
                        case "layers" -> o.layers = positive(k, Integer.parseInt(v));
                        default -> usage("unknown option " + k);
                    }
                } catch (NumberFormatException e) {
                    usage("option " + k + " needs a number, got '" + v + "'");
                }
            }
            if (!o.transport.equals("rest") && !o.transport.equals("grpc")) {
                usage("--transport is rest or grpc, got '" + o.transport + "'");
            }
            if (!o.scenario.equals("single") && !o.scenario.equals("ratio")) {
                usage("--scenario is single or ratio, got '" + o.scenario + "'");
            }
            if (o.zipf < 0) {
                usage("--zipf must be >= 0 (0 = uniform)");
            }
            if (o.scenario.equals("ratio") && (o.ratioSizes.length != 3 || o.ratioSizes[0] != 1)) {
                usage("--ratio-sizes is 1,B,C (default 1,32,500)");
            }
            if (o.requests <= 0 && o.duration <= 0) {
                usage("--duration must be > 0 (or give --requests)");
            }
            if (o.prefix == null) {
                o.prefix = "bench-r" + o.rank + "-";
            }
            return o;
        }

        static int positive(String k, int v) {
            if (v < 1) {
                usage(k + " must be at least 1");
            }
            return v;
        }

        int adaptersNeeded() {
            return scenario.equals("ratio") ? Arrays.stream(ratioSizes).max().getAsInt() : adapters;
        }
    }

    static void usage(String error) {
        if (error != null) {
            System.err.println("error: " + error);
        }
        System.err.println("""
                usage: benchmarks/run.sh LoadGenerator [options]
                  --url URL              gateway base URL (default http://localhost:8080)
                  --transport rest|grpc  how requests are sent (default rest; grpc needs the generated stubs)
                  --scenario single|ratio  one run, or the 1 / 32 / 500 adapter comparison (default single)
                  --clients N            concurrent clients, one request in flight each (default 8)
                  --duration S           measured seconds per run (default 30)
                  --requests N           instead of --duration: N requests in total per run
                  --warmup S             unmeasured seconds before each run (default 5)
                  --adapters M           adapters to spread requests over; 0 = the base model (default 8)
                  --zipf S               adapter popularity p(k) ~ 1/k^S; 0 = uniform (default 1.0)
                  --max-tokens N         tokens generated per request, ignore_eos (default 64)
                  --prompt-tokens N      prompt length in tokens, calibrated against the server (default 128)
                  --seed N               seed of prompts, adapter weights and adapter choice (default 42)
                  --model-path DIR       the base model folder the gateway serves (shapes of random adapters)
                  --adapter-dir DIR      register the PEFT folders in DIR instead of random adapters
                  --adapter-prefix P     name prefix of random adapters (default bench-r<rank>-)
                  --rank R --alpha A --targets q_proj,k_proj,v_proj,o_proj   random adapter settings
                  --register-threads N   parallel uploads (default 4)
                  --ratio-sizes 1,B,C    adapter counts of --scenario ratio (default 1,32,500)
                  --timeout S            per-request timeout (default 600)
                  --write-model DIR      only write a random SmolLM2-135M-shaped model folder (config, weights,
                                         a word-level tokenizer) for the gateway to serve, and exit
                  --layers N             layers of that model (default 30, as SmolLM2-135M)""");
        System.exit(error == null ? 0 : 2);
    }

    // ---------------------------------------------------------------------------------------------
    // main

    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        if (o.writeModel != null) {
            System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(SmolLm2Shape.write(o.writeModel, o.layers, o.seed)));
            return;
        }
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
        Rest rest = new Rest(http, o);
        Transport transport = o.transport.equals("grpc") ? Grpc.open(o) : rest;

        JsonNode models = rest.getJson("/v1/models");
        String base = models.path("data").path(0).path("root").asText(models.path("data").path(0).path("id").asText());
        if (base.isEmpty()) {
            throw new IllegalStateException("GET /v1/models answered no base model: " + models);
        }

        ObjectNode out = JSON.createObjectNode();
        out.put("benchmark", "LoadGenerator");
        out.put("url", o.url);
        out.put("transport", o.transport);
        out.put("base_model", base);

        long t0 = System.nanoTime();
        List<String> adapterIds = registerAdapters(o, rest);
        ObjectNode reg = out.putObject("registration");
        reg.put("adapters", adapterIds.size());
        reg.put("uploaded", rest.uploaded.get());
        reg.put("reused", adapterIds.size() - rest.uploaded.get());
        reg.put("uploaded_bytes", rest.uploadedBytes.sum());
        reg.put("seconds", round((System.nanoTime() - t0) / 1e9));

        Prompts prompts = Prompts.calibrate(o, rest, base);
        ObjectNode settings = out.putObject("settings");
        settings.put("clients", o.clients);
        if (o.requests > 0) {
            settings.put("requests", o.requests);
        } else {
            settings.put("duration_s", o.duration);
        }
        settings.put("warmup_s", o.warmup);
        settings.put("max_tokens", o.maxTokens);
        settings.put("prompt_tokens_target", o.promptTokens);
        settings.set("prompt_tokens", prompts.stats());
        settings.put("temperature", 0);
        settings.put("ignore_eos", transport.ignoresEos());
        settings.put("stream", true);
        settings.put("seed", o.seed);
        if (o.adapterDir == null) {
            settings.put("lora_rank", o.rank);
            settings.put("lora_targets", String.join(",", o.targets));
        }

        if (o.scenario.equals("single")) {
            List<String> pool = o.adapters == 0 ? List.of(base) : adapterIds.subList(0, o.adapters);
            out.put("scenario", "single");
            out.set("result", runPhase("run", o, transport, rest, prompts, pool, o.adapters == 0 ? 0 : o.zipf).json());
        } else {
            out.put("scenario", "ratio");
            int b = o.ratioSizes[1];
            int c = o.ratioSizes[2];
            // (a) runs first and again last: the baseline is the mean of both, so that a machine
            // that warms up (JIT, allocator) or gets busier during the run does not skew the ratios;
            // a_drift (second / first) says how much it moved.
            Phase pa = runPhase("a_1_adapter", o, transport, rest, prompts, adapterIds.subList(0, 1), 0);
            Phase pb = runPhase("b_" + b + "_adapters_uniform", o, transport, rest, prompts, adapterIds.subList(0, b), 0);
            Phase pc = runPhase("c_" + c + "_adapters_zipf" + o.zipf, o, transport, rest, prompts, adapterIds.subList(0, c), o.zipf);
            Phase pa2 = runPhase("a_1_adapter_again", o, transport, rest, prompts, adapterIds.subList(0, 1), 0);
            ArrayNode phases = out.putArray("phases");
            phases.add(pa.json());
            phases.add(pb.json());
            phases.add(pc.json());
            phases.add(pa2.json());
            ObjectNode ratios = out.putObject("ratios");
            double ta = (pa.tokensPerSecond() + pa2.tokensPerSecond()) / 2;
            ratios.put("a_tokens_per_s", round(ta));
            ratios.put("a_drift", round(pa2.tokensPerSecond() / pa.tokensPerSecond()));
            ratios.put("b_over_a", round(pb.tokensPerSecond() / ta));
            ratios.put("c_over_a", round(pc.tokensPerSecond() / ta));
            ratios.put("target_b_over_a", 0.85);
            ratios.put("target_c_over_a", 0.7);
            ratios.put("meets_targets", pb.tokensPerSecond() / ta >= 0.85 && pc.tokensPerSecond() / ta >= 0.7);
        }
        transport.close();
        System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(out));
    }

    // ---------------------------------------------------------------------------------------------
    // adapters

    /** Registers (or reuses) the adapters this run needs and answers their ids, most popular first. */
    static List<String> registerAdapters(Options o, Rest rest) throws Exception {
        int needed = o.adaptersNeeded();
        if (needed == 0) {
            return List.of();
        }
        Set<String> existing = ConcurrentHashMap.newKeySet();
        for (JsonNode a : rest.getJson("/v1/adapters").path("data")) {
            existing.add(a.path("name").asText());
        }
        if (o.adapterDir != null) {
            List<Path> dirs;
            try (Stream<Path> s = Files.list(o.adapterDir)) {
                dirs = s.filter(d -> Files.isRegularFile(d.resolve("adapter_config.json"))).sorted().toList();
            }
            if (dirs.size() < needed) {
                throw new IllegalArgumentException(o.adapterDir + " holds " + dirs.size() + " PEFT folders, this run needs " + needed);
            }
            List<String> names = new ArrayList<>();
            for (Path d : dirs.subList(0, needed)) {
                String name = d.getFileName().toString().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9._-]", "-");
                if (!existing.contains(name)) {
                    rest.register(name, Files.readAllBytes(d.resolve("adapter_config.json")),
                            Files.readAllBytes(d.resolve("adapter_model.safetensors")));
                }
                names.add(name);
            }
            return names;
        }
        List<String> names = new ArrayList<>();
        for (int i = 0; i < needed; i++) {
            names.add(String.format(Locale.ROOT, "%s%04d", o.prefix, i));
        }
        List<Integer> missing = new ArrayList<>();
        for (int i = 0; i < needed; i++) {
            if (!existing.contains(names.get(i))) {
                missing.add(i);
            }
        }
        if (missing.isEmpty()) {
            return names;
        }
        if (o.modelPath == null) {
            throw new IllegalArgumentException(missing.size() + " adapters named " + o.prefix + "NNNN are not registered yet: give "
                    + "--model-path (the base model folder the gateway serves) to shape random ones, or --adapter-dir");
        }
        List<LinearShape> linears = new ArrayList<>();
        try (BaseModel model = BaseModel.load(o.modelPath, Device.cpu())) {
            for (LinearShape l : model.linears().values()) {
                String leaf = l.module().substring(l.module().lastIndexOf('.') + 1);
                if (o.targets.contains(leaf)) {
                    linears.add(l);
                }
            }
            if (linears.isEmpty()) {
                throw new IllegalArgumentException("no linear layer of " + o.modelPath + " matches --targets " + o.targets
                        + "; its layers end in " + model.linears().keySet().stream()
                        .map(m -> m.substring(m.lastIndexOf('.') + 1)).distinct().toList());
            }
        }
        System.err.printf("registering %d random LoRA adapters (r=%d on %s: %d linear layers)%n", missing.size(), o.rank,
                o.targets, linears.size());
        String config = String.format(Locale.ROOT, """
                {"peft_type": "LORA", "r": %d, "lora_alpha": %s, "target_modules": %s, "bias": "none",
                 "fan_in_fan_out": false, "use_rslora": false, "task_type": "CAUSAL_LM"}""",
                o.rank, o.alpha, JSON.writeValueAsString(o.targets));
        Path tmp = Files.createTempDirectory("loragate-loadgen");
        ExecutorService pool = Executors.newFixedThreadPool(o.registerThreads);
        AtomicInteger done = new AtomicInteger();
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int i : missing) {
                futures.add(pool.submit(() -> {
                    Path file = tmp.resolve("adapter" + i + ".safetensors");
                    writeRandomAdapter(file, linears, o.rank, o.seed * 1_000_003L + i);
                    rest.register(names.get(i), config.getBytes(StandardCharsets.UTF_8), Files.readAllBytes(file));
                    Files.delete(file);
                    int n = done.incrementAndGet();
                    if (n % 50 == 0 || n == missing.size()) {
                        System.err.printf("  registered %d/%d%n", n, missing.size());
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
            try (Stream<Path> s = Files.walk(tmp)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        return names;
    }

    /** PEFT LoRA weights for the given layers, as EngineBenchmark.writeRandomAdapter makes them. */
    static void writeRandomAdapter(Path file, List<LinearShape> linears, int rank, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        SafetensorsWriter w = new SafetensorsWriter();
        for (LinearShape l : linears) {
            w.addFloats("base_model.model." + l.module() + ".lora_A.weight", new long[] {rank, l.in()}, random(rnd, (int) (rank * l.in())));
            w.addFloats("base_model.model." + l.module() + ".lora_B.weight", new long[] {l.out(), rank}, random(rnd, (int) (l.out() * rank)));
        }
        w.write(file);
    }

    static float[] random(SplittableRandom rnd, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) ((rnd.nextDouble() * 2 - 1) * 0.035); // uniform with std ≈ 0.02
        }
        return f;
    }

    // ---------------------------------------------------------------------------------------------
    // prompts

    /** A pool of distinct prompts of about {@code --prompt-tokens} tokens, measured by the server's tokenizer. */
    record Prompts(List<String> texts, int[] tokens) {

        static Prompts calibrate(Options o, Rest rest, String base) throws Exception {
            SplittableRandom rnd = new SplittableRandom(o.seed);
            int n = Math.max(16, 2 * o.clients);
            List<String> texts = new ArrayList<>();
            int[] tokens = new int[n];
            double wordsPerToken = 0.75;
            for (int i = 0; i < n; i++) {
                long[] words = rnd.longs(4 * o.promptTokens + 16, 0, WORDS.length).toArray();
                int count = Math.max(1, (int) Math.round(o.promptTokens * wordsPerToken));
                String text = null;
                int measured = -1;
                for (int attempt = 0; attempt < 6; attempt++) {
                    count = Math.max(1, Math.min(words.length, count));
                    StringBuilder sb = new StringBuilder();
                    for (int w = 0; w < count; w++) {
                        sb.append(w == 0 ? "" : " ").append(WORDS[(int) words[w]]);
                    }
                    text = sb.toString();
                    measured = rest.promptTokens(base, text);
                    if (measured == o.promptTokens || (measured < o.promptTokens && count == words.length)) {
                        break;
                    }
                    wordsPerToken = count / (double) measured;
                    int next = (int) Math.floor(o.promptTokens * wordsPerToken);
                    count = next == count ? count + (measured < o.promptTokens ? 1 : -1) : next;
                }
                texts.add(text);
                tokens[i] = measured;
            }
            return new Prompts(texts, tokens);
        }

        ObjectNode stats() {
            ObjectNode s = JSON.createObjectNode();
            s.put("min", Arrays.stream(tokens).min().orElse(0));
            s.put("mean", round(Arrays.stream(tokens).average().orElse(0)));
            s.put("max", Arrays.stream(tokens).max().orElse(0));
            s.put("distinct_prompts", texts.size());
            return s;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // load

    /** What one request observed. {@code tokenTimes} are nanoTime stamps of each generated token. */
    record Outcome(String adapter, long start, long[] tokenTimes, int tokens, long end, String error) {
    }

    interface TokenSink {
        void token(long nanoTime);
    }

    interface Transport extends AutoCloseable {
        /** Sends one streaming request; calls {@code sink} per generated token; answers null or the error class. */
        String stream(String adapter, String prompt, int maxTokens, TokenSink sink);

        boolean ignoresEos();

        @Override
        default void close() {
        }
    }

    /** Zipf(s) over ranks 1..M (s = 0: uniform), sampled by binary search in the cumulative table. */
    record Zipf(double[] cumulative) {
        static Zipf of(int m, double s) {
            double[] c = new double[m];
            double sum = 0;
            for (int k = 1; k <= m; k++) {
                sum += 1.0 / Math.pow(k, s);
                c[k - 1] = sum;
            }
            for (int k = 0; k < m; k++) {
                c[k] /= sum;
            }
            return new Zipf(c);
        }

        int sample(SplittableRandom rnd) {
            int i = Arrays.binarySearch(cumulative, rnd.nextDouble());
            return Math.min(cumulative.length - 1, i >= 0 ? i : -i - 1);
        }
    }

    static final class Phase {
        final String name;
        final int adapters;
        final double zipf;
        final List<Outcome> outcomes = new ArrayList<>();
        long windowStart;
        long windowEnd;
        Map<String, Double> metricsBefore;
        Map<String, Double> metricsAfter;

        Phase(String name, int adapters, double zipf) {
            this.name = name;
            this.adapters = adapters;
            this.zipf = zipf;
        }

        double seconds() {
            return (windowEnd - windowStart) / 1e9;
        }

        long tokensInWindow() {
            long n = 0;
            for (Outcome r : outcomes) {
                for (long t : r.tokenTimes) {
                    if (t >= windowStart && t <= windowEnd) {
                        n++;
                    }
                }
            }
            return n;
        }

        double tokensPerSecond() {
            return tokensInWindow() / seconds();
        }

        ObjectNode json() {
            List<Outcome> ok = outcomes.stream().filter(r -> r.error == null).toList();
            long completedInWindow = ok.stream().filter(r -> r.end <= windowEnd).count();
            ObjectNode j = JSON.createObjectNode();
            j.put("name", name);
            j.put("adapters", adapters);
            j.put("zipf", zipf);
            j.put("elapsed_s", round(seconds()));
            j.put("requests_completed", ok.size());
            j.put("requests_failed", outcomes.size() - ok.size());
            j.put("generated_tokens", tokensInWindow());
            j.put("throughput_tokens_per_s", round(tokensPerSecond()));
            j.put("throughput_requests_per_s", round(completedInWindow / seconds()));
            double[] ttft = ok.stream().filter(r -> r.tokens > 0).mapToDouble(r -> (r.tokenTimes[0] - r.start) / 1e6).toArray();
            double[] tpot = ok.stream().filter(r -> r.tokens > 1)
                    .mapToDouble(r -> (r.tokenTimes[r.tokens - 1] - r.tokenTimes[0]) / 1e6 / (r.tokens - 1)).toArray();
            double[] itl = ok.stream().filter(r -> r.tokens > 1).flatMapToDouble(r -> {
                double[] gaps = new double[r.tokens - 1];
                for (int i = 1; i < r.tokens; i++) {
                    gaps[i - 1] = (r.tokenTimes[i] - r.tokenTimes[i - 1]) / 1e6;
                }
                return Arrays.stream(gaps);
            }).toArray();
            double[] e2e = ok.stream().mapToDouble(r -> (r.end - r.start) / 1e6).toArray();
            j.set("ttft_ms", percentiles(ttft));
            j.set("tpot_ms", percentiles(tpot));
            j.set("itl_ms", percentiles(itl));
            j.set("e2e_ms", percentiles(e2e));
            j.put("mean_tokens_per_request", round(ok.stream().mapToInt(r -> r.tokens).average().orElse(0)));
            ObjectNode errors = j.putObject("errors");
            new TreeMap<>(outcomes.stream().filter(r -> r.error != null)
                    .collect(java.util.stream.Collectors.groupingBy(r -> r.error, java.util.stream.Collectors.counting())))
                    .forEach(errors::put);
            Map<String, Long> perAdapter = outcomes.stream()
                    .collect(java.util.stream.Collectors.groupingBy(r -> r.adapter, LinkedHashMap::new, java.util.stream.Collectors.counting()));
            j.put("distinct_adapters_used", perAdapter.size());
            ObjectNode pa = j.putObject("per_adapter_requests");
            perAdapter.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()
                    .thenComparing(Map.Entry.comparingByKey())).forEach(e -> pa.put(e.getKey(), e.getValue()));
            if (metricsBefore != null && metricsAfter != null) {
                j.set("server", serverDeltas(metricsBefore, metricsAfter));
            }
            return j;
        }
    }

    static Phase runPhase(String name, Options o, Transport transport, Rest rest, Prompts prompts, List<String> pool, double zipf)
            throws Exception {
        System.err.printf("phase %s: %d clients, %d adapters, zipf %s%n", name, o.clients, pool.size(), zipf);
        Zipf popularity = Zipf.of(pool.size(), zipf);
        Phase phase = new Phase(name, pool.size(), zipf);
        if (o.warmup > 0) {
            drive(o, transport, prompts, pool, popularity, 0, (long) (o.warmup * 1e9), o.seed ^ 0x5eed, null);
        }
        phase.metricsBefore = rest.metrics();
        long start = System.nanoTime();
        long window = o.requests > 0 ? 0 : (long) (o.duration * 1e9);
        drive(o, transport, prompts, pool, popularity, o.requests, window, o.seed, phase.outcomes);
        phase.windowStart = start;
        phase.windowEnd = o.requests > 0 ? phase.outcomes.stream().mapToLong(Outcome::end).max().orElse(start + 1) : start + window;
        phase.metricsAfter = rest.metrics();
        return phase;
    }

    /**
     * Runs {@code clients} closed-loop clients: each sends its next request as soon as the previous
     * ends, until {@code requests} were sent in total (if > 0) or {@code window} nanoseconds passed.
     * Requests in flight at the end run to completion; tokens after the window do not count.
     */
    static void drive(Options o, Transport transport, Prompts prompts, List<String> pool, Zipf popularity, int requests, long window,
            long seed, List<Outcome> sink) throws Exception {
        long start = System.nanoTime();
        AtomicInteger sent = new AtomicInteger();
        List<Outcome> all = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < o.clients; c++) {
            SplittableRandom rnd = new SplittableRandom(seed * 31 + c);
            Thread t = new Thread(() -> {
                while (true) {
                    if (requests > 0 ? sent.getAndIncrement() >= requests : System.nanoTime() - start >= window) {
                        return;
                    }
                    String adapter = pool.get(popularity.sample(rnd));
                    String prompt = prompts.texts().get(rnd.nextInt(prompts.texts().size()));
                    long[] times = new long[o.maxTokens + 8];
                    int[] n = {0};
                    long t0 = System.nanoTime();
                    String error;
                    try {
                        error = transport.stream(adapter, prompt, o.maxTokens, now -> {
                            if (n[0] < times.length) {
                                times[n[0]] = now;
                            }
                            n[0]++;
                        });
                    } catch (RuntimeException e) {
                        error = "client:" + e.getClass().getSimpleName();
                    }
                    int tokens = Math.min(n[0], times.length);
                    all.add(new Outcome(adapter, t0, Arrays.copyOf(times, tokens), tokens, System.nanoTime(), error));
                    if (error != null) {
                        sleepQuietly(200); // back off (429 asks for it) instead of spinning on a failing request
                    }
                }
            }, "client-" + c);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        if (sink != null) {
            sink.addAll(all);
        }
    }

    static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---------------------------------------------------------------------------------------------
    // REST

    static final class Rest implements Transport {
        final HttpClient http;
        final Options o;
        final AtomicInteger uploaded = new AtomicInteger();
        final LongAdder uploadedBytes = new LongAdder();

        Rest(HttpClient http, Options o) {
            this.http = http;
            this.o = o;
        }

        JsonNode getJson(String path) throws IOException, InterruptedException {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(o.url + path)).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IllegalStateException("GET " + path + " answered " + r.statusCode() + ": " + r.body());
            }
            return JSON.readTree(r.body());
        }

        /** Prompt tokens of {@code text} under the server's tokenizer (vLLM's return_token_ids). */
        int promptTokens(String model, String text) throws IOException, InterruptedException {
            ObjectNode body = JSON.createObjectNode();
            body.put("model", model);
            body.put("prompt", text);
            body.put("max_tokens", 1);
            body.put("temperature", 0);
            body.put("return_token_ids", true);
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(o.url + "/v1/completions"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IllegalStateException("calibrating the prompt: POST /v1/completions answered " + r.statusCode() + ": " + r.body());
            }
            return JSON.readTree(r.body()).path("usage").path("prompt_tokens").asInt();
        }

        void register(String name, byte[] config, byte[] weights) {
            String boundary = "----loragate-loadgen-" + Long.toHexString(System.nanoTime());
            ByteArrayOutputStream b = new ByteArrayOutputStream(weights.length + config.length + 1024);
            part(b, boundary, "name", null, "text/plain; charset=UTF-8", name.getBytes(StandardCharsets.UTF_8));
            part(b, boundary, "config", "adapter_config.json", "application/json", config);
            part(b, boundary, "weights", "adapter_model.safetensors", "application/octet-stream", weights);
            b.writeBytes(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(o.url + "/v1/adapters"))
                        .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                        .POST(HttpRequest.BodyPublishers.ofByteArray(b.toByteArray())).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() != 200) {
                    throw new IllegalStateException("registering adapter " + name + ": POST /v1/adapters answered " + r.statusCode()
                            + ": " + r.body());
                }
            } catch (IOException e) {
                throw new UncheckedIOException("registering adapter " + name, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
            uploaded.incrementAndGet();
            uploadedBytes.add(b.size());
        }

        static void part(ByteArrayOutputStream b, String boundary, String field, String filename, String type, byte[] content) {
            String head = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + field + "\""
                    + (filename == null ? "" : "; filename=\"" + filename + "\"") + "\r\nContent-Type: " + type + "\r\n\r\n";
            b.writeBytes(head.getBytes(StandardCharsets.UTF_8));
            b.writeBytes(content);
            b.writeBytes("\r\n".getBytes(StandardCharsets.UTF_8));
        }

        /** Numeric samples of /q/metrics by "name{labels}" (empty when the endpoint is missing). */
        Map<String, Double> metrics() {
            Map<String, Double> m = new LinkedHashMap<>();
            try {
                HttpResponse<Stream<String>> r = http.send(HttpRequest.newBuilder(URI.create(o.url + "/q/metrics")).GET().build(),
                        HttpResponse.BodyHandlers.ofLines());
                if (r.statusCode() == 200) {
                    r.body().filter(l -> !l.startsWith("#") && !l.isBlank()).forEach(l -> {
                        int sp = l.lastIndexOf(' ');
                        try {
                            m.put(l.substring(0, sp), Double.parseDouble(l.substring(sp + 1)));
                        } catch (RuntimeException e) {
                            // not a plain sample
                        }
                    });
                } else {
                    r.body().close();
                }
            } catch (IOException | InterruptedException e) {
                // metrics are extra information
            }
            return m;
        }

        @Override
        public boolean ignoresEos() {
            return true;
        }

        @Override
        public String stream(String adapter, String prompt, int maxTokens, TokenSink sink) {
            ObjectNode body = JSON.createObjectNode();
            body.put("model", adapter);
            body.put("prompt", prompt);
            body.put("max_tokens", maxTokens);
            body.put("temperature", 0);
            body.put("ignore_eos", true);
            body.put("stream", true);
            body.put("return_token_ids", true); // one id per chunk: tokens are counted, not guessed from text
            HttpRequest req = HttpRequest.newBuilder(URI.create(o.url + "/v1/completions"))
                    .timeout(Duration.ofMillis((long) (o.timeoutSeconds * 1000)))
                    .header("Content-Type", "application/json").header("Accept", "text/event-stream")
                    .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build();
            HttpResponse<Stream<String>> r;
            try {
                r = http.send(req, HttpResponse.BodyHandlers.ofLines());
            } catch (IOException e) {
                return "io:" + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : " " + e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "interrupted";
            }
            try (Stream<String> lines = r.body()) {
                if (r.statusCode() != 200) {
                    String text = String.join("\n", lines.toList());
                    return "http_" + r.statusCode() + errorCode(text);
                }
                Iterator<String> it = lines.iterator();
                boolean done = false;
                while (it.hasNext()) {
                    String line = it.next();
                    if (!line.startsWith("data:")) {
                        continue;
                    }
                    long now = System.nanoTime();
                    String data = line.substring(5).trim();
                    if (data.equals("[DONE]")) {
                        done = true;
                        drain(it);
                        break;
                    }
                    JsonNode chunk = JSON.readTree(data);
                    if (chunk.has("error")) {
                        drain(it);
                        return "stream_error:" + chunk.path("error").path("code").asText("unknown");
                    }
                    for (JsonNode c : chunk.path("choices")) {
                        for (int i = 0; i < c.path("token_ids").size(); i++) {
                            sink.token(now);
                        }
                    }
                }
                return done ? null : "stream_truncated";
            } catch (IOException | UncheckedIOException e) {
                return "io:" + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : " " + e.getMessage());
            }
        }

        /**
         * Reads the stream to its end before it is closed. The gateway ends the body right after
         * {@code [DONE]}, but closing the JDK client's line stream before it has seen that end races
         * in the client: the cancel can close the keep-alive connection after it went back to the
         * pool and another request took it, which then fails with "HTTP/1.1 header parser received
         * no bytes" (measured with JDK 17.0.15 and 25: 9–17 such failures in about 550,000 requests
         * when closing at {@code [DONE]}, none in 500,000 when reading to the end; README, Reliability).
         */
        static void drain(Iterator<String> it) {
            while (it.hasNext()) {
                it.next();
            }
        }

        static String errorCode(String body) {
            try {
                String code = JSON.readTree(body).path("error").path("code").asText("");
                return code.isEmpty() ? "" : ":" + code;
            } catch (IOException e) {
                return "";
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // gRPC, through reflection: this file must compile in builds without the generated stubs

    static final class Grpc implements Transport {
        final Object channel;
        final Object stub;
        final Method newBuilder;
        final Method setAdapterId;
        final Method setPrompt;
        final Method setMaxTokens;
        final Method setTemperature;
        final Method setIgnoreEos; // null: the proto has no ignore_eos field
        final Method build;
        final Method generateStream;
        final Method withDeadline;
        final long deadlineMillis;
        final Method hasTokenId;
        final Method shutdown;

        private Grpc(Options o) throws ReflectiveOperationException {
            Class<?> service = Class.forName("io.loragate.api.grpc.v1.InferenceServiceGrpc");
            Class<?> request = Class.forName("io.loragate.api.grpc.v1.GenerateRequest");
            Class<?> response = Class.forName("io.loragate.api.grpc.v1.GenerateStreamResponse");
            Class<?> builderClass = Class.forName("io.loragate.api.grpc.v1.GenerateRequest$Builder");
            Class<?> channelBuilder = Class.forName("io.grpc.ManagedChannelBuilder");
            URI uri = URI.create(o.url);
            if ("https".equals(uri.getScheme())) {
                throw new IllegalArgumentException("--transport grpc supports plaintext (http://) URLs only");
            }
            int port = uri.getPort() > 0 ? uri.getPort() : 80;
            Object b = channelBuilder.getMethod("forTarget", String.class).invoke(null, uri.getHost() + ":" + port);
            b = channelBuilder.getMethod("usePlaintext").invoke(b);
            b = channelBuilder.getMethod("maxInboundMessageSize", int.class).invoke(b, 64 << 20);
            channel = channelBuilder.getMethod("build").invoke(b);
            stub = service.getMethod("newBlockingStub", Class.forName("io.grpc.Channel")).invoke(null, channel);
            newBuilder = request.getMethod("newBuilder");
            setAdapterId = builderClass.getMethod("setAdapterId", String.class);
            setPrompt = builderClass.getMethod("setPrompt", String.class);
            setMaxTokens = builderClass.getMethod("setMaxTokens", int.class);
            setTemperature = builderClass.getMethod("setTemperature", double.class);
            Method ie = null;
            try {
                ie = builderClass.getMethod("setIgnoreEos", boolean.class);
            } catch (NoSuchMethodException e) {
                System.err.println("warning: GenerateRequest has no ignore_eos field; gRPC requests stop at EOS, "
                        + "so tokens per request may fall short of --max-tokens");
            }
            setIgnoreEos = ie;
            build = builderClass.getMethod("build");
            generateStream = stub.getClass().getMethod("generateStream", request);
            withDeadline = stub.getClass().getMethod("withDeadlineAfter", long.class, java.util.concurrent.TimeUnit.class);
            deadlineMillis = (long) (o.timeoutSeconds * 1000);
            hasTokenId = response.getMethod("hasTokenId");
            shutdown = Class.forName("io.grpc.ManagedChannel").getMethod("shutdownNow");
        }

        static Grpc open(Options o) {
            try {
                return new Grpc(o);
            } catch (ClassNotFoundException e) {
                System.err.println("error: --transport grpc is not available in this build: " + e.getMessage() + " is not on the "
                        + "classpath (the gRPC API, proto/loragate/v1 with stubs in io.loragate.api.grpc.v1 and grpc-java, is "
                        + "not part of this build). Use --transport rest.");
                System.exit(3);
                return null;
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("the generated gRPC stubs do not have the expected shape: " + e, e);
            }
        }

        @Override
        public boolean ignoresEos() {
            return setIgnoreEos != null;
        }

        @Override
        public String stream(String adapter, String prompt, int maxTokens, TokenSink sink) {
            try {
                Object rb = newBuilder.invoke(null);
                setAdapterId.invoke(rb, adapter);
                setPrompt.invoke(rb, prompt);
                setMaxTokens.invoke(rb, maxTokens);
                setTemperature.invoke(rb, 0.0);
                if (setIgnoreEos != null) {
                    setIgnoreEos.invoke(rb, true);
                }
                Object call = withDeadline.invoke(stub, deadlineMillis, java.util.concurrent.TimeUnit.MILLISECONDS);
                Iterator<?> it = (Iterator<?>) generateStream.invoke(call, build.invoke(rb));
                while (it.hasNext()) {
                    Object msg = it.next();
                    long now = System.nanoTime();
                    if ((boolean) hasTokenId.invoke(msg)) {
                        sink.token(now);
                    }
                }
                return null;
            } catch (InvocationTargetException e) {
                return grpcError(e.getCause());
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            } catch (RuntimeException e) {
                return grpcError(e);
            }
        }

        static String grpcError(Throwable e) {
            if (e != null && e.getClass().getName().equals("io.grpc.StatusRuntimeException")) {
                try {
                    Object status = e.getClass().getMethod("getStatus").invoke(e);
                    Object code = status.getClass().getMethod("getCode").invoke(status);
                    return "grpc_" + code;
                } catch (ReflectiveOperationException ignored) {
                    // below
                }
            }
            return "client:" + (e == null ? "unknown" : e.getClass().getSimpleName());
        }

        @Override
        public void close() {
            try {
                shutdown.invoke(channel);
            } catch (ReflectiveOperationException e) {
                // closing anyway
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // a random SmolLM2-135M-shaped base to serve (no real checkpoint is needed to measure throughput)

    /**
     * Writes a Hugging Face folder the gateway can serve: EngineBenchmark's random decoder of the
     * SmolLM2-135M shape (hidden 576, 30 layers, 9 heads / 3 KV heads, MLP 1536, vocabulary 49152,
     * tied embeddings, float32) plus a word-level tokenizer.json over the same 49152 ids, whose first
     * entries are this generator's prompt words, so that prompts tokenize one word per token.
     */
    static final class SmolLm2Shape {
        static final int HIDDEN = 576, HEADS = 9, KV_HEADS = 3, INTER = 1536, VOCAB = 49152;

        static ObjectNode write(Path dir, int layers, long seed) throws IOException {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("config.json"), String.format(Locale.ROOT, """
                    {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": %d,
                     "intermediate_size": %d, "num_hidden_layers": %d, "num_attention_heads": %d,
                     "num_key_value_heads": %d, "vocab_size": %d, "max_position_embeddings": 8192,
                     "rms_norm_eps": 1e-5, "rope_theta": 100000.0, "tie_word_embeddings": true,
                     "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"}""", HIDDEN, INTER, layers, HEADS, KV_HEADS, VOCAB));
            Files.writeString(dir.resolve("generation_config.json"), "{\"bos_token_id\": 1, \"eos_token_id\": 2}");
            writeTokenizer(dir.resolve("tokenizer.json"));
            SplittableRandom rnd = new SplittableRandom(seed);
            SafetensorsWriter w = new SafetensorsWriter();
            int hd = HIDDEN / HEADS;
            long params = 0;
            params += add(w, "model.embed_tokens.weight", rnd, VOCAB, HIDDEN);
            for (int i = 0; i < layers; i++) {
                String p = "model.layers." + i;
                w.addFloats(p + ".input_layernorm.weight", new long[] {HIDDEN}, ones(HIDDEN));
                w.addFloats(p + ".post_attention_layernorm.weight", new long[] {HIDDEN}, ones(HIDDEN));
                params += 2L * HIDDEN;
                params += add(w, p + ".self_attn.q_proj.weight", rnd, HEADS * hd, HIDDEN);
                params += add(w, p + ".self_attn.k_proj.weight", rnd, KV_HEADS * hd, HIDDEN);
                params += add(w, p + ".self_attn.v_proj.weight", rnd, KV_HEADS * hd, HIDDEN);
                params += add(w, p + ".self_attn.o_proj.weight", rnd, HIDDEN, HEADS * hd);
                params += add(w, p + ".mlp.gate_proj.weight", rnd, INTER, HIDDEN);
                params += add(w, p + ".mlp.up_proj.weight", rnd, INTER, HIDDEN);
                params += add(w, p + ".mlp.down_proj.weight", rnd, HIDDEN, INTER);
            }
            w.addFloats("model.norm.weight", new long[] {HIDDEN}, ones(HIDDEN));
            params += HIDDEN;
            w.write(dir.resolve("model.safetensors"));
            ObjectNode out = JSON.createObjectNode();
            out.put("model_path", dir.toAbsolutePath().toString());
            out.put("shape", "SmolLM2-135M");
            out.put("layers", layers);
            out.put("parameters", params);
            out.put("weight_bytes", Files.size(dir.resolve("model.safetensors")));
            return out;
        }

        static long add(SafetensorsWriter w, String name, SplittableRandom rnd, int rows, int cols) {
            w.addFloats(name, new long[] {rows, cols}, random(rnd, rows * cols));
            return (long) rows * cols;
        }

        static float[] ones(int n) {
            float[] f = new float[n];
            Arrays.fill(f, 1f);
            return f;
        }

        /** A WordLevel tokenizer: <unk>, <s>, </s>, the prompt words, then w<i> up to the vocabulary size. */
        static void writeTokenizer(Path file) throws IOException {
            ObjectNode t = JSON.createObjectNode();
            t.put("version", "1.0");
            t.putNull("truncation");
            t.putNull("padding");
            ArrayNode added = t.putArray("added_tokens");
            String[] special = {"<unk>", "<s>", "</s>"};
            for (int i = 0; i < special.length; i++) {
                ObjectNode a = added.addObject();
                a.put("id", i);
                a.put("content", special[i]);
                a.put("single_word", false);
                a.put("lstrip", false);
                a.put("rstrip", false);
                a.put("normalized", false);
                a.put("special", true);
            }
            t.putNull("normalizer");
            t.putObject("pre_tokenizer").put("type", "Whitespace");
            t.putNull("post_processor");
            t.putNull("decoder");
            ObjectNode model = t.putObject("model");
            model.put("type", "WordLevel");
            ObjectNode vocab = model.putObject("vocab");
            for (String s : special) {
                vocab.put(s, vocab.size());
            }
            for (String word : WORDS) {
                if (!vocab.has(word)) {
                    vocab.put(word, vocab.size());
                }
            }
            for (int i = 0; vocab.size() < VOCAB; i++) {
                vocab.put("w" + i, vocab.size());
            }
            model.put("unk_token", "<unk>");
            Files.writeString(file, JSON.writeValueAsString(t));
        }
    }

    // ---------------------------------------------------------------------------------------------
    // numbers

    static ObjectNode percentiles(double[] values) {
        ObjectNode p = JSON.createObjectNode();
        double[] v = values.clone();
        Arrays.sort(v);
        p.put("count", v.length);
        if (v.length == 0) {
            return p;
        }
        p.put("mean", round(Arrays.stream(v).average().orElse(0)));
        p.put("p50", round(rank(v, 0.50)));
        p.put("p90", round(rank(v, 0.90)));
        p.put("p99", round(rank(v, 0.99)));
        p.put("max", round(v[v.length - 1]));
        return p;
    }

    /** Nearest-rank percentile of sorted values. */
    static double rank(double[] sorted, double q) {
        int i = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    /** The server's own view of the phase: mean decode batch and the change of its cache counters. */
    static ObjectNode serverDeltas(Map<String, Double> before, Map<String, Double> after) {
        ObjectNode s = JSON.createObjectNode();
        double batches = delta(before, after, "loragate_batch_size_count");
        if (batches > 0) {
            s.put("mean_decode_batch", round(delta(before, after, "loragate_batch_size_sum") / batches));
            s.put("engine_steps", (long) delta(before, after, "loragate_engine_step_seconds_count"));
        }
        double prefills = delta(before, after, "loragate_prefill_batch_size_count");
        if (prefills > 0) {
            s.put("mean_prefill_batch", round(delta(before, after, "loragate_prefill_batch_size_sum") / prefills));
        }
        ObjectNode cache = JSON.createObjectNode();
        after.forEach((k, v) -> {
            String name = k.contains("{") ? k.substring(0, k.indexOf('{')) : k;
            if (name.contains("cache") && (name.endsWith("_total") || name.endsWith("_count") || name.endsWith("_bytes"))) {
                cache.put(k, round(name.endsWith("_bytes") ? v : v - before.getOrDefault(k, 0.0)));
            }
        });
        if (!cache.isEmpty()) {
            s.set("cache", cache);
        }
        return s;
    }

    static double delta(Map<String, Double> before, Map<String, Double> after, String name) {
        return after.getOrDefault(name, 0.0) - before.getOrDefault(name, 0.0);
    }

    static double round(double d) {
        if (Double.isNaN(d) || Double.isInfinite(d)) {
            return d;
        }
        return Math.round(d * 1000) / 1000.0;
    }
}
