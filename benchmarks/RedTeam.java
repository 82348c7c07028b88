import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Red-team replay suite of issue #14 ("one tenant must never be able to corrupt or stall another")
 * against a RUNNING gateway with authentication on. Every attack has a bounded count and duration,
 * talks to 127.0.0.1 only, and ends in one row {@code attack | expected | observed | verdict}
 * (HELD: the gateway behaved as the fix promises; BROKEN: it did not; ERROR: the attack itself
 * could not run). Rows are written to {@code --out} after every attack (so a crash keeps the rows
 * before it); {@code --merge a.json b.json} prints the table of several phases (Markdown, stderr)
 * and their rows as one JSON object (stdout).
 *
 * <p>Phases: {@code --phase decoder} (a gateway on tiny-llama: poisoned adapters, slow uploads,
 * completion flood, a huge chat line, tenant deletion mid-upload, the small items) and
 * {@code --phase encoder} (a gateway on the embedded MiniLM: 50 inputs of ~512 tokens to
 * /v1/embeddings and /v1/classifications, the gateway's RSS watched). {@code benchmarks/redteam.sh}
 * builds, starts both gateways in turn and runs everything.
 *
 * <pre>
 * benchmarks/redteam.sh                                   # everything, table on stderr, JSON on stdout
 * ENCODER_INPUTS=8 benchmarks/redteam.sh                  # the memory attack scaled down (unfixed builds!)
 * java -cp ... RedTeam --phase decoder --url http://127.0.0.1:18090 --pid 1234 --data /tmp/d --admin-key k --out rows.json
 * </pre>
 */
public class RedTeam {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Pattern NON_FINITE = Pattern.compile("\"(NaN|-?Infinity)\"|[:\\[,]\\s*-?(NaN|Infinity)\\b");

    // ------------------------------------------------------------------------------------------
    // options

    String url = "http://127.0.0.1:18090";
    String host = "127.0.0.1";
    int port = 18090;
    long pid = -1;
    Path data;
    Path serverDir;
    String adminKey;
    String phase = "decoder";
    Path out;
    int slowUploads = 240;
    int slowSeconds = 60;
    int slowBytesPerSecond = 10;
    int floodClients = 230;
    int floodSeconds = 30;
    int floodMaxTokens = 200;
    double probeTimeout = 10;
    int encoderInputs = 50;
    int encoderWords = 500;
    int encoderMaxInputs = 64;
    long rssGrowthLimitMb = 1024;
    long rssKillMb = 14_000;
    int fileLimitMb = 16;
    int spoolMb = 64;
    int chatMessages = 200_000;
    int interferenceSeconds = 10;

    // ------------------------------------------------------------------------------------------
    // state

    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    final List<ObjectNode> rows = new CopyOnWriteArrayList<>();
    final AtomicInteger nonFiniteBodies = new AtomicInteger();
    final List<String> nonFiniteSamples = new CopyOnWriteArrayList<>();
    final AtomicInteger pathLeakBodies = new AtomicInteger();
    final List<String> pathLeakSamples = new CopyOnWriteArrayList<>();
    final Map<String, String> keys = new ConcurrentHashMap<>();
    String baseId;
    volatile String metricsKey = "?"; // the key /q/metrics answers 200 to (null: none needed); "?" until known

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--merge")) {
            merge(Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        RedTeam r = new RedTeam();
        r.parse(args);
        r.run();
    }

    void parse(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String k = args[i];
            if (!k.startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --flag value pairs, got " + k);
            }
            String v = args[++i];
            switch (k.substring(2)) {
                case "url" -> url = v.replaceAll("/+$", "");
                case "pid" -> pid = Long.parseLong(v);
                case "data" -> data = Path.of(v).toAbsolutePath().normalize();
                case "server-dir" -> serverDir = Path.of(v).toAbsolutePath().normalize();
                case "admin-key" -> adminKey = v;
                case "phase" -> phase = v;
                case "out" -> out = Path.of(v);
                case "slow-uploads" -> slowUploads = Integer.parseInt(v);
                case "slow-seconds" -> slowSeconds = Integer.parseInt(v);
                case "slow-bytes-per-second" -> slowBytesPerSecond = Integer.parseInt(v);
                case "flood-clients" -> floodClients = Integer.parseInt(v);
                case "flood-seconds" -> floodSeconds = Integer.parseInt(v);
                case "flood-max-tokens" -> floodMaxTokens = Integer.parseInt(v);
                case "probe-timeout" -> probeTimeout = Double.parseDouble(v);
                case "encoder-inputs" -> encoderInputs = Integer.parseInt(v);
                case "encoder-words" -> encoderWords = Integer.parseInt(v);
                case "encoder-max-inputs" -> encoderMaxInputs = Integer.parseInt(v);
                case "rss-growth-limit-mb" -> rssGrowthLimitMb = Long.parseLong(v);
                case "rss-kill-mb" -> rssKillMb = Long.parseLong(v);
                case "file-limit-mb" -> fileLimitMb = Integer.parseInt(v);
                case "spool-mb" -> spoolMb = Integer.parseInt(v);
                case "chat-messages" -> chatMessages = Integer.parseInt(v);
                case "interference-seconds" -> interferenceSeconds = Integer.parseInt(v);
                default -> throw new IllegalArgumentException("unknown flag " + k + " (see the class comment of RedTeam)");
            }
        }
        if (data == null || adminKey == null || out == null) {
            throw new IllegalArgumentException("--data (the gateway's data dir), --admin-key and --out are required");
        }
        URI u = URI.create(url);
        host = u.getHost();
        port = u.getPort();
        if (!host.equals("127.0.0.1") && !host.equals("localhost")) {
            throw new IllegalArgumentException("the red-team suite talks to 127.0.0.1 only, not " + host);
        }
        host = "127.0.0.1";
        if (encoderInputs > encoderMaxInputs) {
            throw new IllegalArgumentException("--encoder-inputs " + encoderInputs + " is over --encoder-max-inputs " + encoderMaxInputs);
        }
    }

    void run() throws Exception {
        log("phase %s against %s (pid %d, data %s)", phase, url, pid, data);
        baseId = null;
        if (phase.equals("decoder")) {
            for (String t : List.of("victim", "attacker", "doomed")) {
                keys.put(t, createTenant(t));
            }
            baseId = baseModelId("victim");
            attack("poisoned adapters", this::poisonedAdapters);
            attack("slow uploads", this::slowUploads);
            attack("completion flood", this::completionFlood);
            attack("huge chat line", this::hugeChat);
            attack("tenant deletion mid-upload", this::deleteMidUpload);
            attack("path in error", this::pathInError);
            attack("name@01", this::leadingZeroVersion);
            attack("metrics", this::openMetrics);
            attack("upload spool", this::uploadSpool);
            attack("abandoned request", this::abandonedRequest);
            attack("file modes", this::fileModes);
            attack("global scans", this::globalScans);
        } else if (phase.equals("encoder")) {
            keys.put("encoder", createTenant("encoder"));
            baseId = baseModelId("encoder");
            attack("encoder memory", this::encoderMemory);
            attack("global scans", this::globalScans);
        } else {
            throw new IllegalArgumentException("--phase is decoder or encoder");
        }
        writeRows();
        log("phase %s: %d rows in %s (benchmarks/redteam.sh prints the table; or RedTeam --merge %s)", phase, rows.size(), out, out);
    }

    interface Attack {
        void run() throws Exception;
    }

    void attack(String name, Attack a) {
        long t0 = System.nanoTime();
        log("== %s", name);
        try {
            a.run();
        } catch (Throwable e) {
            ObjectNode d = JSON.createObjectNode();
            d.put("exception", e.toString());
            row(name, "the attack runs", "the attack failed: " + e, "ERROR", d);
        }
        log("   %s: %.1f s", name, (System.nanoTime() - t0) / 1e9);
        writeRows();
    }

    ObjectNode row(String attack, String expected, String observed, String verdict, ObjectNode details) {
        ObjectNode r = JSON.createObjectNode();
        r.put("phase", phase);
        r.put("attack", attack);
        r.put("expected", expected);
        r.put("observed", observed);
        r.put("verdict", verdict);
        r.set("details", details == null ? JSON.createObjectNode() : details);
        rows.add(r);
        log("   -> %s: %s", verdict, observed);
        return r;
    }

    static String verdict(boolean held) {
        return held ? "HELD" : "BROKEN";
    }

    void writeRows() {
        try {
            ObjectNode o = JSON.createObjectNode();
            ArrayNode a = o.putArray("rows");
            rows.forEach(a::add);
            Files.writeString(out, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o));
        } catch (IOException e) {
            log("cannot write %s: %s", out, e);
        }
    }

    static void log(String fmt, Object... args) {
        System.err.printf(Locale.ROOT, "[redteam] " + fmt + "%n", args);
    }

    // ------------------------------------------------------------------------------------------
    // HTTP

    record Resp(int status, String body, double ms) {
        boolean ok() {
            return status / 100 == 2;
        }

        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException | RuntimeException e) {
                return JSON.createObjectNode();
            }
        }

        String brief() {
            String b = body == null ? "" : body.replaceAll("\\s+", " ");
            return status + (b.isEmpty() ? "" : " " + (b.length() > 160 ? b.substring(0, 160) + "..." : b));
        }
    }

    Resp call(String method, String path, String key, String type, byte[] body, double timeoutS) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofMillis((long) (timeoutS * 1000)));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        if (type != null) {
            b.header("Content-Type", type);
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        long t0 = System.nanoTime();
        try {
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            Resp resp = new Resp(r.statusCode(), r.body(), (System.nanoTime() - t0) / 1e6);
            scan(method + " " + path, r.body(), r.headers().firstValue("content-type").orElse(""));
            return resp;
        } catch (IOException e) {
            return new Resp(-1, "io: " + e, (System.nanoTime() - t0) / 1e6);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Resp(-1, "interrupted", (System.nanoTime() - t0) / 1e6);
        }
    }

    Resp get(String path, String key, double timeoutS) {
        return call("GET", path, key, null, null, timeoutS);
    }

    Resp postJson(String path, String key, Object body, double timeoutS) {
        try {
            return call("POST", path, key, "application/json", JSON.writeValueAsBytes(body), timeoutS);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Every body the suite reads is checked for non-finite JSON numbers and for the server's absolute paths. */
    void scan(String where, String body, String contentType) {
        if (body == null || body.isEmpty()) {
            return;
        }
        if (!where.contains("/q/metrics") && (contentType.contains("json") || body.startsWith("{") || body.startsWith("data:"))) {
            Matcher m = NON_FINITE.matcher(body);
            if (m.find()) {
                nonFiniteBodies.incrementAndGet();
                if (nonFiniteSamples.size() < 5) {
                    nonFiniteSamples.add(where + ": ..." + excerpt(body, m.start()) + "...");
                }
            }
        }
        for (Path p : leakPaths()) {
            int i = body.indexOf(p.toString());
            if (i >= 0) {
                pathLeakBodies.incrementAndGet();
                if (pathLeakSamples.size() < 5) {
                    pathLeakSamples.add(where + ": ..." + excerpt(body, i) + "...");
                }
                break;
            }
        }
    }

    List<Path> leakPaths() {
        List<Path> l = new ArrayList<>();
        l.add(data);
        if (serverDir != null && serverDir.getNameCount() > 1) {
            l.add(serverDir);
        }
        return l;
    }

    static String excerpt(String s, int at) {
        return s.substring(Math.max(0, at - 60), Math.min(s.length(), at + 100)).replaceAll("\\s+", " ");
    }

    String createTenant(String id) {
        Resp r = postJson("/v1/admin/tenants", adminKey, Map.of("id", id), 30);
        if (!r.ok()) {
            throw new IllegalStateException("creating tenant " + id + ": " + r.brief());
        }
        return r.json().path("api_key").asText();
    }

    String baseModelId(String tenant) {
        Resp r = get("/v1/models", keys.get(tenant), 30);
        for (JsonNode m : r.json().path("data")) {
            String owned = m.path("owned_by").asText("");
            if (!m.has("parent") || m.path("parent").isNull() || owned.contains("system") || owned.isEmpty()) {
                return m.path("id").asText();
            }
        }
        JsonNode first = r.json().path("data").path(0);
        if (first.isMissingNode()) {
            throw new IllegalStateException("GET /v1/models: " + r.brief());
        }
        return first.path("id").asText();
    }

    ObjectNode completion(String model, String prompt, int maxTokens) {
        ObjectNode b = JSON.createObjectNode();
        b.put("model", model);
        b.put("prompt", prompt);
        b.put("max_tokens", maxTokens);
        b.put("temperature", 0);
        return b;
    }

    // ------------------------------------------------------------------------------------------
    // multipart and fixtures

    static byte[] multipart(String boundary, Map<String, Object[]> parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (Map.Entry<String, Object[]> e : parts.entrySet()) {
            String filename = (String) e.getValue()[0];
            byte[] content = (byte[]) e.getValue()[1];
            String head = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + e.getKey() + "\""
                    + (filename == null ? "" : "; filename=\"" + filename + "\"") + "\r\nContent-Type: "
                    + (filename == null ? "text/plain; charset=UTF-8" : "application/octet-stream") + "\r\n\r\n";
            b.writeBytes(head.getBytes(StandardCharsets.UTF_8));
            b.writeBytes(content);
            b.writeBytes("\r\n".getBytes(StandardCharsets.UTF_8));
        }
        b.writeBytes(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        return b.toByteArray();
    }

    static byte[] adapterBody(String boundary, String name, String config, byte[] weights) {
        Map<String, Object[]> parts = new LinkedHashMap<>();
        parts.put("name", new Object[] {null, name.getBytes(StandardCharsets.UTF_8)});
        parts.put("config", new Object[] {"adapter_config.json", config.getBytes(StandardCharsets.UTF_8)});
        parts.put("weights", new Object[] {"adapter_model.safetensors", weights});
        return multipart(boundary, parts);
    }

    static byte[] fileBody(String boundary, byte[] content) {
        Map<String, Object[]> parts = new LinkedHashMap<>();
        parts.put("purpose", new Object[] {null, "fine-tune".getBytes(StandardCharsets.UTF_8)});
        parts.put("file", new Object[] {"train.jsonl", content});
        return multipart(boundary, parts);
    }

    Resp registerAdapter(String tenant, String name, String config, byte[] weights) {
        String boundary = "----redteam" + Long.toHexString(System.nanoTime());
        return call("POST", "/v1/adapters", keys.get(tenant), "multipart/form-data; boundary=" + boundary,
                adapterBody(boundary, name, config, weights), 60);
    }

    Resp uploadFile(String tenant, byte[] content, double timeoutS) {
        String boundary = "----redteam" + Long.toHexString(System.nanoTime());
        return call("POST", "/v1/files", keys.get(tenant), "multipart/form-data; boundary=" + boundary,
                fileBody(boundary, content), timeoutS);
    }

    /** A minimal safetensors writer (F32 only), so that the fixtures do not depend on the gateway's own writer's checks. */
    static final class Tensors {
        final Map<String, long[]> shapes = new LinkedHashMap<>();
        final Map<String, float[]> values = new LinkedHashMap<>();

        Tensors add(String name, float[] v, long... shape) {
            shapes.put(name, shape);
            values.put(name, v);
            return this;
        }

        byte[] bytes() {
            StringBuilder h = new StringBuilder("{");
            long offset = 0;
            for (String n : shapes.keySet()) {
                long len = values.get(n).length * 4L;
                if (h.length() > 1) {
                    h.append(',');
                }
                h.append('"').append(n).append("\":{\"dtype\":\"F32\",\"shape\":[");
                long[] s = shapes.get(n);
                for (int i = 0; i < s.length; i++) {
                    h.append(i == 0 ? "" : ",").append(s[i]);
                }
                h.append("],\"data_offsets\":[").append(offset).append(',').append(offset + len).append("]}");
                offset += len;
            }
            h.append('}');
            while (h.length() % 8 != 0) {
                h.append(' ');
            }
            byte[] head = h.toString().getBytes(StandardCharsets.UTF_8);
            ByteBuffer b = ByteBuffer.allocate(8 + head.length + (int) offset).order(ByteOrder.LITTLE_ENDIAN);
            b.putLong(head.length).put(head);
            for (float[] v : values.values()) {
                for (float f : v) {
                    b.putFloat(f);
                }
            }
            return b.array();
        }
    }

    // tiny-llama: hidden 64, 4 heads of 16, 2 KV heads, MLP 160, 2 layers
    static final int HIDDEN = 64, KV = 32, INTER = 160, LAYERS = 2, RANK = 4;

    static float[] fill(int n, float v) {
        float[] f = new float[n];
        Arrays.fill(f, v);
        return f;
    }

    static float[] random(long seed, int n, double scale) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return f;
    }

    static String loraConfig(String alpha, boolean dora) {
        return "{\"peft_type\": \"LORA\", \"r\": " + RANK + ", \"lora_alpha\": " + alpha + ", \"target_modules\": [\"q_proj\", \"v_proj\"],"
                + " \"bias\": \"none\", \"fan_in_fan_out\": false, \"use_rslora\": false, \"use_dora\": " + dora
                + ", \"task_type\": \"CAUSAL_LM\"}";
    }

    /** LoRA on q_proj (64x64) and v_proj (32x64) of both layers; a/b give A's and B's values (null: random). */
    static byte[] lora(Float a, Float b, Float magnitude, long seed) {
        Tensors t = new Tensors();
        for (int l = 0; l < LAYERS; l++) {
            for (String m : List.of("q_proj", "v_proj")) {
                int outDim = m.equals("q_proj") ? HIDDEN : KV;
                String p = "base_model.model.model.layers." + l + ".self_attn." + m;
                t.add(p + ".lora_A.weight", a == null ? random(seed++, RANK * HIDDEN, 0.1) : fill(RANK * HIDDEN, a), RANK, HIDDEN);
                t.add(p + ".lora_B.weight", b == null ? random(seed++, outDim * RANK, 0.1) : fill(outDim * RANK, b), outDim, RANK);
                if (magnitude != null) {
                    t.add(p + ".lora_magnitude_vector", fill(outDim, magnitude), outDim);
                }
            }
        }
        return t.bytes();
    }

    record Fixture(String name, String what, String tensor, String config, byte[] weights) {
    }

    static List<Fixture> poisonedFixtures() {
        List<Fixture> f = new ArrayList<>();
        String lora = loraConfig("8", false);
        f.add(new Fixture("nan-lora-b", "LoRA, lora_B all NaN", "lora_B", lora, lora(null, Float.NaN, null, 1)));
        f.add(new Fixture("inf-lora-a", "LoRA, lora_A all +Inf", "lora_A", lora, lora(Float.POSITIVE_INFINITY, null, null, 2)));
        f.add(new Fixture("alpha-1e308", "LoRA, lora_alpha 1e308", "lora_alpha", loraConfig("1e308", false), lora(null, null, null, 3)));
        f.add(new Fixture("huge-1e38", "LoRA, A and B all 1e38", "lora_", lora, lora(1e38f, 1e38f, null, 4)));
        f.add(new Fixture("nan-dora", "DoRA, NaN magnitudes", "magnitude", loraConfig("8", true), lora(null, null, Float.NaN, 5)));
        f.add(new Fixture("nan-prompt", "prompt tuning, NaN embeddings", "prompt_embeddings",
                "{\"peft_type\": \"PROMPT_TUNING\", \"task_type\": \"CAUSAL_LM\", \"num_virtual_tokens\": 4, \"token_dim\": " + HIDDEN
                        + ", \"num_transformer_submodules\": 1, \"prompt_tuning_init\": \"RANDOM\"}",
                new Tensors().add("prompt_embeddings", fill(4 * HIDDEN, Float.NaN), 4, HIDDEN).bytes()));
        Tensors ia3 = new Tensors();
        for (int l = 0; l < LAYERS; l++) {
            String p = "base_model.model.model.layers." + l;
            ia3.add(p + ".self_attn.k_proj.ia3_l", fill(KV, Float.NaN), KV, 1);
            ia3.add(p + ".self_attn.v_proj.ia3_l", fill(KV, Float.NaN), KV, 1);
            ia3.add(p + ".mlp.down_proj.ia3_l", fill(INTER, Float.NaN), 1, INTER);
        }
        f.add(new Fixture("nan-ia3", "IA3, NaN vectors", "ia3_l",
                "{\"peft_type\": \"IA3\", \"task_type\": \"CAUSAL_LM\", \"target_modules\": [\"k_proj\", \"v_proj\", \"down_proj\"],"
                        + " \"feedforward_modules\": [\"down_proj\"], \"init_ia3_weights\": true, \"fan_in_fan_out\": false}",
                ia3.bytes()));
        return f;
    }

    // ------------------------------------------------------------------------------------------
    // 1. non-finite adapters

    static final List<String> VICTIM_PROMPTS = List.of("The weather today", "Once upon a time", "def main():", "Refund policy:",
            "1, 2, 3,", "Dear customer");

    ObjectNode victimRequest(String prompt) {
        ObjectNode b = completion(baseId, prompt, 12);
        b.put("logprobs", 1);
        b.put("return_token_ids", true);
        b.put("ignore_eos", true);
        return b;
    }

    /** The victim's answer as token ids (null: failed) and whether its logprobs hold a non-finite value. */
    record Answer(String tokens, boolean nonFinite, int status) {
    }

    Answer victimAnswer(String prompt) {
        Resp r = postJson("/v1/completions", keys.get("victim"), victimRequest(prompt), 60);
        if (!r.ok()) {
            return new Answer(null, false, r.status());
        }
        JsonNode c = r.json().path("choices").path(0);
        boolean nonFinite = NON_FINITE.matcher(r.body()).find();
        for (JsonNode lp : c.path("logprobs").path("token_logprobs")) {
            if (!lp.isNumber() || !Double.isFinite(lp.asDouble())) {
                nonFinite = true;
            }
        }
        return new Answer(c.path("token_ids").toString() + "|" + c.path("text").asText(), nonFinite, r.status());
    }

    void poisonedAdapters() throws Exception {
        List<String> accepted = new ArrayList<>();
        ObjectNode all = JSON.createObjectNode();
        // control: a valid adapter is accepted, else nothing below means anything
        Resp control = registerAdapter("attacker", "control", loraConfig("8", false), lora(null, null, null, 99));
        all.put("control_upload", control.brief());
        for (Fixture f : poisonedFixtures()) {
            Resp r = registerAdapter("attacker", f.name(), f.config(), f.weights());
            String message = r.json().path("error").path("message").asText("");
            boolean named = message.contains(f.tensor()) || r.json().path("error").path("param").asText("").contains(f.tensor());
            ObjectNode d = JSON.createObjectNode();
            d.put("status", r.status());
            d.put("body", r.body().length() > 400 ? r.body().substring(0, 400) : r.body());
            d.put("names_tensor", named);
            d.put("control_upload_status", control.status());
            if (r.ok()) {
                accepted.add(f.name());
            }
            row("poisoned upload: " + f.what(), "400 naming the tensor",
                    r.status() + (r.ok() ? " accepted as " + r.json().path("id").asText() : "") + (r.status() == 400 ? (named ? ", names it" : ", does not name " + f.tensor()) : "")
                            + (r.ok() || r.status() == 400 ? "" : ": " + r.brief()),
                    verdict(r.status() == 400), d);
        }
        // the victim's greedy answers alone, then while the attacker serves its accepted adapters, then after
        Map<String, Answer> solo = new LinkedHashMap<>();
        for (String p : VICTIM_PROMPTS) {
            solo.put(p, victimAnswer(p));
        }
        ObjectNode d = JSON.createObjectNode();
        d.set("accepted", JSON.valueToTree(accepted));
        d.put("control_upload", control.brief());
        if (accepted.isEmpty()) {
            row("poisoned adapters vs another tenant's greedy answers", "victim's answers identical to solo, no NaN logprobs",
                    "no poisoned adapter was accepted: nothing to serve", "HELD", d);
            return;
        }
        AtomicBoolean stop = new AtomicBoolean();
        Map<String, Integer> attackerStatus = new ConcurrentHashMap<>();
        AtomicInteger attackerNonFinite = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<?>> fs = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int t0 = t;
            fs.add(pool.submit(() -> {
                int i = t0;
                while (!stop.get()) {
                    String adapter = accepted.get(i++ % accepted.size());
                    ObjectNode b = completion(adapter, VICTIM_PROMPTS.get(i % VICTIM_PROMPTS.size()), 16);
                    b.put("logprobs", 1);
                    b.put("ignore_eos", true);
                    Resp r = postJson("/v1/completions", keys.get("attacker"), b, 60);
                    attackerStatus.merge(adapter + ":" + r.status(), 1, Integer::sum);
                    if (NON_FINITE.matcher(r.body()).find()) {
                        attackerNonFinite.incrementAndGet();
                    }
                }
                return null;
            }));
        }
        int[] during = compare(solo, interferenceSeconds);
        stop.set(true);
        for (Future<?> f : fs) {
            f.get(120, TimeUnit.SECONDS);
        }
        pool.shutdown();
        int[] after = compare(solo, 0);
        d.put("victim_requests_during", during[0]);
        d.put("victim_differs_during", during[1]);
        d.put("victim_nonfinite_during", during[2]);
        d.put("victim_failed_during", during[3]);
        d.put("victim_requests_after", after[0]);
        d.put("victim_differs_after", after[1]);
        d.put("victim_nonfinite_after", after[2]);
        d.put("victim_failed_after", after[3]);
        d.set("attacker_status", JSON.valueToTree(new TreeMap<>(attackerStatus)));
        d.put("attacker_bodies_with_nonfinite", attackerNonFinite.get());
        boolean held = during[1] + during[2] + during[3] + after[1] + after[2] + after[3] == 0;
        row("poisoned adapters vs another tenant's greedy answers", "victim's answers identical to solo, no NaN logprobs",
                String.format(Locale.ROOT, "%d accepted; victim during: %d/%d differ, %d NaN logprobs, %d failed; after: %d/%d differ, %d NaN, %d failed;"
                                + " attacker bodies with NaN: %d", accepted.size(), during[1], during[0], during[2], during[3], after[1], after[0],
                        after[2], after[3], attackerNonFinite.get()),
                verdict(held), d);
    }

    /** Victim requests for {@code seconds} (0: one round): {requests, differ from solo, non-finite logprobs, failed}. */
    int[] compare(Map<String, Answer> solo, int seconds) {
        int[] c = new int[4];
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        do {
            for (String p : VICTIM_PROMPTS) {
                Answer a = victimAnswer(p);
                c[0]++;
                if (a.tokens() == null) {
                    c[3]++;
                } else if (!a.tokens().equals(solo.get(p).tokens())) {
                    c[1]++;
                }
                if (a.nonFinite()) {
                    c[2]++;
                }
            }
        } while (System.nanoTime() < end);
        return c;
    }

    // ------------------------------------------------------------------------------------------
    // probes of the victim while an attack runs

    final class Probes {
        final Map<String, List<Double>> ok = new TreeMap<>();
        final Map<String, Map<String, Integer>> failed = new TreeMap<>();
        final AtomicBoolean stop = new AtomicBoolean();
        Object grpc; // GrpcProbe, when the stubs are there
        String grpcSkip;

        Probes start() {
            try {
                grpc = new GrpcProbe(host, port, keys.get("victim"));
            } catch (Throwable e) {
                grpcSkip = e.toString();
            }
            // one thread per probe, so that one stalled endpoint does not hide how the others answer
            probe("/q/health/ready", () -> get("/q/health/ready", null, probeTimeout));
            probe("/q/health/live", () -> get("/q/health/live", null, probeTimeout));
            probe("/q/health/started", () -> get("/q/health/started", null, probeTimeout));
            probe("/q/metrics", () -> metrics(probeTimeout));
            probe("/v1/models", () -> get("/v1/models", keys.get("victim"), probeTimeout));
            probe("/v1/completions", () -> postJson("/v1/completions", keys.get("victim"), completion(baseId, "Hello there", 4), probeTimeout));
            if (grpc != null) {
                probe("grpc ListModels", () -> {
                    long g0 = System.nanoTime();
                    String err = ((GrpcProbe) grpc).listModels(probeTimeout);
                    return new Resp(err == null ? 200 : -1, err == null ? "" : err, (System.nanoTime() - g0) / 1e6);
                });
            }
            return this;
        }

        final List<Thread> threads = new ArrayList<>();

        void probe(String name, java.util.function.Supplier<Resp> call) {
            Thread t = new Thread(() -> {
                while (!stop.get()) {
                    long t0 = System.nanoTime();
                    Resp r = call.get();
                    record(name, r.status(), r.ms(), r.body());
                    long left = 1000 - (System.nanoTime() - t0) / 1_000_000;
                    if (left > 0) {
                        sleep(left);
                    }
                }
            }, "probe " + name);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }

        void record(String name, int status, double ms, String error) {
            synchronized (this) {
                if (status / 100 == 2 && ms <= probeTimeout * 1000) {
                    ok.computeIfAbsent(name, k -> new ArrayList<>()).add(ms);
                } else {
                    String why = status == -1 ? (error != null && (error.contains("Timeout") || error.contains("timed out")) ? "timeout"
                            : name.startsWith("grpc") ? "grpc_" + error : "io") : "http_" + status;
                    failed.computeIfAbsent(name, k -> new TreeMap<>()).merge(why, 1, Integer::sum);
                }
            }
        }

        ObjectNode stop() throws InterruptedException {
            stop.set(true);
            for (Thread t : threads) {
                t.join((long) (probeTimeout * 1000) + 5000);
            }
            if (grpc != null) {
                ((GrpcProbe) grpc).close();
            }
            ObjectNode o = JSON.createObjectNode();
            synchronized (this) {
                Set<String> names = new java.util.TreeSet<>(ok.keySet());
                names.addAll(failed.keySet());
                for (String n : names) {
                    ObjectNode p = o.putObject(n);
                    List<Double> l = ok.getOrDefault(n, List.of());
                    double[] v = l.stream().mapToDouble(Double::doubleValue).sorted().toArray();
                    p.put("ok", v.length);
                    p.set("failed", JSON.valueToTree(failed.getOrDefault(n, Map.of())));
                    if (v.length > 0) {
                        p.put("p50_ms", round(v[v.length / 2]));
                        p.put("max_ms", round(v[v.length - 1]));
                    }
                }
                if (grpcSkip != null) {
                    o.put("grpc", "skipped: " + grpcSkip);
                }
            }
            return o;
        }

        int failures() {
            synchronized (this) {
                return failed.values().stream().mapToInt(m -> m.values().stream().mapToInt(Integer::intValue).sum()).sum();
            }
        }

        String summary() {
            synchronized (this) {
                StringBuilder s = new StringBuilder();
                Set<String> names = new java.util.TreeSet<>(ok.keySet());
                names.addAll(failed.keySet());
                for (String n : names) {
                    List<Double> l = ok.getOrDefault(n, List.of());
                    double max = l.stream().mapToDouble(Double::doubleValue).max().orElse(0);
                    int f = failed.getOrDefault(n, Map.of()).values().stream().mapToInt(Integer::intValue).sum();
                    s.append(s.length() == 0 ? "" : "; ").append(n.replace("/q/health/", "")).append(' ').append(l.size()).append('/')
                            .append(l.size() + f).append(" ok").append(l.isEmpty() ? "" : String.format(Locale.ROOT, " (max %.0f ms)", max));
                }
                if (grpcSkip != null) {
                    s.append("; gRPC skipped");
                }
                return s.toString();
            }
        }
    }

    /** gRPC ListModels with the victim's key (the generated stubs are in target/classes). */
    static final class GrpcProbe {
        final io.grpc.ManagedChannel channel;
        final io.loragate.api.grpc.v1.InferenceServiceGrpc.InferenceServiceBlockingStub stub;

        GrpcProbe(String host, int port, String key) {
            channel = io.grpc.ManagedChannelBuilder.forAddress(host, port).usePlaintext().build();
            io.grpc.Metadata md = new io.grpc.Metadata();
            md.put(io.grpc.Metadata.Key.of("authorization", io.grpc.Metadata.ASCII_STRING_MARSHALLER), "Bearer " + key);
            stub = io.loragate.api.grpc.v1.InferenceServiceGrpc.newBlockingStub(channel)
                    .withInterceptors(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(md));
        }

        String listModels(double timeoutS) {
            try {
                stub.withDeadlineAfter((long) (timeoutS * 1000), TimeUnit.MILLISECONDS)
                        .listModels(io.loragate.api.grpc.v1.ListModelsRequest.getDefaultInstance());
                return null;
            } catch (io.grpc.StatusRuntimeException e) {
                return e.getStatus().getCode() == io.grpc.Status.Code.DEADLINE_EXCEEDED ? "Timeout" : e.getStatus().getCode().toString();
            } catch (RuntimeException e) {
                return e.toString();
            }
        }

        void close() {
            channel.shutdownNow();
        }
    }

    // ------------------------------------------------------------------------------------------
    // 2. slow uploads, and a completion flood

    /** A raw HTTP/1.1 exchange on its own socket. */
    static final class Raw implements AutoCloseable {
        final Socket s;
        final OutputStream out;
        final InputStream in;

        Raw(String host, int port) throws IOException {
            s = new Socket();
            s.connect(new InetSocketAddress(host, port), 10_000);
            s.setTcpNoDelay(true);
            out = s.getOutputStream();
            in = s.getInputStream();
        }

        void head(String method, String path, String key, String type, long length) throws IOException {
            String h = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + (key == null ? "" : "Authorization: Bearer " + key + "\r\n")
                    + (type == null ? "" : "Content-Type: " + type + "\r\n")
                    + (length >= 0 ? "Content-Length: " + length + "\r\n" : "Transfer-Encoding: chunked\r\n") + "\r\n";
            out.write(h.getBytes(StandardCharsets.US_ASCII));
            out.flush();
        }

        /** Whether an answer has started to arrive within {@code ms}. */
        boolean answered(int ms) throws IOException {
            s.setSoTimeout(ms);
            try {
                int b = in.read();
                if (b < 0) {
                    throw new IOException("closed");
                }
                pushback = b;
                return true;
            } catch (SocketTimeoutException e) {
                return false;
            }
        }

        int pushback = -1;

        int read() throws IOException {
            if (pushback >= 0) {
                int b = pushback;
                pushback = -1;
                return b;
            }
            return in.read();
        }

        /** Reads one response: {status, body}; status -1 if the connection closed before a status line. */
        Resp response(int timeoutMs) throws IOException {
            long t0 = System.nanoTime();
            s.setSoTimeout(timeoutMs);
            ByteArrayOutputStream h = new ByteArrayOutputStream();
            int b;
            while ((b = read()) >= 0) {
                h.write(b);
                byte[] a = h.toByteArray();
                int n = a.length;
                if (n >= 4 && a[n - 4] == '\r' && a[n - 3] == '\n' && a[n - 2] == '\r' && a[n - 1] == '\n') {
                    break;
                }
            }
            String head = h.toString(StandardCharsets.ISO_8859_1);
            if (!head.startsWith("HTTP/")) {
                return new Resp(-1, "no status line: " + head, (System.nanoTime() - t0) / 1e6);
            }
            int status = Integer.parseInt(head.substring(9, 12));
            long length = -1;
            boolean chunked = false;
            for (String line : head.split("\r\n")) {
                String l = line.toLowerCase(Locale.ROOT);
                if (l.startsWith("content-length:")) {
                    length = Long.parseLong(l.substring(15).trim());
                } else if (l.startsWith("transfer-encoding:") && l.contains("chunked")) {
                    chunked = true;
                }
            }
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            try {
                if (length >= 0) {
                    for (long i = 0; i < length && (b = read()) >= 0; i++) {
                        body.write(b);
                    }
                } else if (chunked) {
                    while (true) {
                        StringBuilder sz = new StringBuilder();
                        while ((b = read()) >= 0 && b != '\n') {
                            if (b != '\r') {
                                sz.append((char) b);
                            }
                        }
                        int n = Integer.parseInt(sz.toString().split(";")[0].trim(), 16);
                        if (n == 0) {
                            break;
                        }
                        for (int i = 0; i < n && (b = read()) >= 0; i++) {
                            body.write(b);
                        }
                        read();
                        read();
                    }
                } else if (!head.toLowerCase(Locale.ROOT).contains("connection: close")) {
                    // no length: nothing more is expected
                } else {
                    while ((b = read()) >= 0) {
                        body.write(b);
                    }
                }
            } catch (SocketTimeoutException | NumberFormatException e) {
                // what came is enough
            }
            return new Resp(status, body.toString(StandardCharsets.UTF_8), (System.nanoTime() - t0) / 1e6);
        }

        @Override
        public void close() {
            try {
                s.close();
            } catch (IOException e) {
                // closing
            }
        }
    }

    void slowUploads() throws Exception {
        Probes probes = new Probes().start();
        sleep(3000); // a baseline before the flood
        Map<String, Integer> outcomes = new ConcurrentHashMap<>();
        Map<String, List<Double>> endTimes = new ConcurrentHashMap<>();
        AtomicInteger connected = new AtomicInteger();
        long deadline = System.nanoTime() + slowSeconds * 1_000_000_000L;
        List<Thread> threads = new ArrayList<>();
        long start = System.nanoTime();
        for (int i = 0; i < slowUploads; i++) {
            String path = i % 2 == 0 ? "/v1/adapters" : "/v1/files";
            Thread t = new Thread(() -> {
                String outcome;
                long t0 = System.nanoTime();
                String boundary = "----slowloris";
                byte[] prefix = ("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + (path.endsWith("files") ? "file" : "weights")
                        + "\"; filename=\"x.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
                try (Raw raw = new Raw(host, port)) {
                    connected.incrementAndGet();
                    raw.head("POST", path, keys.get("attacker"), "multipart/form-data; boundary=" + boundary, 400_000_000L);
                    long sent = 0;
                    outcome = "still_open";
                    while (System.nanoTime() < deadline) {
                        byte[] chunk = new byte[slowBytesPerSecond];
                        for (int k = 0; k < chunk.length; k++, sent++) {
                            chunk[k] = sent < prefix.length ? prefix[(int) sent] : (byte) 'x';
                        }
                        try {
                            raw.out.write(chunk);
                            raw.out.flush();
                        } catch (IOException e) {
                            outcome = "closed_while_sending";
                        }
                        if (raw.answered(1000)) {
                            Resp r = raw.response(5000);
                            outcome = r.status() < 0 ? "closed_without_answer" : "http_" + r.status();
                            break;
                        }
                        if (outcome.equals("closed_while_sending")) {
                            break;
                        }
                    }
                } catch (IOException e) {
                    outcome = (e.getMessage() != null && e.getMessage().contains("closed") ? "closed_without_answer" : "io_" + e.getClass().getSimpleName());
                }
                outcomes.merge(outcome, 1, Integer::sum);
                endTimes.computeIfAbsent(outcome, k -> new CopyOnWriteArrayList<>()).add((System.nanoTime() - t0) / 1e9);
            }, "slow-" + i);
            t.setDaemon(true);
            threads.add(t);
            t.start();
            sleep(5);
        }
        for (Thread t : threads) {
            t.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000 + 15_000));
        }
        log("   slow uploads ended after %.1f s: %s", (System.nanoTime() - start) / 1e9, outcomes);
        sleep(3000); // does the victim recover once they are gone?
        ObjectNode p = probes.stop();
        ObjectNode d = JSON.createObjectNode();
        d.put("slow_uploads", slowUploads);
        d.put("connected", connected.get());
        d.put("bytes_per_second", slowBytesPerSecond);
        d.put("window_s", slowSeconds);
        d.set("outcomes", JSON.valueToTree(new TreeMap<>(outcomes)));
        ObjectNode ends = d.putObject("mean_end_s");
        endTimes.forEach((k, v) -> ends.put(k, round(v.stream().mapToDouble(Double::doubleValue).average().orElse(0))));
        d.set("victim_probes", p);
        int fails = probes.failures();
        row("slow uploads: another tenant's service", "health, /q/metrics, /v1/models, completions (and gRPC) of the victim answer",
                String.format(Locale.ROOT, "%d slow uploads (%d B/s, %d s): %d victim probes failed: %s", slowUploads, slowBytesPerSecond,
                        slowSeconds, fails, probes.summary()),
                verdict(fails == 0), d);
        int good = 0;
        int bad = 0;
        for (Map.Entry<String, Integer> e : outcomes.entrySet()) {
            if (e.getKey().equals("http_408") || e.getKey().equals("http_429") || e.getKey().equals("http_413")) {
                good += e.getValue();
            } else {
                bad += e.getValue();
            }
        }
        row("slow uploads: how they end", "each ends in 408 or 429 (413 accepted) within the window",
                new TreeMap<>(outcomes) + " (mean seconds to end: " + ends + ")", verdict(bad == 0 && good > 0), d);
    }

    void completionFlood() throws Exception {
        Probes probes = new Probes().start();
        sleep(2000);
        Map<String, Integer> statuses = new ConcurrentHashMap<>();
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService pool = Executors.newFixedThreadPool(floodClients);
        List<Future<?>> fs = new ArrayList<>();
        for (int i = 0; i < floodClients; i++) {
            int c = i;
            fs.add(pool.submit(() -> {
                while (!stop.get()) {
                    ObjectNode b = completion(baseId, "flood " + c, floodMaxTokens);
                    b.put("ignore_eos", true);
                    Resp r = postJson("/v1/completions", keys.get("attacker"), b, 300);
                    statuses.merge(r.status() < 0 ? (r.body().contains("Timeout") ? "timeout" : "io") : "http_" + r.status(), 1, Integer::sum);
                }
                return null;
            }));
        }
        sleep(floodSeconds * 1000L);
        stop.set(true);
        for (Future<?> f : fs) {
            try {
                f.get(300, TimeUnit.SECONDS);
            } catch (Exception e) {
                statuses.merge("client_" + e.getClass().getSimpleName(), 1, Integer::sum);
            }
        }
        pool.shutdownNow();
        ObjectNode p = probes.stop();
        ObjectNode d = JSON.createObjectNode();
        d.put("clients", floodClients);
        d.put("seconds", floodSeconds);
        d.put("max_tokens", floodMaxTokens);
        d.set("attacker_status", JSON.valueToTree(new TreeMap<>(statuses)));
        d.set("victim_probes", p);
        int fails = probes.failures();
        row("completion flood: " + floodClients + " concurrent non-streaming completions",
                "health, /q/metrics, /v1/models, completions (and gRPC) of the victim answer",
                String.format(Locale.ROOT, "attacker %s; %d victim probes failed: %s", new TreeMap<>(statuses), fails, probes.summary()),
                verdict(fails == 0), d);
    }

    // ------------------------------------------------------------------------------------------
    // RSS

    final class Rss implements Runnable {
        final AtomicLong peakKb = new AtomicLong();
        final AtomicBoolean stop = new AtomicBoolean();
        volatile boolean killed;
        long baselineKb;
        long hwmBeforeKb;
        Thread thread;

        Rss start() {
            baselineKb = status("VmRSS");
            hwmBeforeKb = status("VmHWM");
            peakKb.set(baselineKb);
            thread = new Thread(this, "rss");
            thread.setDaemon(true);
            thread.start();
            return this;
        }

        long status(String field) {
            if (pid <= 0) {
                return -1;
            }
            try {
                for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                    if (l.startsWith(field + ":")) {
                        return Long.parseLong(l.replaceAll("[^0-9]", ""));
                    }
                }
            } catch (IOException | RuntimeException e) {
                // the process is gone
            }
            return -1;
        }

        @Override
        public void run() {
            while (!stop.get()) {
                long kb = status("VmRSS");
                peakKb.accumulateAndGet(kb, Math::max);
                if (kb > rssKillMb * 1024 && !killed) {
                    killed = true;
                    log("   RSS %d MB is over --rss-kill-mb %d: killing the gateway (pid %d) to protect the machine", kb / 1024, rssKillMb, pid);
                    ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
                }
                sleep(50);
            }
        }

        ObjectNode stop() throws InterruptedException {
            stop.set(true);
            thread.join(2000);
            ObjectNode o = JSON.createObjectNode();
            o.put("rss_before_mb", baselineKb / 1024);
            o.put("rss_peak_mb", peakKb.get() / 1024);
            o.put("rss_growth_mb", (peakKb.get() - baselineKb) / 1024);
            o.put("vm_hwm_before_mb", hwmBeforeKb / 1024);
            o.put("vm_hwm_after_mb", status("VmHWM") / 1024);
            o.put("rss_after_mb", status("VmRSS") / 1024);
            o.put("killed_over_limit", killed);
            return o;
        }

        long growthMb() {
            return (Math.max(peakKb.get(), status("VmHWM") > hwmBeforeKb ? status("VmHWM") : 0) - baselineKb) / 1024;
        }
    }

    // ------------------------------------------------------------------------------------------
    // 3. memory: a huge chat line, and encoder inputs

    void hugeChat() throws Exception {
        StringBuilder line = new StringBuilder("{\"messages\": [");
        for (int i = 0; i < chatMessages; i++) {
            line.append(i == 0 ? "" : ",").append(i % 2 == 0 ? "{\"role\":\"user\",\"content\":\"hi\"}" : "{\"role\":\"assistant\",\"content\":\"ok\"}");
        }
        line.append("]}\n{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"assistant\", \"content\": \"b\"}]}\n");
        byte[] content = line.toString().getBytes(StandardCharsets.UTF_8);
        Rss rss = new Rss().start();
        Resp r = uploadFile("attacker", content, 180);
        ObjectNode m = rss.stop();
        ObjectNode d = JSON.createObjectNode();
        d.put("messages", chatMessages);
        d.put("bytes", content.length);
        d.put("status", r.status());
        d.put("seconds", round(r.ms() / 1000));
        JsonNode report = r.json().path("report");
        d.set("report", report.isObject() ? ((ObjectNode) report.deepCopy()).without("errors") : report);
        d.set("errors", r.json().path("report").path("errors"));
        d.setAll(m);
        long growth = rss.growthMb();
        boolean held = r.status() > 0 && r.ms() < 30_000 && growth < rssGrowthLimitMb && !rss.killed;
        row(String.format(Locale.ROOT, "dataset line with a %d-message chat (%.1f MB)", chatMessages, content.length / 1e6),
                "answered in < 30 s, RSS growth < " + rssGrowthLimitMb + " MB (lead judges the numbers)",
                String.format(Locale.ROOT, "%d in %.1f s; RSS %d -> peak %d MB (+%d), VmHWM %d MB", r.status(), r.ms() / 1000,
                        m.path("rss_before_mb").asLong(), m.path("rss_peak_mb").asLong(), growth, m.path("vm_hwm_after_mb").asLong()),
                verdict(held), d);
    }

    void encoderMemory() throws Exception {
        String[] words = ("the of and to in is was for on that with as by at from his her an were are which this be "
                + "had not but what all when there can more one time said been other into some could them than then now "
                + "only its over also new after first two way may any work people year water long day part").split(" ");
        List<String> inputs = new ArrayList<>();
        SplittableRandom rnd = new SplittableRandom(14);
        for (int i = 0; i < encoderInputs; i++) {
            StringBuilder s = new StringBuilder();
            for (int w = 0; w < encoderWords; w++) {
                s.append(w == 0 ? "" : " ").append(words[rnd.nextInt(words.length)]);
            }
            inputs.add(s.toString());
        }
        // a linear probe (classifier head on the mean pool), so that /v1/classifications has something to apply
        int hidden = 384;
        Tensors head = new Tensors().add("base_model.model.classifier.weight", random(3, 2 * hidden, 0.05), 2, hidden)
                .add("base_model.model.classifier.bias", new float[2], 2);
        Resp reg = registerAdapter("encoder", "probe",
                "{\"peft_type\": \"LORA\", \"task_type\": \"SEQ_CLS\", \"r\": 8, \"lora_alpha\": 8, \"target_modules\": [],"
                        + " \"modules_to_save\": [\"classifier\"], \"loragate_labels\": [\"a\", \"b\"]}", head.bytes());
        log("   classifier probe registration: %s", reg.brief());
        // warm-up with one small input, so that model loading is not counted
        postJson("/v1/embeddings", keys.get("encoder"), Map.of("model", baseId, "input", List.of("warm up")), 120);
        for (String endpoint : List.of("/v1/embeddings", "/v1/classifications")) {
            String model = endpoint.endsWith("embeddings") ? baseId : "probe";
            Rss rss = new Rss().start();
            Resp r = postJson(endpoint, keys.get("encoder"), Map.of("model", model, "input", inputs), 300);
            ObjectNode m = rss.stop();
            ObjectNode d = JSON.createObjectNode();
            d.put("inputs", encoderInputs);
            d.put("words_per_input", encoderWords);
            d.put("status", r.status());
            d.put("seconds", round(r.ms() / 1000));
            d.put("body", r.ok() ? "" : r.brief());
            d.put("usage_tokens", r.json().path("usage").path("prompt_tokens").asInt(-1));
            if (endpoint.endsWith("classifications")) {
                d.put("probe_registration", reg.brief());
            }
            d.setAll(m);
            long growth = rss.growthMb();
            boolean held = r.status() > 0 && growth < rssGrowthLimitMb && !rss.killed;
            row(endpoint + " with " + encoderInputs + " inputs of ~" + encoderWords + " words (MiniLM" + (d.path("usage_tokens").asInt() > 0
                            ? ", " + d.path("usage_tokens").asInt() + " tokens" : "") + ")",
                    "RSS growth < " + rssGrowthLimitMb + " MB (lead judges the numbers)",
                    String.format(Locale.ROOT, "%s in %.1f s; RSS %d -> peak %d MB (+%d), VmHWM %d MB%s", r.ok() ? "" + r.status() : r.brief(),
                            r.ms() / 1000, m.path("rss_before_mb").asLong(), m.path("rss_peak_mb").asLong(), growth,
                            m.path("vm_hwm_after_mb").asLong(), rss.killed ? " KILLED over --rss-kill-mb" : ""),
                    verdict(held), d);
            if (rss.killed) {
                return;
            }
            sleep(2000);
        }
    }

    // ------------------------------------------------------------------------------------------
    // 4. tenant deletion while its uploads are in flight

    Set<Path> listFiles(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return Set.of();
        }
        try (Stream<Path> s = Files.walk(dir)) {
            return new HashSet<>(s.filter(Files::isRegularFile).toList());
        }
    }

    void deleteMidUpload() throws Exception {
        String key = keys.get("doomed");
        Set<Path> blobsBefore = listFiles(data.resolve("files"));
        Set<Path> tmpBefore = listFiles(data.resolve("tmp"));
        String b1 = "----redteam-doomed-a";
        byte[] adapter = adapterBody(b1, "late", loraConfig("8", false), lora(null, null, null, 77));
        String b2 = "----redteam-doomed-f";
        byte[] dataset = fileBody(b2, ("{\"prompt\": \"doomed " + System.nanoTime() + "\", \"completion\": \"yes\"}\n"
                + "{\"prompt\": \"b\", \"completion\": \"c\"}\n").getBytes(StandardCharsets.UTF_8));
        ObjectNode d = JSON.createObjectNode();
        try (Raw a = new Raw(host, port); Raw f = new Raw(host, port)) {
            a.head("POST", "/v1/adapters", key, "multipart/form-data; boundary=" + b1, adapter.length);
            f.head("POST", "/v1/files", key, "multipart/form-data; boundary=" + b2, dataset.length);
            a.out.write(adapter, 0, adapter.length / 2);
            a.out.flush();
            f.out.write(dataset, 0, dataset.length / 2);
            f.out.flush();
            sleep(1500);
            Resp del = call("DELETE", "/v1/admin/tenants/doomed", adminKey, null, null, 30);
            d.put("delete", del.brief());
            sleep(500);
            String aStatus;
            String fStatus;
            try {
                a.out.write(adapter, adapter.length / 2, adapter.length - adapter.length / 2);
                a.out.flush();
                Resp ra = a.response(30_000);
                aStatus = ra.status() < 0 ? "closed" : ra.brief();
            } catch (IOException e) {
                aStatus = "io: " + e.getMessage();
            }
            try {
                f.out.write(dataset, dataset.length / 2, dataset.length - dataset.length / 2);
                f.out.flush();
                Resp rf = f.response(30_000);
                fStatus = rf.status() < 0 ? "closed" : rf.brief();
            } catch (IOException e) {
                fStatus = "io: " + e.getMessage();
            }
            d.put("adapter_upload", aStatus);
            d.put("dataset_upload", fStatus);
            sleep(2000);
            List<String> left = new ArrayList<>();
            for (Path p : listFiles(data.resolve("adapters").resolve("doomed"))) {
                left.add(data.relativize(p).toString());
            }
            if (Files.isDirectory(data.resolve("adapters").resolve("doomed"))) {
                left.add("adapters/doomed/ (folder)");
            }
            for (Path p : listFiles(data.resolve("files"))) {
                if (!blobsBefore.contains(p)) {
                    left.add(data.relativize(p).toString());
                }
            }
            for (Path p : listFiles(data.resolve("tmp"))) {
                if (!tmpBefore.contains(p)) {
                    left.add(data.relativize(p).toString());
                }
            }
            d.set("left_on_disk", JSON.valueToTree(left));
            Resp after = get("/v1/adapters", key, 10);
            d.put("doomed_key_after", after.status());
            boolean deleted = del.ok();
            boolean late200 = aStatus.startsWith("200") || fStatus.startsWith("200") || aStatus.startsWith("201") || fStatus.startsWith("201");
            boolean held = deleted ? !late200 && left.isEmpty() : true;
            row("delete a tenant while its adapter and dataset uploads are in flight",
                    "the late uploads do not answer 200 and nothing of the tenant stays on disk (or the deletion is refused)",
                    "delete " + del.status() + "; adapter upload " + first(aStatus) + ", dataset upload " + first(fStatus) + "; left on disk: "
                            + (left.isEmpty() ? "nothing" : left.size() + " " + left),
                    verdict(held), d);
        }
    }

    static String first(String s) {
        return s.length() > 60 ? s.substring(0, 60) + "..." : s;
    }

    // ------------------------------------------------------------------------------------------
    // 5. small items

    void pathInError() throws Exception {
        Resp reg = registerAdapter("attacker", "fragile", loraConfig("8", false), lora(null, null, null, 11));
        ObjectNode d = JSON.createObjectNode();
        d.put("register", reg.brief());
        call("POST", "/v1/adapters/fragile/unload", keys.get("attacker"), null, null, 30);
        Path version = null;
        try (Stream<Path> s = Files.walk(data.resolve("adapters"))) {
            version = s.filter(p -> p.getFileName().toString().equals("adapter_model.safetensors") && p.toString().contains("/fragile/"))
                    .findFirst().orElse(null);
        }
        d.put("deleted_file", version == null ? "none found" : data.relativize(version).toString());
        if (version != null) {
            Files.delete(version);
        }
        int before = pathLeakBodies.get();
        List<String> answers = new ArrayList<>();
        Resp c = postJson("/v1/completions", keys.get("attacker"), completion("fragile", "hi", 2), 30);
        answers.add("completion " + c.brief());
        Resp l = call("POST", "/v1/adapters/fragile/load", keys.get("attacker"), null, null, 30);
        answers.add("load " + l.brief());
        Resp g = get("/v1/adapters/fragile", keys.get("attacker"), 30);
        answers.add("get " + g.status());
        d.set("answers", JSON.valueToTree(answers));
        int leaks = pathLeakBodies.get() - before;
        d.set("leak_samples", JSON.valueToTree(pathLeakSamples));
        row("error of a corrupted version (weights file deleted)", "no absolute server path in the answer",
                "completion " + c.status() + ", load " + l.status() + "; " + (leaks == 0 ? "no path in the answers"
                        : leaks + " answers hold " + data + ": " + (pathLeakSamples.isEmpty() ? "" : pathLeakSamples.get(pathLeakSamples.size() - 1))),
                verdict(leaks == 0), d);
    }

    void leadingZeroVersion() throws Exception {
        Resp reg = registerAdapter("victim", "lead", loraConfig("8", false), lora(null, null, null, 21));
        Resp c = postJson("/v1/completions", keys.get("victim"), completion("lead@01", "hi", 2), 30);
        Resp g = get("/v1/adapters/lead@01", keys.get("victim"), 30);
        Resp g1 = get("/v1/adapters/lead@1", keys.get("victim"), 30);
        Resp l = call("POST", "/v1/adapters/lead@01/load", keys.get("victim"), null, null, 30);
        ObjectNode d = JSON.createObjectNode();
        d.put("register", reg.brief());
        d.put("completion", c.brief());
        d.put("get", g.brief());
        d.put("get_lead@1", g1.status());
        d.put("load", l.brief());
        boolean same = (c.ok() == g.ok()) && (c.ok() == l.ok());
        row("name@01 for completions vs GET /v1/adapters/name@01", "the same answer everywhere (all served or all refused)",
                "completion " + c.status() + (c.ok() ? " (model " + c.json().path("model").asText() + ")" : "") + ", GET " + g.status()
                        + ", load " + l.status() + " (GET lead@1: " + g1.status() + ")",
                verdict(same), d);
    }

    void openMetrics() throws Exception {
        // make sure the victim and the attacker have series
        postJson("/v1/completions", keys.get("victim"), completion(baseId, "hi", 2), 30);
        Resp m = get("/q/metrics", null, 30);
        List<String> seen = new ArrayList<>();
        for (String t : List.of("victim", "attacker", "doomed")) {
            if (m.body().contains("tenant=\"" + t + "\"") || m.body().contains(t + "/")) {
                seen.add(t);
            }
        }
        ObjectNode d = JSON.createObjectNode();
        d.put("status_without_key", m.status());
        d.set("tenants_in_labels", JSON.valueToTree(seen));
        boolean held = !(m.ok() && !seen.isEmpty());
        row("/q/metrics without a key", "no tenant names to an anonymous caller (closed, or tenants not in labels)",
                m.status() + ", tenant ids in labels: " + (seen.isEmpty() ? "none" : seen), verdict(held), d);
    }

    long dirSize(Path dir) {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).mapToLong(p -> {
                try {
                    return Files.size(p);
                } catch (IOException e) {
                    return 0;
                }
            }).sum();
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    void uploadSpool() throws Exception {
        Path uploads = data.resolve("tmp").resolve("uploads");
        AtomicLong peakUploads = new AtomicLong();
        AtomicLong peakTmp = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        Thread watch = new Thread(() -> {
            while (!stop.get()) {
                peakUploads.accumulateAndGet(dirSize(uploads), Math::max);
                peakTmp.accumulateAndGet(dirSize(data.resolve("tmp")), Math::max);
                sleep(20);
            }
        });
        watch.setDaemon(true);
        watch.start();
        String boundary = "----redteam-spool";
        byte[] head = ("--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n--" + boundary
                + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.jsonl\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        byte[] line = "{\"prompt\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", \"completion\": \"b\"}\n"
                .getBytes(StandardCharsets.US_ASCII);
        byte[] chunk = new byte[(256 << 10) / line.length * line.length];
        for (int i = 0; i < chunk.length; i += line.length) {
            System.arraycopy(line, 0, chunk, i, line.length);
        }
        long target = (long) spoolMb << 20;
        long sent = 0;
        String status;
        String sendEnd = "complete";
        try (Raw raw = new Raw(host, port)) {
            raw.head("POST", "/v1/files", keys.get("attacker"), "multipart/form-data; boundary=" + boundary, -1);
            writeChunk(raw.out, head);
            try {
                while (sent < target) {
                    writeChunk(raw.out, chunk);
                    sent += chunk.length;
                    if (raw.s.getInputStream().available() > 0) {
                        sendEnd = "server answered early";
                        break;
                    }
                }
                if (sendEnd.equals("complete")) {
                    writeChunk(raw.out, ("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII));
                    raw.out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    raw.out.flush();
                }
            } catch (IOException e) {
                sendEnd = "server closed: " + e.getMessage();
            }
            Resp r;
            try {
                r = raw.response(120_000);
            } catch (IOException e) {
                r = new Resp(-1, e.toString(), 0);
            }
            status = r.brief();
        }
        sleep(500);
        stop.set(true);
        watch.join(2000);
        long limit = (long) fileLimitMb << 20;
        ObjectNode d = JSON.createObjectNode();
        d.put("file_limit_mb", fileLimitMb);
        d.put("sent_mb", round(sent / 1048576.0));
        d.put("send_end", sendEnd);
        d.put("answer", status);
        d.put("peak_uploads_mb", round(peakUploads.get() / 1048576.0));
        d.put("peak_tmp_mb", round(peakTmp.get() / 1048576.0));
        boolean held = peakUploads.get() <= limit + (1 << 20) && peakTmp.get() <= 2 * limit + (1 << 20);
        row("chunked /v1/files upload of " + spoolMb + " MB past the " + fileLimitMb + " MB file limit",
                "the spool (<data>/tmp/uploads) never grows past the file limit",
                String.format(Locale.ROOT, "answer %s after %.1f MB sent (%s); peak tmp/uploads %.1f MB, peak tmp %.1f MB", first(status),
                        sent / 1048576.0, first(sendEnd), peakUploads.get() / 1048576.0, peakTmp.get() / 1048576.0),
                verdict(held), d);
    }

    static void writeChunk(OutputStream out, byte[] b) throws IOException {
        out.write((Integer.toHexString(b.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(b);
        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    /** /q/metrics, with whatever key it answers to: none, the admin key or a tenant's (a fix may close it). */
    Resp metrics(double timeoutS) {
        if ("?".equals(metricsKey)) {
            Resp last = null;
            for (String k : Arrays.asList(null, adminKey, keys.get("victim"), keys.get("encoder"))) {
                last = get("/q/metrics", k, timeoutS);
                if (last.status() == 200) {
                    metricsKey = k;
                    return last;
                }
            }
            return last;
        }
        return get("/q/metrics", metricsKey, timeoutS);
    }

    /** Sum of a metric's samples whose labels contain {@code label}. */
    Map<String, Double> metricSamples(String name, String label) {
        Map<String, Double> m = new TreeMap<>();
        Resp r = metrics(30);
        if (r.status() != 200) {
            throw new IllegalStateException("/q/metrics answers " + r.brief() + " with every key tried: cannot observe the engine");
        }
        for (String l : r.body().split("\n")) {
            if (l.startsWith(name) && (label == null || l.contains(label))) {
                int sp = l.lastIndexOf(' ');
                try {
                    m.put(l.substring(0, sp), Double.parseDouble(l.substring(sp + 1)));
                } catch (RuntimeException e) {
                    // not a sample
                }
            }
        }
        return m;
    }

    static double sum(Map<String, Double> m) {
        return m.values().stream().mapToDouble(Double::doubleValue).sum();
    }

    void abandonedRequest() throws Exception {
        int prompts = 64;
        int maxTokens = 200;
        String tenantLabel = "tenant=\"attacker\"";
        double tokensBefore = sum(metricSamples("loragate_generation_tokens_total", tenantLabel));
        Map<String, Double> reqBefore = metricSamples("loragate_requests_total", tenantLabel);
        ObjectNode b = JSON.createObjectNode();
        b.put("model", baseId);
        ArrayNode p = b.putArray("prompt");
        for (int i = 0; i < prompts; i++) {
            p.add("abandoned " + i);
        }
        b.put("max_tokens", maxTokens);
        b.put("temperature", 0);
        b.put("ignore_eos", true);
        byte[] body = JSON.writeValueAsBytes(b);
        long t0 = System.nanoTime();
        try (Raw raw = new Raw(host, port)) {
            raw.head("POST", "/v1/completions", keys.get("attacker"), "application/json", body.length);
            raw.out.write(body);
            raw.out.flush();
            sleep(300);
        } // the client goes away
        // wait for the engine to go idle
        double running = 1;
        long deadline = System.nanoTime() + 120_000_000_000L;
        sleep(500);
        while (System.nanoTime() < deadline) {
            running = sum(metricSamples("loragate_running_sequences", null)) + sum(metricSamples("loragate_queue_depth", null));
            if (running == 0) {
                break;
            }
            sleep(200);
        }
        double idleAfter = (System.nanoTime() - t0) / 1e9;
        sleep(1000);
        double tokens = sum(metricSamples("loragate_generation_tokens_total", tenantLabel)) - tokensBefore;
        Map<String, Double> reqAfter = metricSamples("loragate_requests_total", tenantLabel);
        ObjectNode reasons = JSON.createObjectNode();
        for (Map.Entry<String, Double> e : reqAfter.entrySet()) {
            double delta = e.getValue() - reqBefore.getOrDefault(e.getKey(), 0.0);
            if (delta > 0) {
                Matcher m = Pattern.compile("finish_reason=\"([^\"]*)\"").matcher(e.getKey());
                String reason = m.find() ? m.group(1) : e.getKey();
                reasons.put(reason, reasons.path(reason).asDouble(0) + delta);
            }
        }
        double full = prompts * (double) maxTokens;
        ObjectNode d = JSON.createObjectNode();
        d.put("prompts", prompts);
        d.put("max_tokens", maxTokens);
        d.put("generated_tokens_after_disconnect", tokens);
        d.put("full_tokens", full);
        d.put("engine_idle_after_s", round(idleAfter));
        d.set("finish_reasons", reasons);
        row("non-streaming request (" + prompts + " prompts x " + maxTokens + " tokens) whose client leaves after 0.3 s",
                "cancelled: far fewer tokens generated than asked",
                String.format(Locale.ROOT, "%.0f of %.0f tokens generated; engine idle after %.1f s; finish reasons %s", tokens, full, idleAfter, reasons),
                verdict(tokens < 0.5 * full), d);
    }

    void fileModes() throws Exception {
        List<String> worldFiles = new ArrayList<>();
        List<String> worldDirs = new ArrayList<>();
        int files = 0;
        try (Stream<Path> s = Files.walk(data)) {
            for (Path p : s.toList()) {
                Set<PosixFilePermission> perms;
                try {
                    perms = Files.getPosixFilePermissions(p, java.nio.file.LinkOption.NOFOLLOW_LINKS);
                } catch (IOException e) {
                    continue;
                }
                if (Files.isRegularFile(p)) {
                    files++;
                    if (perms.contains(PosixFilePermission.OTHERS_READ)) {
                        worldFiles.add(data.relativize(p) + " " + java.nio.file.attribute.PosixFilePermissions.toString(perms));
                    }
                } else if (Files.isDirectory(p) && perms.contains(PosixFilePermission.OTHERS_EXECUTE)) {
                    worldDirs.add(data.relativize(p) + "/");
                }
            }
        }
        ObjectNode d = JSON.createObjectNode();
        d.put("files", files);
        d.set("world_readable_files", JSON.valueToTree(worldFiles.subList(0, Math.min(40, worldFiles.size()))));
        d.put("world_readable_file_count", worldFiles.size());
        d.set("world_searchable_dirs", JSON.valueToTree(worldDirs.subList(0, Math.min(20, worldDirs.size()))));
        d.put("world_searchable_dir_count", worldDirs.size());
        row("file modes under the data dir", "no data/db file readable by others",
                worldFiles.size() + " of " + files + " files world-readable (e.g. "
                        + worldFiles.stream().filter(f -> f.contains(".db")).findFirst().orElse(worldFiles.isEmpty() ? "-" : worldFiles.get(0))
                        + "), " + worldDirs.size() + " folders open to others",
                verdict(worldFiles.isEmpty()), d);
    }

    void globalScans() {
        ObjectNode d = JSON.createObjectNode();
        d.put("bodies_with_nonfinite", nonFiniteBodies.get());
        d.set("nonfinite_samples", JSON.valueToTree(nonFiniteSamples));
        row("NaN/Infinity in any JSON answer (whole phase)", "no NaN / Infinity (string or literal) in any JSON answer",
                nonFiniteBodies.get() + " answers with NaN/Infinity" + (nonFiniteSamples.isEmpty() ? "" : ", e.g. " + nonFiniteSamples.get(0)),
                verdict(nonFiniteBodies.get() == 0), d);
        ObjectNode e = JSON.createObjectNode();
        e.put("bodies_with_server_path", pathLeakBodies.get());
        e.set("samples", JSON.valueToTree(pathLeakSamples));
        row("server paths in any answer (whole phase)", "no absolute server path (" + data + ") in any answer",
                pathLeakBodies.get() + " answers with a server path" + (pathLeakSamples.isEmpty() ? "" : ", e.g. " + pathLeakSamples.get(0)),
                verdict(pathLeakBodies.get() == 0), e);
    }

    // ------------------------------------------------------------------------------------------
    // report

    static void merge(String[] files) throws IOException {
        List<ObjectNode> all = new ArrayList<>();
        for (String f : files) {
            Path p = Path.of(f);
            if (!Files.isRegularFile(p)) {
                ObjectNode r = JSON.createObjectNode();
                r.put("phase", f);
                r.put("attack", "phase " + f);
                r.put("expected", "the phase runs");
                r.put("observed", "no rows: the phase did not run or crashed before its first row (see the log)");
                r.put("verdict", "ERROR");
                all.add(r);
                continue;
            }
            for (JsonNode r : JSON.readTree(p.toFile()).path("rows")) {
                all.add((ObjectNode) r);
            }
        }
        printTable(all);
        ObjectNode o = JSON.createObjectNode();
        o.put("generated", java.time.Instant.now().toString());
        o.put("build", System.getenv().getOrDefault("REDTEAM_BUILD", "unknown"));
        o.put("settings", System.getenv().getOrDefault("REDTEAM_SETTINGS", ""));
        ObjectNode counts = o.putObject("verdicts");
        for (ObjectNode r : all) {
            counts.put(r.path("verdict").asText(), counts.path(r.path("verdict").asText()).asInt() + 1);
        }
        ArrayNode a = o.putArray("rows");
        all.forEach(a::add);
        System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o));
    }

    static void printTable(List<ObjectNode> rows) {
        StringBuilder s = new StringBuilder("\n| # | attack | expected | observed | verdict |\n|---|---|---|---|---|\n");
        int i = 1;
        for (ObjectNode r : rows) {
            s.append("| ").append(i++).append(" | ").append(cell(r.path("attack").asText())).append(" | ").append(cell(r.path("expected").asText()))
                    .append(" | ").append(cell(r.path("observed").asText())).append(" | **").append(r.path("verdict").asText()).append("** |\n");
        }
        System.err.println(s);
    }

    static String cell(String s) {
        return s.replace("|", "\\|").replace("\n", " ");
    }

    static double round(double d) {
        return Math.round(d * 1000) / 1000.0;
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
