import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.training.trainer.BagOfWordsBaseline;
import java.io.ByteArrayOutputStream;
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
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Quality harness of issue #17: every adaptation method of the ladder, the recommender's own pick
 * and a TF-IDF logistic-regression baseline on real labelled text, measured on a held-out test set
 * that no job ever sees. Driven by benchmarks/quality.sh (which prepares the splits and starts the
 * gateway); usable against any running gateway:
 *
 * <pre>
 *   java -cp target/bench-classes:target/classes:target/quarkus-app/lib/main/* QualityHarness \
 *     --url http://127.0.0.1:18095 --data target/quality-data [--datasets spam,sotu] [--sizes 64,1000]
 *     [--methods linear_probe,...] [--methods-1000 lora,...] [--epochs-64 3] [--epochs-1000 3]
 *     [--pick true] [--sweep false] [--job-timeout 3600] [--out partial.json]
 * </pre>
 *
 * {@code --epochs-N auto} sends {@code "epochs": "auto"} (the product's small-data setting: enough
 * optimizer steps, evaluation every tenth of them, early stopping, the best evaluation kept);
 * {@code --methods-N none} runs no ladder rows at that size. {@code --sweep true} also runs the
 * product's own choice end to end: a sweep of the recommender's top 3 methods
 * ({@code POST /v1/fine_tuning/sweeps}, same files, epochs and seed), whose {@code best} row's adapter
 * classifies the test set: that is "the adapter the product picks".
 *
 * Per dataset and training size: the training file and the validation file are uploaded; a
 * recommendation is asked for ({@code POST /v1/recommendations}); one classification job per method
 * (default hyperparameters except {@code epochs}; seed 17; validation file given) is created and
 * awaited; its published adapter then classifies the test file through {@code POST
 * /v1/classifications} (batches of 64) and test accuracy and macro-F1 are computed here. The
 * recommender's rank-1 method is then trained again as a job with exactly its recommended settings
 * and learning rate (what a sweep would run) and measured the same way. The bag-of-words baseline is
 * the project's own {@link BagOfWordsBaseline} fitted on the same training texts and scored on the
 * test set; the job reports' validation {@code bag_of_words} numbers are recorded as well.
 * Prints one JSON document on stdout and Markdown tables on stderr; {@code --out} is rewritten
 * after every job so that a cut-short run keeps what it measured.
 */
public final class QualityHarness {

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    static final List<String> LADDER = List.of("linear_probe", "prompt_tuning", "ia3", "bottleneck", "lora", "rslora", "dora", "partial");
    static final long SEED = 17;
    static final int BATCH = 64;

    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();
    final String url;
    final Map<String, String> opts;
    final ObjectNode doc = JSON.createObjectNode();
    final ArrayNode summary = JSON.createArrayNode();
    final ArrayNode rows = JSON.createArrayNode();
    String base;

    record Example(String text, String label) {
    }

    QualityHarness(Map<String, String> opts) {
        this.opts = opts;
        this.url = opts.getOrDefault("url", "http://127.0.0.1:18095");
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 2 && args[0].equals("--render")) { // the Markdown tables of a (partial) results file
            System.out.println(markdown(JSON.readTree(Path.of(args[1]).toFile())));
            return;
        }
        Map<String, String> opts = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --option value, got " + args[i]);
            }
            opts.put(args[i].substring(2), args[i + 1]);
        }
        new QualityHarness(opts).run();
    }

    void run() throws Exception {
        Path data = Path.of(opts.getOrDefault("data", "target/quality-data"));
        List<String> datasets = List.of(opts.getOrDefault("datasets", "spam,sotu").split(","));
        List<Integer> sizes = Arrays.stream(opts.getOrDefault("sizes", "64,1000").split(",")).map(Integer::parseInt).toList();
        boolean pick = Boolean.parseBoolean(opts.getOrDefault("pick", "true"));
        boolean sweep = Boolean.parseBoolean(opts.getOrDefault("sweep", "false"));
        base = get("/v1/models").get("data").get(0).get("id").asText();
        doc.put("object", "quality_harness");
        doc.put("started", Instant.now().toString());
        doc.put("url", url);
        doc.put("base_model", base);
        doc.put("build", System.getenv().getOrDefault("QUALITY_BUILD", "unknown"));
        doc.put("command", System.getenv().getOrDefault("QUALITY_COMMAND", ""));
        doc.set("options", JSON.valueToTree(opts));
        if (Files.exists(data.resolve("manifest.json"))) {
            doc.set("data_manifest", JSON.readTree(data.resolve("manifest.json").toFile()));
        }
        doc.set("summary", summary);
        doc.set("rows", rows);
        Map<String, String> validationFiles = new LinkedHashMap<>();
        // sizes outside, datasets inside: a run cut short has the small size of every dataset. Every
        // job of a size is created at once (the gateway's queue runs them, loragate.jobs.max-concurrent
        // at a time) and awaited in order; each finished adapter classifies the test set while the
        // next jobs train
        for (int n : sizes) {
            List<Group> groups = new ArrayList<>();
            List<Pending> pending = new ArrayList<>();
            List<PendingSweep> sweeps = new ArrayList<>();
            for (String ds : datasets) {
                List<Example> test = read(data.resolve(ds).resolve("test.jsonl"));
                if (!validationFiles.containsKey(ds)) {
                    validationFiles.put(ds, upload(data.resolve(ds).resolve("validation.jsonl")));
                }
                String validationFile = validationFiles.get(ds);
                Path trainPath = data.resolve(ds).resolve("train-" + n + ".jsonl");
                List<Example> train = read(trainPath);
                List<String> methods = methods(opts.getOrDefault("methods-" + n, opts.getOrDefault("methods", String.join(",", LADDER))), ds, n);
                String epochs = opts.getOrDefault("epochs-" + n, "3");
                String trainFile = upload(trainPath);
                log("%s n=%d: train %s, validation %s, %d test examples, methods %s, epochs %s", ds, n, trainFile, validationFile,
                        test.size(), methods, epochs);
                if (!epochs.equals("auto")) {
                    Integer.parseInt(epochs); // fail on a typo before any job is created
                }

                ObjectNode bow = bagOfWords(train, test);
                ObjectNode rec = recommendation(trainFile, epochs);
                String pickMethod = rec.path("methods").path(0).path("method").asText(null);
                ObjectNode s = summary.addObject();
                s.put("dataset", ds);
                s.put("train_examples", n);
                s.put("epochs", epochs.equals("auto") ? JSON.getNodeFactory().textNode("auto")
                        : JSON.getNodeFactory().numberNode(Integer.parseInt(epochs)));
                s.put("training_file", trainFile);
                s.put("validation_file", validationFile);
                s.set("bag_of_words_test", bow);
                s.set("recommendation", rec);
                List<ObjectNode> mine = new ArrayList<>();
                for (String m : methods) {
                    ObjectNode adapter = JSON.createObjectNode().put("method", m);
                    Pending p = submit(ds, n, "ladder", m, adapter, null, epochs, trainFile, validationFile, test);
                    mine.add(p.row());
                    pending.add(p);
                }
                ObjectNode pickRow = null;
                if (pick && pickMethod != null) {
                    JsonNode first = rec.path("methods").path(0);
                    ObjectNode adapter = ((ObjectNode) first.path("settings")).deepCopy();
                    Double lr = first.hasNonNull("learning_rate") ? first.get("learning_rate").asDouble() : null;
                    Pending p = submit(ds, n, "recommended", pickMethod, adapter, lr, epochs, trainFile, validationFile, test);
                    pickRow = p.row();
                    pending.add(p);
                }
                if (sweep) {
                    sweeps.add(createSweep(s, ds, n, epochs, trainFile, validationFile, test));
                }
                groups.add(new Group(s, mine, pickRow, bow));
                save();
            }
            for (Pending p : pending) {
                await(p);
                save();
            }
            for (PendingSweep p : sweeps) {
                await(p);
                save();
            }
            for (Group g : groups) {
                summarise(g);
            }
            save();
        }
        doc.put("finished", Instant.now().toString());
        save();
        System.out.println(JSON.writeValueAsString(doc));
        System.err.println(markdown(doc));
    }

    /**
     * A comma-separated list, or {@code best:K}: the K ladder methods with the best validation
     * accuracy (then loss) at the largest smaller size already run on this dataset (all of the
     * ladder when there is none). Chosen on validation, never on test.
     */
    List<String> methods(String spec, String ds, int n) {
        if (spec.equals("none")) {
            return List.of();
        }
        if (!spec.startsWith("best:")) {
            return List.of(spec.split(","));
        }
        int k = Integer.parseInt(spec.substring(5));
        int previous = -1;
        for (JsonNode r : rows) {
            int size = r.path("train_examples").asInt();
            if (r.path("dataset").asText().equals(ds) && size < n && size > previous && r.path("validation").has("accuracy")) {
                previous = size;
            }
        }
        List<JsonNode> candidates = new ArrayList<>();
        for (JsonNode r : rows) {
            if (r.path("dataset").asText().equals(ds) && r.path("train_examples").asInt() == previous
                    && r.path("role").asText().equals("ladder") && r.path("validation").has("accuracy")) {
                candidates.add(r);
            }
        }
        if (candidates.isEmpty()) {
            return LADDER;
        }
        candidates.sort((a, b) -> better(a, b) ? -1 : better(b, a) ? 1 : 0);
        List<String> out = candidates.stream().limit(k).map(r -> r.path("method").asText()).toList();
        log("%s n=%d: %s = %s (by validation accuracy at n=%d)", ds, n, spec, out, previous);
        return out;
    }

    record Pending(ObjectNode row, String id, long t0, List<Example> test) {
    }

    record Group(ObjectNode summary, List<ObjectNode> ladder, ObjectNode pickRow, ObjectNode bow) {
    }

    /** The pick's row, the best ladder row by validation accuracy (a sweep's choice) and the comparisons with the baseline. */
    static void summarise(Group g) {
        ObjectNode s = g.summary();
        if (g.pickRow() != null) {
            s.set("pick", pickSummary(g.pickRow()));
        }
        ObjectNode bestVal = null;
        ObjectNode bestTest = null;
        for (ObjectNode r : g.ladder()) {
            if (!r.path("test").has("accuracy")) {
                continue;
            }
            if (bestVal == null || better(r, bestVal)) {
                bestVal = r;
            }
            if (bestTest == null || r.path("test").path("accuracy").asDouble() > bestTest.path("test").path("accuracy").asDouble()) {
                bestTest = r;
            }
        }
        if (bestVal != null) {
            s.set("best_by_validation", pickSummary(bestVal));
            s.set("best_on_test_oracle", pickSummary(bestTest));
        }
        double bowAcc = g.bow().path("accuracy").asDouble();
        if (s.has("pick") && s.get("pick").has("test_accuracy")) {
            s.put("pick_minus_bag_of_words", s.get("pick").get("test_accuracy").asDouble() - bowAcc);
            s.put("pick_beats_bag_of_words", s.get("pick").get("test_accuracy").asDouble() > bowAcc);
        }
        if (s.path("sweep").path("best_test").has("accuracy")) {
            double acc = s.path("sweep").path("best_test").path("accuracy").asDouble();
            s.put("sweep_best_minus_bag_of_words", acc - bowAcc);
            s.put("sweep_best_beats_bag_of_words", acc > bowAcc);
        }
        if (bestVal != null) {
            s.put("best_by_validation_minus_bag_of_words", bestVal.path("test").path("accuracy").asDouble() - bowAcc);
            s.put("best_by_validation_beats_bag_of_words", bestVal.path("test").path("accuracy").asDouble() > bowAcc);
        }
    }

    /** Higher validation accuracy, then lower validation loss. */
    static boolean better(JsonNode a, JsonNode b) {
        double va = a.path("validation").path("accuracy").asDouble(-1);
        double vb = b.path("validation").path("accuracy").asDouble(-1);
        if (va != vb) {
            return va > vb;
        }
        return a.path("validation").path("loss").asDouble(Double.MAX_VALUE) < b.path("validation").path("loss").asDouble(Double.MAX_VALUE);
    }

    static ObjectNode pickSummary(ObjectNode row) {
        ObjectNode p = JSON.createObjectNode();
        p.put("method", row.path("method").asText());
        p.put("role", row.path("role").asText());
        p.put("job_id", row.path("job_id").asText());
        p.set("settings", row.path("adapter_request"));
        if (row.path("validation").has("accuracy")) {
            p.put("validation_accuracy", row.path("validation").path("accuracy").asDouble());
        }
        if (row.path("test").has("accuracy")) {
            p.put("test_accuracy", row.path("test").path("accuracy").asDouble());
            p.put("test_macro_f1", row.path("test").path("macro_f1").asDouble());
        }
        return p;
    }

    ObjectNode recommendation(String trainFile, String epochs) throws Exception {
        // the cost model's epochs: "auto" takes at least 3
        ObjectNode body = JSON.createObjectNode().put("training_file", trainFile).put("task", "classification")
                .put("epochs", epochs.equals("auto") ? 3 : Integer.parseInt(epochs));
        JsonNode r = post("/v1/recommendations", body);
        ObjectNode out = JSON.createObjectNode();
        out.put("regime", r.path("regime").asText());
        out.set("shift", r.path("shift"));
        ArrayNode ms = out.putArray("methods");
        for (JsonNode m : r.path("methods")) {
            ObjectNode x = ms.addObject();
            x.put("rank", m.path("rank").asInt());
            x.put("method", m.path("method").asText());
            x.set("settings", m.path("settings"));
            x.set("learning_rate", m.path("learning_rate"));
            x.set("estimated_train_seconds", m.path("compute").path("train_seconds"));
        }
        log("recommendation: regime %s, shift %s (probe %.3f vs majority %.3f), ranked %s", out.get("regime").asText(),
                r.path("shift").path("level").asText(), r.path("shift").path("probe_accuracy").asDouble(),
                r.path("shift").path("majority_rate").asDouble(), ms.findParents("rank").stream().map(x -> x.path("method").asText()).toList());
        return out;
    }

    /**
     * The jobs' hyperparameters: fixed epochs evaluate only at the last step (and the job's final
     * report), not after every epoch, since the validation passes cost more CPU than the training at 64
     * examples; no early stopping, so the trained adapter is the same. {@code "auto"} keeps the
     * product's own evaluation schedule, which its early stopping needs.
     */
    static ObjectNode hyperparameters(String epochs) {
        if (epochs.equals("auto")) {
            return JSON.createObjectNode().put("epochs", "auto");
        }
        return JSON.createObjectNode().put("epochs", Integer.parseInt(epochs)).put("eval_every_steps", 1_000_000);
    }

    Pending submit(String ds, int n, String role, String method, ObjectNode adapter, Double lr, String epochs,
            String trainFile, String validationFile, List<Example> test) throws Exception {
        ObjectNode row = rows.addObject();
        row.put("dataset", ds);
        row.put("train_examples", n);
        row.put("role", role);
        row.put("method", method);
        row.set("adapter_request", adapter);
        ObjectNode hp = hyperparameters(epochs);
        if (lr != null) {
            hp.put("learning_rate", lr);
        }
        row.set("hyperparameters_request", hp);
        String suffix = ("q-" + ds + "-" + n + "-" + (role.equals("ladder") ? "" : "pick-") + method).replace('_', '-');
        ObjectNode body = JSON.createObjectNode();
        body.put("model", base);
        body.put("training_file", trainFile);
        body.put("validation_file", validationFile);
        body.put("suffix", suffix);
        body.put("seed", SEED);
        // the report's diagnostics (CKA, per-layer probes) are not what this harness measures: cut to
        // 8 examples and the last layer (the validation metrics and bag_of_words still use every example)
        body.putObject("diagnostics").put("max_examples", 8).putArray("layers").add(5);
        ObjectNode m = body.putObject("method");
        m.put("type", "classification");
        m.set("hyperparameters", hp);
        m.set("adapter", adapter);
        long t0 = System.nanoTime();
        JsonNode created;
        try {
            created = post("/v1/fine_tuning/jobs", body);
        } catch (RuntimeException e) {
            row.put("status", "refused");
            row.put("error", e.getMessage());
            log("%s n=%d %s %s: refused: %s", ds, n, role, method, e.getMessage());
            return new Pending(row, null, t0, test);
        }
        String id = created.get("id").asText();
        row.put("job_id", id);
        return new Pending(row, id, t0, test);
    }

    void await(Pending p) throws Exception {
        if (p.id() == null) {
            return;
        }
        ObjectNode row = p.row();
        String id = p.id();
        long t0 = p.t0();
        String ds = row.path("dataset").asText();
        int n = row.path("train_examples").asInt();
        String role = row.path("role").asText();
        String method = row.path("method").asText();
        List<Example> test = p.test();
        JsonNode j = get("/v1/fine_tuning/jobs/" + id);
        long a0 = System.nanoTime(); // the timeout counts from here: earlier jobs of the queue are not this one's
        long timeout = Long.parseLong(opts.getOrDefault("job-timeout", "3600"));
        long lastLog = 0;
        while (true) {
            String st = j.path("status").asText();
            if (st.equals("succeeded") || st.equals("failed") || st.equals("cancelled")) {
                break;
            }
            double waited = (System.nanoTime() - t0) / 1e9;
            if ((System.nanoTime() - a0) / 1e9 > timeout) {
                post("/v1/fine_tuning/jobs/" + id + "/cancel", JSON.createObjectNode());
                row.put("error", "harness: still " + st + " after waiting " + timeout + " s for it; cancelled");
                break;
            }
            if (waited - lastLog >= 60) {
                lastLog = (long) waited;
                log("  %s: %s, step %d/%d, %.0f s", id, st, j.path("progress").path("step").asInt(), j.path("progress").path("total_steps").asInt(), waited);
            }
            Thread.sleep(2000);
            j = get("/v1/fine_tuning/jobs/" + id);
        }
        double jobSeconds = (System.nanoTime() - t0) / 1e9;
        row.put("status", j.path("status").asText());
        row.put("job_wall_seconds", round(jobSeconds)); // from creation: includes waiting in the queue
        if (j.hasNonNull("created_at") && j.hasNonNull("finished_at")) {
            row.put("job_created_to_finished_seconds", j.get("finished_at").asLong() - j.get("created_at").asLong());
        }
        if (j.hasNonNull("error")) {
            row.put("error", j.get("error").path("message").asText());
        }
        row.set("hyperparameters", j.path("hyperparameters"));
        row.set("method_resolved", j.path("method"));
        row.put("fine_tuned_model", j.path("fine_tuned_model").asText(null));
        JsonNode report = j.path("report");
        row.put("steps", report.path("steps").asInt());
        row.set("validation_base", report.path("base"));
        row.set("validation", report.path("adapter"));
        row.set("validation_bag_of_words", report.path("bag_of_words"));
        row.set("gain_over_baseline", report.path("gain_over_baseline"));
        String model = j.path("fine_tuned_model").asText(null);
        if (model != null) {
            long c0 = System.nanoTime();
            ObjectNode t = classify(model, test);
            t.put("seconds", round((System.nanoTime() - c0) / 1e9));
            row.set("test", t);
        }
        log("%s n=%d %-11s %-13s %s in %.0f s: validation acc %s (bag-of-words %s), test acc %s macro-F1 %s", ds, n, role, method,
                row.get("status").asText(), jobSeconds, fmt(report.path("adapter").path("accuracy")),
                fmt(report.path("bag_of_words").path("accuracy")), fmt(row.path("test").path("accuracy")),
                fmt(row.path("test").path("macro_f1")));
    }

    record PendingSweep(ObjectNode summary, String id, long t0, List<Example> test) {
    }

    /** A sweep of the recommender's top 3 on the same files: the product's own choice of adapter. */
    PendingSweep createSweep(ObjectNode summary, String ds, int n, String epochs, String trainFile, String validationFile,
            List<Example> test) throws Exception {
        ObjectNode body = JSON.createObjectNode();
        body.put("model", base);
        body.put("training_file", trainFile);
        body.put("validation_file", validationFile);
        body.put("task", "classification");
        body.put("top_k", 3);
        body.put("seed", SEED);
        body.put("suffix", ("qs-" + ds + "-" + n).replace('_', '-'));
        body.set("hyperparameters", hyperparameters(epochs));
        ObjectNode out = summary.putObject("sweep");
        out.set("request", body.deepCopy());
        try {
            JsonNode created = post("/v1/fine_tuning/sweeps", body);
            out.put("id", created.path("id").asText());
            log("%s n=%d: sweep %s of %s", ds, n, created.path("id").asText(), created.path("methods"));
            return new PendingSweep(out, created.path("id").asText(), System.nanoTime(), test);
        } catch (RuntimeException e) {
            out.put("status", "refused");
            out.put("error", e.getMessage());
            return new PendingSweep(out, null, System.nanoTime(), test);
        }
    }

    /** Waits for the sweep, records its table, baseline and choice, and scores the chosen adapter on the test set. */
    void await(PendingSweep p) throws Exception {
        if (p.id() == null) {
            return;
        }
        ObjectNode out = p.summary();
        long timeout = 3 * Long.parseLong(opts.getOrDefault("job-timeout", "3600"));
        JsonNode sw = get("/v1/fine_tuning/sweeps/" + p.id());
        while (sw.path("status").asText().equals("running")) {
            if ((System.nanoTime() - p.t0()) / 1e9 > timeout) {
                post("/v1/fine_tuning/sweeps/" + p.id() + "/cancel", JSON.createObjectNode());
                out.put("error", "harness: still running after " + timeout + " s; cancelled");
                break;
            }
            Thread.sleep(2000);
            sw = get("/v1/fine_tuning/sweeps/" + p.id());
        }
        out.put("status", sw.path("status").asText());
        out.put("wall_seconds", round((System.nanoTime() - p.t0()) / 1e9));
        out.set("methods", sw.path("methods"));
        out.set("validation_examples", sw.path("validation_examples"));
        out.set("baseline", sw.path("baseline"));
        out.set("best", sw.path("best"));
        out.set("selection", sw.path("selection"));
        out.set("warnings", sw.path("warnings"));
        ArrayNode table = out.putArray("table");
        String bestModel = null;
        for (JsonNode r : sw.path("table")) {
            ObjectNode t = table.addObject();
            for (String f : List.of("method", "job_id", "status", "fine_tuned_model", "accuracy", "eval_loss", "macro_f1", "beats_baseline")) {
                t.set(f, r.path(f));
            }
            if (r.path("method").asText().equals(sw.path("best").asText(null))) {
                bestModel = r.path("fine_tuned_model").asText(null);
            }
        }
        if (bestModel != null) {
            ObjectNode t = classify(bestModel, p.test());
            out.set("best_test", t);
        }
        log("sweep %s: %s, best %s (%s), test accuracy %s", p.id(), out.path("status").asText(), out.path("best").asText(),
                out.path("selection").asText(), fmt(out.path("best_test").path("accuracy")));
    }

    ObjectNode classify(String model, List<Example> test) throws Exception {
        List<String> predicted = new ArrayList<>();
        for (int i = 0; i < test.size(); i += BATCH) {
            ObjectNode body = JSON.createObjectNode().put("model", model);
            ArrayNode input = body.putArray("input");
            test.subList(i, Math.min(test.size(), i + BATCH)).forEach(e -> input.add(e.text()));
            JsonNode r = post("/v1/classifications", body);
            String[] batch = new String[input.size()];
            for (JsonNode d : r.path("data")) {
                batch[d.path("index").asInt()] = d.path("label").asText();
            }
            predicted.addAll(Arrays.asList(batch));
        }
        return metrics(test.stream().map(Example::label).toList(), predicted);
    }

    static ObjectNode bagOfWords(List<Example> train, List<Example> test) {
        long t0 = System.nanoTime();
        BagOfWordsBaseline b = BagOfWordsBaseline.fit(train.stream().map(Example::text).toList(), train.stream().map(Example::label).toList());
        float[][] logits = b.logits(test.stream().map(Example::text).toList());
        List<String> predicted = new ArrayList<>();
        for (float[] z : logits) {
            int best = 0;
            for (int k = 1; k < z.length; k++) {
                if (z[k] > z[best]) {
                    best = k;
                }
            }
            predicted.add(b.labels().get(best));
        }
        ObjectNode m = metrics(test.stream().map(Example::label).toList(), predicted);
        m.put("seconds", round((System.nanoTime() - t0) / 1e9));
        m.put("recipe", "io.loragate.training.trainer.BagOfWordsBaseline: TF-IDF word uni+bigrams (sublinear tf), softmax regression C=1");
        log("bag-of-words on test: accuracy %.4f, macro-F1 %.4f", m.get("accuracy").asDouble(), m.get("macro_f1").asDouble());
        return m;
    }

    /** Accuracy and macro-F1 (per label 2TP / (2TP + FP + FN), over labels in the truth or the predictions). */
    static ObjectNode metrics(List<String> truth, List<String> predicted) {
        int correct = 0;
        Set<String> labels = new LinkedHashSet<>(truth);
        labels.addAll(predicted);
        Map<String, int[]> c = new LinkedHashMap<>(); // tp, fp, fn
        for (String l : labels) {
            c.put(l, new int[3]);
        }
        for (int i = 0; i < truth.size(); i++) {
            String t = truth.get(i);
            String p = predicted.get(i);
            if (t.equals(p)) {
                correct++;
                c.get(t)[0]++;
            } else {
                c.get(p)[1]++;
                c.get(t)[2]++;
            }
        }
        double f1 = 0;
        for (int[] v : c.values()) {
            int d = 2 * v[0] + v[1] + v[2];
            f1 += d == 0 ? 0 : 2.0 * v[0] / d;
        }
        ObjectNode m = JSON.createObjectNode();
        m.put("examples", truth.size());
        m.put("accuracy", (double) correct / truth.size());
        m.put("macro_f1", f1 / labels.size());
        return m;
    }

    static String markdown(JsonNode doc) {
        StringBuilder b = new StringBuilder();
        b.append("Test accuracy (macro-F1) on the held-out test set; pick = the recommender's rank-1 method, trained with its settings\n\n");
        b.append("| dataset | train | ");
        LADDER.forEach(m -> b.append(m).append(" | "));
        b.append("recommender pick | best by validation | bag-of-words |\n|---|---:|");
        LADDER.forEach(m -> b.append("---:|"));
        b.append("---|---|---:|\n");
        for (JsonNode s : doc.path("summary")) {
            String ds = s.path("dataset").asText();
            int n = s.path("train_examples").asInt();
            b.append("| ").append(ds).append(" | ").append(n).append(" | ");
            for (String m : LADDER) {
                JsonNode row = null;
                for (JsonNode r : doc.path("rows")) {
                    if (r.path("dataset").asText().equals(ds) && r.path("train_examples").asInt() == n
                            && r.path("role").asText().equals("ladder") && r.path("method").asText().equals(m)) {
                        row = r;
                    }
                }
                if (row == null) {
                    b.append("not run | ");
                } else if (!row.path("test").has("accuracy")) {
                    b.append(row.path("status").asText("not finished")).append(" | ");
                } else {
                    b.append(cell(row.path("test"))).append(" | ");
                }
            }
            JsonNode pick = null; // from the rows, so that a cut-short run renders too
            JsonNode bestVal = null;
            for (JsonNode r : doc.path("rows")) {
                if (!r.path("dataset").asText().equals(ds) || r.path("train_examples").asInt() != n) {
                    continue;
                }
                if (r.path("role").asText().equals("recommended")) {
                    pick = r;
                } else if (r.path("test").has("accuracy") && (bestVal == null || better(r, bestVal))) {
                    bestVal = r;
                }
            }
            b.append(pick == null ? "not run" : pick.path("test").has("accuracy") ? pick.path("method").asText() + " " + cell(pick.path("test"))
                    : pick.path("method").asText() + " (" + pick.path("status").asText("not finished") + ")").append(" | ");
            b.append(bestVal == null ? "—" : bestVal.path("method").asText() + " " + cell(bestVal.path("test"))).append(" | ");
            b.append(cell(s.path("bag_of_words_test"))).append(" |\n");
        }
        if (doc.path("summary").findParents("sweep").size() > 0) {
            b.append("\nThe product's choice: a sweep of the recommender's top 3, its best row by validation, scored on test\n\n");
            b.append("| dataset | train | sweep methods | best | validation acc | test acc (macro-F1) | bag-of-words test | beats it | warnings |\n");
            b.append("|---|---:|---|---|---:|---:|---:|---|---|\n");
            for (JsonNode s : doc.path("summary")) {
                JsonNode sw = s.path("sweep");
                if (sw.isMissingNode()) {
                    continue;
                }
                String valAcc = "—";
                for (JsonNode r : sw.path("table")) {
                    if (r.path("method").asText().equals(sw.path("best").asText(null))) {
                        valAcc = fmt(r.path("accuracy"));
                    }
                }
                b.append(String.format(Locale.ROOT, "| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", s.path("dataset").asText(),
                        s.path("train_examples").asInt(), sw.path("methods"), sw.path("best").asText(sw.path("status").asText("not finished")),
                        valAcc, sw.path("best_test").has("accuracy") ? cell(sw.path("best_test")) : "—", cell(s.path("bag_of_words_test")),
                        s.path("sweep_best_beats_bag_of_words").asText("—"), sw.path("warnings")));
            }
        }
        b.append("\nPer job (validation = the job report's, on the validation file; test = through /v1/classifications)\n\n");
        b.append("| dataset | train | role | method | status | steps | s from queueing to done | val acc | val bag-of-words | gain | test acc | test macro-F1 |\n");
        b.append("|---|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (JsonNode r : doc.path("rows")) {
            b.append(String.format(Locale.ROOT, "| %s | %d | %s | %s | %s | %d | %.0f | %s | %s | %s | %s | %s |\n", r.path("dataset").asText(),
                    r.path("train_examples").asInt(), r.path("role").asText(), r.path("method").asText(), r.path("status").asText("not finished"),
                    r.path("steps").asInt(), r.path("job_wall_seconds").asDouble(), fmt(r.path("validation").path("accuracy")),
                    fmt(r.path("validation_bag_of_words").path("accuracy")), fmt(r.path("gain_over_baseline")),
                    fmt(r.path("test").path("accuracy")), fmt(r.path("test").path("macro_f1"))));
        }
        return b.toString();
    }

    static String cell(JsonNode m) {
        return String.format(Locale.ROOT, "%.3f (%.3f)", m.path("accuracy").asDouble(), m.path("macro_f1").asDouble());
    }

    static String fmt(JsonNode v) {
        return v == null || v.isMissingNode() || v.isNull() ? "—" : String.format(Locale.ROOT, "%.3f", v.asDouble());
    }

    static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    void save() throws Exception {
        String out = opts.get("out");
        if (out != null) {
            Path p = Path.of(out);
            Path tmp = p.resolveSibling(p.getFileName() + ".tmp");
            Files.writeString(tmp, JSON.writeValueAsString(doc));
            Files.move(tmp, p, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
    }

    static List<Example> read(Path p) throws Exception {
        List<Example> out = new ArrayList<>();
        for (String line : Files.readAllLines(p)) {
            if (!line.isBlank()) {
                JsonNode n = JSON.readTree(line);
                out.add(new Example(n.get("text").asText(), n.get("label").asText()));
            }
        }
        return out;
    }

    String upload(Path file) throws Exception {
        String boundary = "----loragate-quality-" + Long.toHexString(System.nanoTime());
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n").getBytes(StandardCharsets.UTF_8));
        b.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + file.getFileName()
                + "\"\r\nContent-Type: application/jsonl\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        b.writeBytes(Files.readAllBytes(file));
        b.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        HttpRequest req = HttpRequest.newBuilder(URI.create(url + "/v1/files")).timeout(Duration.ofSeconds(600))
                .header("content-type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(b.toByteArray())).build();
        JsonNode r = send(req);
        JsonNode report = r.path("report");
        if (report.path("error_count").asInt() > 0) {
            throw new IllegalStateException(file + ": " + report.path("error_count").asInt() + " bad lines: " + report.path("errors"));
        }
        log("uploaded %s: %s, %d examples, tokens p50 %s p95 %s max %s, truncated %s", file, r.get("id").asText(),
                report.path("examples").asInt(), report.path("tokens").path("p50"), report.path("tokens").path("p95"),
                report.path("tokens").path("max"), report.path("truncated"));
        return r.get("id").asText();
    }

    JsonNode get(String path) throws Exception {
        return send(HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofSeconds(120)).GET().build());
    }

    JsonNode post(String path, JsonNode body) throws Exception {
        return send(HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofSeconds(900))
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build());
    }

    JsonNode send(HttpRequest req) throws Exception {
        HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2) {
            throw new RuntimeException(req.method() + " " + req.uri().getPath() + " -> " + r.statusCode() + ": " + r.body());
        }
        return JSON.readTree(r.body());
    }

    static void log(String format, Object... args) {
        System.err.printf(Locale.ROOT, "quality: " + format + "%n", args);
    }
}
