import ai.djl.Device;
import io.loragate.adapter.PeftConfig;
import io.loragate.adapter.TrainableLora;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.model.TextTokenizer;
import io.loragate.model.onnx.MiniLmImporter;
import io.loragate.training.data.ClassificationExample;
import io.loragate.training.data.TrainingExample;
import io.loragate.training.trainer.CausalLmTrainer;
import io.loragate.training.trainer.ClassificationTrainer;
import io.loragate.training.trainer.StepMetrics;
import io.loragate.training.trainer.TrainingConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Training throughput (issue 4, benchmark): LoRA training steps on a randomly initialised
 * decoder of the SmolLM2-135M shape (EngineBenchmark's model), r=16 on q,k,v,o, on random token
 * sequences; reports tokens/s per step (the first step is a warm-up and left out) and the model
 * FLOP utilisation against the float32 matmul ceiling measured through DJL in the same run.
 *
 * <p>FLOPs per token: the usual {@code 6N} (N = parameters of the linear layers; Kaplan et al.'s
 * convention, which counts weight gradients) and the {@code 4N} a frozen base really needs (forward
 * 2N + input gradients 2N; no weight gradients), attention score FLOPs left out (they are under 10%
 * at these lengths). Then one epoch of classification training (LoRA r=16 on query,value + a head on
 * the mean pool) of the embedded all-MiniLM-L6-v2 over {@code --texts} generated short texts in 3
 * classes, batch 32: wall time, examples/s, real (unpadded) tokens/s and the same MFU against the
 * same ceiling (MiniLM's 384-wide matmuls reach less of it than the ceiling's). Prints one JSON object.
 *
 * <pre>
 * benchmarks/run.sh TrainingBenchmark --seq 128 --batch 4 --steps 4 --layers 30
 * </pre>
 * {@code --texts 0} leaves the MiniLM epoch out.
 */
public class TrainingBenchmark {

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            opt.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        int seq = Integer.parseInt(opt.getOrDefault("seq", "128"));
        int batch = Integer.parseInt(opt.getOrDefault("batch", "4"));
        int steps = Integer.parseInt(opt.getOrDefault("steps", "4"));
        int layers = Integer.parseInt(opt.getOrDefault("layers", String.valueOf(EngineBenchmark.LAYERS)));
        int rank = Integer.parseInt(opt.getOrDefault("r", "16"));
        int texts = Integer.parseInt(opt.getOrDefault("texts", "1000"));

        Path dir = Files.createTempDirectory("loragate-train-bench");
        try (CausalModel model = (CausalModel) BaseModel.load(EngineBenchmark.writeRandomModel(dir.resolve("smollm2"), layers),
                Device.cpu())) {
            double ceiling = EngineBenchmark.matmulCeiling(model.manager());
            SplittableRandom rnd = new SplittableRandom(1);
            List<TrainingExample> examples = new ArrayList<>();
            for (int i = 0; i < batch * (steps + 1); i++) {
                long[] ids = new long[seq];
                for (int t = 0; t < seq; t++) {
                    ids[t] = rnd.nextInt(EngineBenchmark.VOCAB);
                }
                examples.add(TrainingExample.allTokens(ids));
            }
            PeftConfig peft = PeftConfig.lora(rank, 2.0 * rank, List.of("q_proj", "k_proj", "v_proj", "o_proj"), "CAUSAL_LM");
            List<StepMetrics> measured = new ArrayList<>();
            long params;
            try (TrainableLora lora = TrainableLora.create(model, peft, 1);
                    CausalLmTrainer trainer = new CausalLmTrainer(model, lora, TrainingConfig.defaults().withEpochs(1).withBatchSize(batch)
                            .withLearningRate(1e-4))) {
                params = lora.parameterCount();
                trainer.train(examples, measured::add);
            }
            List<StepMetrics> timed = measured.subList(1, measured.size());
            double tokens = timed.stream().mapToLong(StepMetrics::tokens).sum();
            double seconds = timed.stream().mapToDouble(m -> m.tokens() / m.tokensPerSecond()).sum();
            double tps = tokens / seconds;
            double n = EngineBenchmark.linearParams(model);
            StringBuilder json = new StringBuilder("{\n");
            json.append("  \"benchmark\": \"TrainingBenchmark\",\n");
            json.append("  \"command\": \"benchmarks/run.sh TrainingBenchmark ").append(String.join(" ", args)).append("\",\n");
            json.append("  \"cpus\": ").append(Runtime.getRuntime().availableProcessors()).append(",\n");
            json.append("  \"model\": {\"shape\": \"SmolLM2-135M\", \"layers\": ").append(layers)
                    .append(", \"linear_params\": ").append((long) n).append("},\n");
            json.append("  \"lora\": {\"r\": ").append(rank).append(", \"targets\": \"q,k,v,o\", \"trainable_params\": ")
                    .append(params).append("},\n");
            json.append("  \"batch\": ").append(batch).append(", \"seq\": ").append(seq).append(", \"timed_steps\": ")
                    .append(timed.size()).append(",\n");
            json.append("  \"step_seconds\": [");
            for (int i = 0; i < timed.size(); i++) {
                StepMetrics m = timed.get(i);
                json.append(i == 0 ? "" : ", ").append(fmt(m.tokens() / m.tokensPerSecond()));
            }
            json.append("],\n");
            json.append("  \"tokens_per_second\": ").append(fmt(tps)).append(",\n");
            json.append("  \"matmul_ceiling_gflops\": ").append(fmt(ceiling)).append(",\n");
            json.append("  \"achieved_gflops_6N\": ").append(fmt(tps * 6 * n / 1e9)).append(",\n");
            json.append("  \"mfu_6N\": ").append(fmt(tps * 6 * n / 1e9 / ceiling)).append(",\n");
            json.append("  \"achieved_gflops_4N_frozen_base\": ").append(fmt(tps * 4 * n / 1e9)).append(",\n");
            json.append("  \"mfu_4N_frozen_base\": ").append(fmt(tps * 4 * n / 1e9 / ceiling)).append(",\n");
            json.append("  \"minilm_classification_epoch\": ")
                    .append(texts > 0 ? miniLmEpoch(dir.resolve("minilm-data"), texts, rank, ceiling) : "null").append("\n");
            json.append("}");
            System.out.println(json);
        } finally {
            EngineBenchmark.deleteTree(dir);
        }
    }

    static final String[][] TOPICS = {
        {"sports", "match", "goal", "team", "coach", "season", "league", "striker", "referee", "score", "stadium"},
        {"food", "recipe", "oven", "garlic", "sauce", "bread", "soup", "spice", "butter", "dinner", "kitchen"},
        {"tech", "software", "laptop", "server", "update", "chip", "network", "code", "battery", "screen", "cloud"}};
    static final String[] FILLER = {"the", "a", "new", "after", "with", "for", "today", "again", "quite", "very", "our"};

    /** One epoch over {@code n} generated texts (8 to 14 words, 3 topic words each): wall time and rate. */
    static String miniLmEpoch(Path dataDir, int n, int rank, double ceiling) {
        Path folder = MiniLmImporter.ensureImported(dataDir);
        SplittableRandom rnd = new SplittableRandom(5);
        try (BaseModel model = BaseModel.load(folder, Device.cpu()); TextTokenizer tok = TextTokenizer.load(folder)) {
            List<ClassificationExample> data = new ArrayList<>();
            long tokens = 0;
            for (int i = 0; i < n; i++) {
                String[] topic = TOPICS[i % 3];
                StringBuilder sb = new StringBuilder();
                int words = 8 + rnd.nextInt(7);
                for (int w = 0; w < words; w++) {
                    sb.append(w == 0 ? "" : " ").append(w % 3 == 1 ? topic[1 + rnd.nextInt(topic.length - 1)] : FILLER[rnd.nextInt(FILLER.length)]);
                }
                ClassificationExample e = ClassificationExample.of(tok, sb.toString(), topic[0], 128);
                tokens += e.ids().length;
                data.add(e);
            }
            PeftConfig peft = PeftConfig.lora(rank, 2.0 * rank, List.of("query", "value"), "SEQ_CLS");
            double linear = model.linears().values().stream().mapToDouble(l -> (double) l.in() * l.out()).sum();
            TrainingConfig config = TrainingConfig.defaults().withEpochs(1).withBatchSize(32).withLearningRate(3e-3).withSeed(1);
            long t0 = System.nanoTime();
            try (ClassificationTrainer run = ClassificationTrainer.create(model, peft, config, data, List.of())) {
                run.train(m -> { }, 0);
            }
            double sec = (System.nanoTime() - t0) / 1e9;
            double tps = tokens / sec;
            return "{\"texts\": " + n + ", \"tokens\": " + tokens + ", \"batch\": 32, \"lora_r\": " + rank
                    + ", \"targets\": \"query,value\", \"linear_params\": " + (long) linear + ", \"epoch_seconds\": " + fmt(sec)
                    + ", \"examples_per_second\": " + fmt(n / sec) + ", \"tokens_per_second\": " + fmt(tps)
                    + ", \"mfu_6N\": " + fmt(tps * 6 * linear / 1e9 / ceiling)
                    + ", \"mfu_4N_frozen_base\": " + fmt(tps * 4 * linear / 1e9 / ceiling) + "}";
        }
    }

    static String fmt(double d) {
        return String.format(Locale.ROOT, "%.4g", d);
    }
}
