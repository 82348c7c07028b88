import ai.djl.Device;
import io.loragate.adapter.PeftConfig;
import io.loragate.adapter.TrainableLora;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.training.StepMetrics;
import io.loragate.training.Trainer;
import io.loragate.training.TrainingConfig;
import io.loragate.training.TrainingExample;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Training throughput (issue 4, item 9 / benchmarks): LoRA training steps on a randomly initialised
 * decoder of the SmolLM2-135M shape (EngineBenchmark's model), r=16 on q,k,v,o, on random token
 * sequences; reports tokens/s per step (the first step is a warm-up and left out) and the model
 * FLOP utilisation against the float32 matmul ceiling measured through DJL in the same run.
 *
 * <p>FLOPs per token: the usual {@code 6N} (N = parameters of the linear layers; Kaplan et al.'s
 * convention, which counts weight gradients) and the {@code 4N} a frozen base really needs (forward
 * 2N + input gradients 2N; no weight gradients), attention score FLOPs left out (they are under 10%
 * at these lengths). Prints one JSON object.
 *
 * <pre>
 * benchmarks/run.sh TrainingBenchmark --seq 128 --batch 4 --steps 4 --layers 30
 * </pre>
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
                    Trainer trainer = new Trainer(model, lora, TrainingConfig.defaults().withEpochs(1).withBatchSize(batch)
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
            json.append("  \"mfu_4N_frozen_base\": ").append(fmt(tps * 4 * n / 1e9 / ceiling)).append("\n");
            json.append("}");
            System.out.println(json);
        } finally {
            EngineBenchmark.deleteTree(dir);
        }
    }

    static String fmt(double d) {
        return String.format(Locale.ROOT, "%.4g", d);
    }
}
