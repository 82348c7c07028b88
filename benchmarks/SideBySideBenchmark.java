import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.adapter.LoraAdapter;
import io.loragate.adapter.MultiLoraHook;
import io.loragate.adapter.PeftConfig;
import io.loragate.adapter.TrainableLora;
import io.loragate.model.AdapterHook;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.model.KvCache;
import io.loragate.training.data.TrainingExample;
import io.loragate.training.trainer.CausalLmTrainer;
import io.loragate.training.trainer.StepMetrics;
import io.loragate.training.trainer.TrainingConfig;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Side by side with Hugging Face transformers + PEFT (issue 17, item 6): the same randomly
 * initialised SmolLM2-135M-shaped Llama folder (EngineBenchmark's writer, float32) and the same 32
 * random PEFT LoRA folders (r=16 on q,k,v,o), run by loragate's engine in this JVM and by
 * transformers in a Python peer ({@code benchmarks/sidebyside_hf.py}, driven over stdin/stdout),
 * with the same intra-op thread count. Rounds alternate engine by engine, case by case (loragate,
 * HF, loragate, HF, ...), so a burst of load on the machine hits both; round 0 is a warm-up.
 *
 * <p>Cases: prefill and greedy decode at batch 1 (base, one adapter) and at {@code --batch}
 * (base, one adapter on every row, {@code --adapters} distinct adapters over the rows: PEFT's
 * {@code adapter_names=} mixed batch), with a check that both engines choose the same greedy tokens;
 * LoRA training tokens/s (same data, batch, length, r, targets, AdamW, clip 1.0; the first step of
 * each round is a warm-up). The float32 matmul and read-bandwidth ceilings are measured every round
 * through DJL and through torch; the batch-1 decode bound is the weight bytes read per token over
 * that bandwidth. Prints one JSON object.
 *
 * <p>Jlama (issue 17, item 8) is a third engine on the batch-1 base case only (Jlama has no LoRA
 * multiplexing to compare): {@code benchmarks/jlama/JlamaDecode.java}, run by a JDK 21 or newer
 * that sidebyside.sh finds ({@code --jlama-java}, {@code --jlama-classpath}), is one long-lived
 * process driven over stdin/stdout like the HF peer, so that its model is loaded and its JIT warmed
 * once and every round measures the same thing. Without a JDK 21+ the script passes
 * {@code --jlama-skipped REASON} and the JSON says {@code "jlama": {"skipped": REASON}}. The model
 * folder gets a synthetic byte-level BPE {@code tokenizer.json} (Jlama needs one to load a folder);
 * every engine is given token ids.
 *
 * <p>Run: {@code benchmarks/sidebyside.sh [--layers 30] [--prompt 64] [--decode 16] [--repeats 3]}
 */
public class SideBySideBenchmark {

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    static final List<String> TARGETS = List.of("q_proj", "k_proj", "v_proj", "o_proj");

    /** One inference case: rows' adapter indices (null for the base). */
    record Case(int batch, String variant, int[] adapterOfRow, long[][] prompts) {
        String label() {
            return "batch " + batch + " " + variant;
        }
    }

    /** What one engine did on one inference case. */
    record Infer(double prefillSeconds, double decodeSeconds, long[][] tokens, float[] prefillTopLogits) {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i += 2) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                fail("options come in pairs like --layers 30; got '" + args[i] + "'");
            }
            opt.put(args[i].substring(2), args[i + 1]);
        }
        int layers = intOpt(opt, "layers", EngineBenchmark.LAYERS);
        int promptLen = intOpt(opt, "prompt", 64);
        int decodeSteps = intOpt(opt, "decode", 16);
        int repeats = intOpt(opt, "repeats", 3);
        int threads = intOpt(opt, "threads", 2);
        int bigBatch = intOpt(opt, "batch", 32);
        int distinct = intOpt(opt, "adapters", 32);
        int trainSteps = intOpt(opt, "train-steps", 3);
        int trainBatch = intOpt(opt, "train-batch", 4);
        int trainSeq = intOpt(opt, "train-seq", 128);
        double trainLr = Double.parseDouble(opt.getOrDefault("train-lr", "1e-4"));
        String python = opt.get("python");
        String peer = opt.getOrDefault("peer", "benchmarks/sidebyside_hf.py");
        Path work = Path.of(opt.getOrDefault("work", "target/sidebyside"));
        String jlamaJava = opt.get("jlama-java");
        String jlamaClasspath = opt.get("jlama-classpath");
        String jlamaSkipped = opt.get("jlama-skipped");
        for (String k : opt.keySet()) {
            if (!List.of("layers", "prompt", "decode", "repeats", "threads", "batch", "adapters", "train-steps", "train-batch",
                    "train-seq", "train-lr", "python", "peer", "work", "jlama-java", "jlama-classpath", "jlama-skipped").contains(k)) {
                fail("unknown option --" + k);
            }
        }
        if (python == null || !Files.isExecutable(Path.of(python))) {
            fail("--python must name the Python of a venv with torch, transformers and peft (benchmarks/sidebyside.sh makes one)");
        }
        if (layers < 1 || promptLen < 1 || decodeSteps < 1 || repeats < 1 || threads < 1 || bigBatch < 1
                || distinct < 1 || distinct > bigBatch || trainSteps < 0 || trainBatch < 1 || trainSeq < 2) {
            fail("every size must be positive, --adapters at most --batch, --train-steps 0 or more, --train-seq 2 or more");
        }
        if (jlamaSkipped == null && (jlamaJava == null || jlamaClasspath == null)) {
            jlamaSkipped = "no --jlama-java and --jlama-classpath given (benchmarks/sidebyside.sh finds a JDK 21+ and builds them)";
        }
        // before DJL loads libtorch: the same intra-op threads as the peer's torch.set_num_threads
        System.setProperty("ai.djl.pytorch.num_threads", String.valueOf(threads));
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");

        List<Double> loads = new ArrayList<>();
        loads.add(loadAverage());
        Path dir = Files.createTempDirectory(Files.createDirectories(work), "run-");
        Peer hf = null;
        Peer jlama = null;
        String jlamaFailure = null;
        JsonNode jlamaInfo = null;
        String peerFailure = null;
        try {
            Path modelDir = EngineBenchmark.writeRandomModel(dir.resolve("model"), layers);
            ByteLevelBpeTokenizer.write(modelDir, EngineBenchmark.VOCAB);
            try (CausalModel model = (CausalModel) BaseModel.load(modelDir, Device.cpu())) {
                List<Path> adapterDirs = new ArrayList<>();
                List<LoraAdapter> adapters = new ArrayList<>();
                for (int a = 0; a < distinct; a++) {
                    Path folder = EngineBenchmark.writeRandomAdapter(dir.resolve("adapter" + a), model, a);
                    adapterDirs.add(folder);
                    adapters.add(LoraAdapter.load(folder, model));
                }
                System.err.println("sidebyside: model and " + distinct + " adapters written to " + dir + "; starting the HF peer");
                hf = new Peer(List.of(python, peer), threads);
                ObjectNode init = JSON.createObjectNode().put("op", "init").put("model", modelDir.toAbsolutePath().toString())
                        .put("threads", threads);
                ArrayNode ad = init.putArray("adapters");
                adapterDirs.forEach(p -> ad.add(p.toAbsolutePath().toString()));
                if (trainSteps > 0) {
                    ObjectNode t = init.putObject("train").put("r", EngineBenchmark.RANK).put("alpha", 2.0 * EngineBenchmark.RANK);
                    TARGETS.forEach(t.putArray("targets")::add);
                }
                JsonNode hfInfo = hf.ask(init);
                if (jlamaSkipped == null) {
                    System.err.println("sidebyside: starting the Jlama peer (" + jlamaJava + ")");
                    try {
                        jlama = new Peer(List.of(jlamaJava, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                                "-Xmx4g", "-Djava.util.concurrent.ForkJoinPool.common.parallelism=" + threads, "-cp", jlamaClasspath,
                                "JlamaDecode", modelDir.toAbsolutePath().toString(), String.valueOf(threads)), threads);
                        jlamaInfo = jlama.read("start");
                    } catch (IOException e) {
                        jlamaFailure = "Jlama failed to start: " + e.getMessage();
                        System.err.println("sidebyside: " + jlamaFailure + "; the other engines go on without it");
                        if (jlama != null) {
                            jlama.close();
                            jlama = null;
                        }
                    }
                } else {
                    System.err.println("sidebyside: Jlama skipped: " + jlamaSkipped);
                }
                ObjectNode tokenizer = tokenizerCheck(modelDir, jlama);

                List<Case> cases = cases(bigBatch, distinct, promptLen);
                Map<Case, AdapterHook> hooks = new LinkedHashMap<>();
                for (Case c : cases) {
                    hooks.put(c, c.adapterOfRow() == null ? AdapterHook.NONE
                            : new MultiLoraHook(Arrays.stream(c.adapterOfRow()).mapToObj(adapters::get).toList()));
                }
                List<TrainingExample> trainData = trainingData(trainBatch * (trainSteps + 1), trainSeq);

                // per case: {loragate prefill, hf prefill, loragate decode, hf decode} tokens/s of each timed round
                Map<Case, List<double[]>> speeds = new LinkedHashMap<>();
                Map<Case, Agreement> agreement = new LinkedHashMap<>();
                // batch-1 base only: {jlama prefill, jlama decode} tokens/s of each timed round, agreement with loragate
                Map<Case, List<double[]>> jlamaSpeeds = new LinkedHashMap<>();
                Map<Case, Agreement> jlamaAgreement = new LinkedHashMap<>();
                List<double[]> trainSpeeds = new ArrayList<>();
                double[] first = new double[2];
                double djlFlops = 0, djlBw = 0, torchFlops = 0, torchBw = 0;
                for (int round = 0; round <= repeats; round++) {
                    for (Case c : cases) {
                        Infer l = runLoragate(model, hooks.get(c), c.prompts(), decodeSteps);
                        Infer h = runPeer(hf, c, decodeSteps);
                        agreement.computeIfAbsent(c, k -> new Agreement()).add(l, h);
                        Infer j = null;
                        if (jlama != null && c.batch() == 1 && c.adapterOfRow() == null) {
                            try {
                                j = runJlama(jlama, c.prompts()[0], decodeSteps);
                            } catch (IOException e) {
                                jlamaFailure = "Jlama failed in round " + round + ": " + e.getMessage();
                                System.err.println("sidebyside: " + jlamaFailure + "; the other engines go on without it");
                                jlama.close();
                                jlama = null;
                            }
                        }
                        if (j != null) {
                            jlamaAgreement.computeIfAbsent(c, k -> new Agreement()).add(l, j);
                            if (round > 0) {
                                jlamaSpeeds.computeIfAbsent(c, k -> new ArrayList<>()).add(new double[] {
                                    promptLen / j.prefillSeconds(), decodeSteps / j.decodeSeconds()});
                            }
                        }
                        // progress, so that a run stopped early (a very busy machine) still shows what it measured
                        System.err.printf(java.util.Locale.ROOT, "sidebyside: round %d %s: prefill %.1f / %.1f tok/s, decode %.2f / %.2f tok/s (loragate / hf)%n",
                                round, c.label(), c.batch() * promptLen / l.prefillSeconds(), c.batch() * promptLen / h.prefillSeconds(),
                                c.batch() * decodeSteps / l.decodeSeconds(), c.batch() * decodeSteps / h.decodeSeconds());
                        if (j != null) {
                            System.err.printf(java.util.Locale.ROOT, "sidebyside: round %d %s: Jlama prefill %.1f tok/s, decode %.2f tok/s%n",
                                    round, c.label(), promptLen / j.prefillSeconds(), decodeSteps / j.decodeSeconds());
                        }
                        if (round > 0) {
                            double tokensPrefill = (double) c.batch() * promptLen, tokensDecode = (double) c.batch() * decodeSteps;
                            speeds.computeIfAbsent(c, k -> new ArrayList<>()).add(new double[] {
                                tokensPrefill / l.prefillSeconds(), tokensPrefill / h.prefillSeconds(),
                                tokensDecode / l.decodeSeconds(), tokensDecode / h.decodeSeconds()});
                        }
                    }
                    djlFlops = Math.max(djlFlops, EngineBenchmark.matmulCeiling(model.manager()));
                    djlBw = Math.max(djlBw, EngineBenchmark.bandwidthCeiling(model.manager()));
                    JsonNode tc = hf.ask(JSON.createObjectNode().put("op", "ceilings"));
                    torchFlops = Math.max(torchFlops, tc.get("matmul_gflops").asDouble());
                    torchBw = Math.max(torchBw, tc.get("bandwidth_bytes_per_s").asDouble());
                    if (trainSteps > 0) {
                        double[] l = trainLoragate(model, trainData, trainBatch, trainLr);
                        double[] h = trainPeer(hf, trainData, trainBatch, trainLr);
                        System.err.printf(java.util.Locale.ROOT, "sidebyside: round %d training: %.1f / %.1f tok/s (loragate / hf)%n",
                                round, l[0], h[0]);
                        if (round == 0) {
                            first = new double[] {l[1], h[1]};
                        } else {
                            trainSpeeds.add(new double[] {l[0], h[0]});
                        }
                    }
                    loads.add(loadAverage());
                    System.err.println("sidebyside: round " + round + (round == 0 ? " (warm-up)" : "") + " done, load average "
                            + loads.get(loads.size() - 1));
                }
                hooks.values().forEach(h -> {
                    if (h instanceof MultiLoraHook m) {
                        m.close();
                    }
                });
                adapters.forEach(LoraAdapter::close);

                double bandwidth = Math.max(djlBw, torchBw);
                double weightBytes = model.weightBytes();
                double bound = bandwidth / weightBytes;
                ObjectNode out = JSON.createObjectNode();
                out.put("benchmark", "SideBySideBenchmark");
                out.put("command", System.getenv().getOrDefault("SIDEBYSIDE_COMMAND", "benchmarks/sidebyside.sh " + String.join(" ", args)));
                out.put("build", System.getenv().getOrDefault("SIDEBYSIDE_BUILD", "unknown"));
                out.put("finished", Instant.now().toString());
                ObjectNode machine = out.putObject("machine").put("cpus", Runtime.getRuntime().availableProcessors());
                ObjectNode load = machine.putObject("load_average_1m").put("start", loads.get(0))
                        .put("end", loads.get(loads.size() - 1))
                        .put("min", loads.stream().mapToDouble(d -> d).min().orElse(0))
                        .put("max", loads.stream().mapToDouble(d -> d).max().orElse(0));
                ArrayNode rounds = load.putArray("at_start_then_after_each_round");
                loads.forEach(rounds::add);
                ObjectNode engines = out.putObject("engines");
                engines.putObject("loragate").put("runtime", "DJL 0.36 PyTorch (libtorch) CPU, this build's CausalModel.forward")
                        .put("intra_op_threads", ai.djl.pytorch.jni.JniUtils.getNumThreads())
                        .put("interop_threads", ai.djl.pytorch.jni.JniUtils.getNumInteropThreads())
                        .put("greedy", "argmax of the logits copied to the host each step (as the engine's sampler does)");
                ObjectNode hfEngine = engines.putObject("hf");
                hfEngine.setAll((ObjectNode) hfInfo.deepCopy());
                hfEngine.put("greedy", "manual prefill/decode loop with the model's cache, argmax in torch (no generate() overhead)");
                ObjectNode jlamaEngine = engines.putObject("jlama");
                if (jlamaSkipped != null) {
                    jlamaEngine.put("skipped", jlamaSkipped);
                } else {
                    if (jlamaInfo != null) {
                        jlamaInfo.fields().forEachRemaining(e -> {
                            if (!e.getKey().equals("op")) {
                                jlamaEngine.set(e.getKey(), e.getValue());
                            }
                        });
                        jlamaEngine.put("cases", "batch-1 base prefill and decode only")
                                .put("process", "one long-lived JVM (benchmarks/jlama/JlamaDecode.java) driven over stdin/stdout")
                                .put("greedy", "batchForward of the prompt ids, then forward per token; AbstractModel.sample at temperature 0 "
                                        + "(argmax over the float32 logits)");
                    }
                    if (jlamaFailure != null) {
                        jlamaEngine.put("failed", jlamaFailure);
                    }
                }
                ObjectNode m = out.putObject("model").put("shape", "SmolLM2-135M (random init)").put("dtype", "float32")
                        .put("hidden", EngineBenchmark.HIDDEN).put("layers", layers).put("heads", EngineBenchmark.HEADS)
                        .put("kv_heads", EngineBenchmark.KV_HEADS).put("intermediate", EngineBenchmark.INTER)
                        .put("vocab", EngineBenchmark.VOCAB).put("weight_bytes", (long) weightBytes);
                m.set("tokenizer", tokenizer);
                m.putObject("adapters").put("count", distinct).put("r", EngineBenchmark.RANK)
                        .put("alpha", 2 * EngineBenchmark.RANK).put("targets", "q,k,v,o");
                out.putObject("settings").put("threads_per_engine", threads).put("prompt_tokens", promptLen)
                        .put("decode_steps", decodeSteps).put("timed_rounds", repeats).put("warm_up_rounds", 1)
                        .put("statistic", "best round (tokens/s); medians beside it; ratio = loragate / hf")
                        .put("train_batch", trainBatch).put("train_seq", trainSeq).put("train_timed_steps_per_round", trainSteps)
                        .put("train_optimizer", "AdamW lr " + trainLr + " betas 0.9/0.999 eps 1e-8 no weight decay, grad clip 1.0");
                out.putObject("ceilings").put("matmul_gflops_f32", r4(Math.max(djlFlops, torchFlops)))
                        .put("memory_bandwidth_gbs", r4(bandwidth / 1e9))
                        .put("djl_matmul_gflops_f32", r4(djlFlops)).put("djl_memory_bandwidth_gbs", r4(djlBw / 1e9))
                        .put("torch_matmul_gflops_f32", r4(torchFlops)).put("torch_memory_bandwidth_gbs", r4(torchBw / 1e9))
                        .put("how", "best of every round: float32 matmuls 2048x2048x2048, 2048x576x1536, 2048x1536x576; sum of 256 MiB");
                ArrayNode rows = out.putArray("cases");
                Map<String, Double> decodeBatch1Base = new LinkedHashMap<>();
                for (Case c : cases) {
                    List<double[]> s = speeds.get(c);
                    Agreement a = agreement.get(c);
                    for (String phase : List.of("prefill", "decode")) {
                        int o = phase.equals("prefill") ? 0 : 2;
                        double lBest = best(s, o), hBest = best(s, o + 1);
                        ObjectNode row = rows.addObject().put("case", phase).put("batch", c.batch()).put("variant", c.variant())
                                .put("loragate_tokens_per_s", r4(lBest)).put("hf_tokens_per_s", r4(hBest)).put("ratio", r4(lBest / hBest))
                                .put("loragate_median", r4(median(s, o))).put("hf_median", r4(median(s, o + 1)))
                                .put("ratio_of_medians", r4(median(s, o) / median(s, o + 1)));
                        a.write(row, "");
                        List<double[]> js = jlamaSpeeds.get(c);
                        if (js != null) {
                            int jo = phase.equals("prefill") ? 0 : 1;
                            double jBest = best(js, jo);
                            row.put("jlama_tokens_per_s", r4(jBest)).put("ratio_vs_jlama", r4(lBest / jBest))
                                    .put("jlama_median", r4(median(js, jo))).put("ratio_vs_jlama_of_medians", r4(median(s, o) / median(js, jo)));
                            jlamaAgreement.get(c).write(row, "jlama_");
                            if (phase.equals("decode")) {
                                decodeBatch1Base.put("jlama", jBest);
                            }
                        }
                        if (phase.equals("decode") && c.batch() == 1 && c.adapterOfRow() == null) {
                            decodeBatch1Base.put("loragate", lBest);
                            decodeBatch1Base.put("hf", hBest);
                        }
                    }
                }
                if (trainSteps > 0) {
                    double lBest = best(trainSpeeds, 0), hBest = best(trainSpeeds, 1);
                    rows.addObject().put("case", "lora_training").put("batch", trainBatch).put("seq", trainSeq)
                            .put("loragate_tokens_per_s", r4(lBest)).put("hf_tokens_per_s", r4(hBest)).put("ratio", r4(lBest / hBest))
                            .put("loragate_median", r4(median(trainSpeeds, 0))).put("hf_median", r4(median(trainSpeeds, 1)))
                            .put("ratio_of_medians", r4(median(trainSpeeds, 0) / median(trainSpeeds, 1)))
                            .put("loragate_first_loss", r4(first[0])).put("hf_first_loss", r4(first[1]))
                            .put("note", "first losses are of different first batches (loragate shuffles), both with B = 0");
                }
                ObjectNode decodeBound = out.putObject("decode_bound_batch1").put("weight_bytes_per_token", (long) weightBytes)
                        .put("memory_bandwidth_gbs", r4(bandwidth / 1e9)).put("bound_tokens_per_s", r4(bound))
                        .put("loragate_tokens_per_s", r4(decodeBatch1Base.get("loragate")))
                        .put("hf_tokens_per_s", r4(decodeBatch1Base.get("hf")))
                        .put("loragate_fraction_of_bound", r4(decodeBatch1Base.get("loragate") / bound))
                        .put("hf_fraction_of_bound", r4(decodeBatch1Base.get("hf") / bound));
                if (decodeBatch1Base.containsKey("jlama")) {
                    decodeBound.put("jlama_tokens_per_s", r4(decodeBatch1Base.get("jlama")))
                            .put("jlama_fraction_of_bound", r4(decodeBatch1Base.get("jlama") / bound));
                }
                System.out.println(JSON.writeValueAsString(out));
                System.err.println(markdown(out));
            }
        } catch (PeerException e) {
            peerFailure = e.getMessage();
        } finally {
            if (hf != null) {
                hf.close();
            }
            if (jlama != null) {
                jlama.close();
            }
            EngineBenchmark.deleteTree(dir);
        }
        if (peerFailure != null) {
            fail("the Hugging Face peer failed: " + peerFailure);
        }
    }

    /** The cases as a Markdown table (for docs/benchmarks.md), with the ceilings and the decode bound under it. */
    static String markdown(ObjectNode out) {
        StringBuilder md = new StringBuilder("| case | batch | adapters | loragate tok/s | HF tok/s | ratio (best) | ratio (medians) "
                + "| greedy tokens | Jlama tok/s | ratio vs Jlama (best) | greedy tokens vs Jlama |\n"
                + "|---|---:|---|---:|---:|---:|---:|---|---:|---:|---|\n");
        for (JsonNode c : out.get("cases")) {
            md.append("| ").append(c.get("case").asText()).append(" | ").append(c.get("batch").asInt()).append(" | ")
                    .append(c.has("variant") ? c.get("variant").asText() : "LoRA r " + EngineBenchmark.RANK + ", seq " + c.get("seq").asInt())
                    .append(" | ").append(c.get("loragate_tokens_per_s").asText()).append(" | ").append(c.get("hf_tokens_per_s").asText())
                    .append(" | ").append(c.get("ratio").asText()).append(" | ").append(c.get("ratio_of_medians").asText()).append(" | ")
                    .append(!c.has("greedy_tokens_identical") ? "n/a" : c.get("greedy_tokens_identical").asBoolean() ? "identical"
                            : "differ: " + c.get("greedy_rows_differing").asText())
                    .append(" | ").append(c.has("jlama_tokens_per_s") ? c.get("jlama_tokens_per_s").asText() : "-")
                    .append(" | ").append(c.has("ratio_vs_jlama") ? c.get("ratio_vs_jlama").asText() : "-")
                    .append(" | ").append(!c.has("jlama_greedy_tokens_identical") ? "-"
                            : c.get("jlama_greedy_tokens_identical").asBoolean() ? "identical"
                            : "differ from token " + c.get("jlama_first_differing_token").asInt())
                    .append(" |\n");
        }
        JsonNode ceil = out.get("ceilings");
        JsonNode bound = out.get("decode_bound_batch1");
        JsonNode load = out.get("machine").get("load_average_1m");
        md.append("\nCeilings: ").append(ceil.get("matmul_gflops_f32").asText()).append(" GFLOP/s float32 matmul, ")
                .append(ceil.get("memory_bandwidth_gbs").asText()).append(" GB/s read. Batch-1 decode bound: ")
                .append(bound.get("weight_bytes_per_token").asLong() / 1_000_000).append(" MB per token -> ")
                .append(bound.get("bound_tokens_per_s").asText()).append(" tok/s; loragate reaches ")
                .append(bound.get("loragate_fraction_of_bound").asText()).append(", HF ").append(bound.get("hf_fraction_of_bound").asText())
                .append(bound.has("jlama_fraction_of_bound") ? ", Jlama " + bound.get("jlama_fraction_of_bound").asText() : "")
                .append(". Load average (1 min) ").append(load.get("min").asText()).append("-").append(load.get("max").asText())
                .append(" on ").append(out.get("machine").get("cpus").asInt()).append(" CPUs.");
        return md.toString();
    }

    /** Batch 1: base and one adapter; the big batch: base, one adapter on every row, {@code distinct} adapters. */
    static List<Case> cases(int bigBatch, int distinct, int promptLen) {
        List<Case> cases = new ArrayList<>();
        for (int batch : bigBatch == 1 ? new int[] {1} : new int[] {1, bigBatch}) {
            long[][] prompts = prompts(batch, promptLen, 7 + batch);
            cases.add(new Case(batch, "base", null, prompts));
            cases.add(new Case(batch, "one_adapter", new int[batch], prompts));
            if (batch > 1 && distinct > 1) {
                int[] rows = new int[batch];
                for (int i = 0; i < batch; i++) {
                    rows[i] = i * distinct / batch; // grouped by adapter, as the engine sorts its rows
                }
                cases.add(new Case(batch, distinct + "_adapters", rows, prompts));
            }
        }
        return cases;
    }

    static long[][] prompts(int batch, int len, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        long[][] p = new long[batch][len];
        for (long[] row : p) {
            for (int i = 0; i < len; i++) {
                row[i] = rnd.nextInt(EngineBenchmark.VOCAB);
            }
        }
        return p;
    }

    static List<TrainingExample> trainingData(int n, int seq) {
        SplittableRandom rnd = new SplittableRandom(1);
        List<TrainingExample> examples = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            long[] ids = new long[seq];
            for (int t = 0; t < seq; t++) {
                ids[t] = rnd.nextInt(EngineBenchmark.VOCAB);
            }
            examples.add(TrainingExample.allTokens(ids));
        }
        return examples;
    }

    /** Prefill the prompts, then {@code steps} greedy decode steps through loragate's forward. */
    static Infer runLoragate(CausalModel model, AdapterHook hook, long[][] prompts, int steps) {
        int batch = prompts.length;
        int vocab = model.config().vocabSize();
        long[][] tokens = new long[batch][steps + 1];
        float[] top = new float[batch];
        long[][] next = new long[batch][1];
        try (KvCache cache = model.newCache(batch); NDManager scope = model.manager().newSubManager()) {
            long t0 = System.nanoTime();
            try (NDManager step = scope.newSubManager()) {
                greedy(model.forward(step, prompts, cache, hook, false).toFloatArray(), vocab, next, tokens, 0, top);
            }
            long t1 = System.nanoTime();
            for (int s = 1; s <= steps; s++) {
                try (NDManager step = scope.newSubManager()) {
                    greedy(model.forward(step, next, cache, hook, false).toFloatArray(), vocab, next, tokens, s, null);
                }
            }
            long t2 = System.nanoTime();
            return new Infer((t1 - t0) / 1e9, (t2 - t1) / 1e9, tokens, top);
        }
    }

    /** Row-wise argmax of {@code logits (batch, vocab)}: the first index of the largest logit, as torch's argmax. */
    static void greedy(float[] logits, int vocab, long[][] next, long[][] tokens, int at, float[] top) {
        for (int r = 0; r < next.length; r++) {
            int best = 0;
            for (int v = 1; v < vocab; v++) {
                if (logits[r * vocab + v] > logits[r * vocab + best]) {
                    best = v;
                }
            }
            next[r][0] = best;
            tokens[r][at] = best;
            if (top != null) {
                top[r] = logits[r * vocab + best];
            }
        }
    }

    static Infer runPeer(Peer hf, Case c, int steps) throws IOException {
        ObjectNode cmd = JSON.createObjectNode().put("op", "infer").put("steps", steps);
        cmd.put("variant", c.adapterOfRow() == null ? "base" : c.variant().equals("one_adapter") ? "one" : "mixed");
        if (c.adapterOfRow() != null) {
            ArrayNode names = cmd.putArray("adapters");
            Arrays.stream(c.adapterOfRow()).forEach(i -> names.add("a" + i));
        }
        cmd.set("prompts", JSON.valueToTree(c.prompts()));
        JsonNode a = hf.ask(cmd);
        long[][] tokens = JSON.treeToValue(a.get("tokens"), long[][].class);
        float[] top = JSON.treeToValue(a.get("prefill_top_logits"), float[].class);
        return new Infer(a.get("prefill_s").asDouble(), a.get("decode_s").asDouble(), tokens, top);
    }

    /** Batch-1 prefill of {@code prompt} and {@code steps} greedy decode steps in the Jlama peer. */
    static Infer runJlama(Peer jlama, long[] prompt, int steps) throws IOException {
        ObjectNode cmd = JSON.createObjectNode().put("op", "infer").put("steps", steps);
        cmd.set("prompt", JSON.valueToTree(prompt));
        JsonNode a = jlama.ask(cmd);
        long[] tokens = JSON.treeToValue(a.get("tokens"), long[].class);
        return new Infer(a.get("prefill_s").asDouble(), a.get("decode_s").asDouble(), new long[][] {tokens},
                new float[] {(float) a.get("prefill_top_logit").asDouble()});
    }

    /**
     * The model folder's tokenizer.json: loaded by loragate (Hugging Face tokenizers through DJL) and,
     * when it runs, by Jlama; the ids both give for one text. The cases feed token ids, so a
     * difference here changes no timing; it says whether text prompts would tokenize alike.
     */
    static ObjectNode tokenizerCheck(Path modelDir, Peer jlama) throws IOException {
        String text = "Hello world, 2024: byte-level BPE tokenizers split text.";
        ObjectNode t = JSON.createObjectNode().put("file", "tokenizer.json, synthetic GPT-2-style byte-level BPE (ByteLevelBpeTokenizer.java)")
                .put("vocab", EngineBenchmark.VOCAB).put("prompts", "token ids, the same for every engine").put("text", text);
        long[] lg = null;
        try (io.loragate.model.TextTokenizer tok = io.loragate.model.TextTokenizer.load(modelDir)) {
            lg = tok.encode(text, false);
            t.set("loragate_ids", JSON.valueToTree(lg));
        } catch (RuntimeException e) {
            t.put("loragate_error", String.valueOf(e.getMessage()));
        }
        if (jlama != null) {
            try {
                long[] jl = JSON.treeToValue(jlama.ask(JSON.createObjectNode().put("op", "encode").put("text", text)).get("ids"), long[].class);
                t.set("jlama_ids", JSON.valueToTree(jl));
                if (lg != null) {
                    t.put("same_ids", Arrays.equals(lg, jl));
                }
            } catch (PeerException e) {
                t.put("jlama_error", e.getMessage()); // an infer will fail the same way and say so
            }
        }
        return t;
    }

    /** One fresh LoRA trained for the data's steps; {tokens/s of every step but the first, the first step's loss}. */
    static double[] trainLoragate(CausalModel model, List<TrainingExample> data, int batch, double lr) {
        PeftConfig peft = PeftConfig.lora(EngineBenchmark.RANK, 2.0 * EngineBenchmark.RANK, TARGETS, "CAUSAL_LM");
        List<StepMetrics> steps = new ArrayList<>();
        try (TrainableLora lora = TrainableLora.create(model, peft, 1);
                CausalLmTrainer trainer = new CausalLmTrainer(model, lora,
                        TrainingConfig.defaults().withEpochs(1).withBatchSize(batch).withLearningRate(lr))) {
            trainer.train(data, steps::add);
        }
        List<StepMetrics> timed = steps.subList(1, steps.size());
        double tokens = timed.stream().mapToLong(StepMetrics::tokens).sum();
        double seconds = timed.stream().mapToDouble(s -> s.tokens() / s.tokensPerSecond()).sum();
        return new double[] {tokens / seconds, steps.get(0).loss()};
    }

    static double[] trainPeer(Peer hf, List<TrainingExample> data, int batch, double lr) throws IOException {
        ObjectNode cmd = JSON.createObjectNode().put("op", "train").put("batch", batch).put("lr", lr);
        ArrayNode rows = cmd.putArray("data");
        data.forEach(e -> rows.add(JSON.valueToTree(e.ids())));
        JsonNode steps = hf.ask(cmd).get("steps");
        double tokens = 0, seconds = 0;
        for (int i = 1; i < steps.size(); i++) {
            tokens += steps.get(i).get("tokens").asDouble();
            seconds += steps.get(i).get("seconds").asDouble();
        }
        return new double[] {tokens / seconds, steps.get(0).get("loss").asDouble()};
    }

    /** Greedy agreement of the two engines on one case, over every round. */
    static final class Agreement {
        int rows;
        int rowsDiffering;
        int firstDivergence = -1;
        int tokensPerRow;
        float maxTopLogitDiff;

        void add(Infer l, Infer h) {
            rows = l.tokens().length;
            tokensPerRow = l.tokens()[0].length;
            int differing = 0;
            for (int r = 0; r < rows; r++) {
                maxTopLogitDiff = Math.max(maxTopLogitDiff, Math.abs(l.prefillTopLogits()[r] - h.prefillTopLogits()[r]));
                for (int s = 0; s < tokensPerRow; s++) {
                    if (l.tokens()[r][s] != h.tokens()[r][s]) {
                        differing++;
                        firstDivergence = firstDivergence < 0 ? s : Math.min(firstDivergence, s);
                        break;
                    }
                }
            }
            rowsDiffering = Math.max(rowsDiffering, differing);
        }

        /** {@code prefix} names the other engine ("" for HF, "jlama_"). */
        void write(ObjectNode row, String prefix) {
            row.put(prefix + "greedy_tokens_identical", rowsDiffering == 0)
                    .put(prefix + "greedy_rows_differing", rowsDiffering + " of " + rows + " (" + tokensPerRow + " tokens each)")
                    .put(prefix + "prefill_top_logit_max_abs_diff", r4(maxTopLogitDiff));
            if (firstDivergence >= 0) {
                row.put(prefix + "first_differing_token", firstDivergence);
            }
        }
    }

    /** A peer process (the Python one, Jlama's JVM): one JSON command per line in, one JSON answer per line out. */
    static final class Peer implements AutoCloseable {
        final Process process;
        final BufferedWriter in;
        final BufferedReader out;

        Peer(List<String> command, int threads) throws IOException {
            ProcessBuilder pb = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
            Map<String, String> env = pb.environment();
            env.put("OMP_NUM_THREADS", String.valueOf(threads));
            env.put("MKL_NUM_THREADS", String.valueOf(threads));
            env.put("HF_HUB_OFFLINE", "1"); // the peer reads local folders only; never a download
            env.put("TRANSFORMERS_OFFLINE", "1");
            env.put("TOKENIZERS_PARALLELISM", "false");
            process = pb.start();
            in = new BufferedWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8));
            out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        }

        JsonNode ask(ObjectNode command) throws IOException {
            try {
                in.write(JSON.writer().without(SerializationFeature.INDENT_OUTPUT).writeValueAsString(command));
                in.newLine();
                in.flush();
            } catch (IOException e) {
                throw new PeerException("it exited (code " + waitExit() + ") before '" + command.get("op").asText()
                        + "'; its messages are above");
            }
            return read(command.get("op").asText());
        }

        /** The next answer line; {@code what} names the command it answers, for the error message. */
        JsonNode read(String what) throws IOException {
            String line = out.readLine();
            if (line == null) {
                throw new PeerException("it exited (code " + waitExit() + ") while answering '" + what + "'; its messages are above");
            }
            JsonNode answer = JSON.readTree(line);
            if (answer.has("error")) {
                throw new PeerException(answer.get("error").asText());
            }
            return answer;
        }

        private int waitExit() {
            try {
                return process.waitFor(10, TimeUnit.SECONDS) ? process.exitValue() : -1;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return -1;
            }
        }

        @Override
        public void close() {
            try {
                in.write("{\"op\": \"quit\"}");
                in.newLine();
                in.flush();
            } catch (IOException e) {
                // already gone
            }
            if (waitExit() < 0) {
                process.destroyForcibly();
            }
        }
    }

    static final class PeerException extends IOException {
        PeerException(String message) {
            super(message);
        }
    }

    static double best(List<double[]> rounds, int i) {
        return rounds.stream().mapToDouble(r -> r[i]).max().orElse(Double.NaN);
    }

    static double median(List<double[]> rounds, int i) {
        double[] v = rounds.stream().mapToDouble(r -> r[i]).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /** Four significant digits. */
    static double r4(double d) {
        return Double.isFinite(d) ? Double.parseDouble(EngineBenchmark.fmt(d)) : d;
    }

    static double loadAverage() {
        try {
            return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        } catch (IOException | RuntimeException e) {
            return Double.NaN; // not Linux: no load average to report
        }
    }

    static int intOpt(Map<String, String> opt, String name, int def) {
        String v = opt.get(name);
        if (v == null) {
            return def;
        }
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            fail("--" + name + " must be a whole number, got '" + v + "'");
            return def;
        }
    }

    static void fail(String message) {
        System.err.println("sidebyside: " + message);
        System.exit(2);
    }
}
