import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.tjake.jlama.model.AbstractModel;
import com.github.tjake.jlama.model.ModelSupport;
import com.github.tjake.jlama.safetensors.DType;
import com.github.tjake.jlama.tensor.AbstractTensor;
import com.github.tjake.jlama.tensor.KvBufferCache;
import com.github.tjake.jlama.tensor.operations.TensorOperationsProvider;
import com.github.tjake.jlama.util.PhysicalCoreExecutor;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Jlama peer of SideBySideBenchmark (issue 17, item 8): batch-1 prefill and greedy decode of a Llama
 * folder with Jlama (com.github.tjake:jlama-core 0.8.4), float32 weights and float32 working memory.
 * Not part of the product: benchmarks/sidebyside.sh compiles and runs it with a JDK 21 or newer
 * (Jlama needs the Vector API: --add-modules jdk.incubator.vector) and SideBySideBenchmark drives it
 * over stdin/stdout, one JSON command per line and one JSON answer per line (logs go to stderr).
 *
 * <pre>
 *   java ... JlamaDecode MODEL_DIR THREADS
 *   {"op": "infer", "prompt": [ids], "steps": D}  -> prefill_s (prompt + first greedy token), decode_s
 *                                                   (D forward + argmax steps), tokens [D + 1], prefill_top_logit
 *   {"op": "encode", "text": T}                    -> ids of Jlama's own tokenizer (no BOS)
 *   {"op": "quit"}
 * </pre>
 *
 * Prompts arrive as token ids, so every engine sees the same ids whatever its tokenizer does.
 */
public class JlamaDecode {

    public static void main(String[] args) throws Exception {
        // the answers keep the real stdout to themselves; anything a library prints goes to stderr
        PrintStream answers = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
        System.setOut(System.err);
        ObjectMapper json = new ObjectMapper();
        File folder = new File(args[0]);
        int threads = Integer.parseInt(args[1]);
        AbstractModel model;
        try {
            // threadCount: Jlama's ForkJoinPool (PhysicalCoreExecutor) gets exactly this many workers
            model = ModelSupport.loadModel(folder, null, DType.F32, DType.F32, Optional.empty(), Optional.of(threads));
        } catch (RuntimeException e) {
            answers.println(json.createObjectNode().put("error", "Jlama cannot load " + folder + ": " + e));
            return;
        }
        int vocab = model.getConfig().vocabularySize;
        ObjectNode ready = json.createObjectNode().put("op", "ready")
                .put("runtime", version() + " (pure Java, Vector API), " + System.getProperty("java.vm.name") + " "
                        + Runtime.version())
                .put("threads", PhysicalCoreExecutor.instance.get().getCoreCount())
                .put("tensor_operations", TensorOperationsProvider.get().name())
                .put("model_dtype", model.getWeights().getModelDType().name())
                .put("working_dtype", model.getWorkingDType().name())
                .put("tokenizer", model.getTokenizer().getClass().getSimpleName());
        answers.println(json.writeValueAsString(ready));
        KvBufferCache caches = new KvBufferCache(model);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null;) {
            JsonNode cmd = json.readTree(line);
            String op = cmd.path("op").asText();
            try {
                switch (op) {
                    case "infer" -> answers.println(json.writeValueAsString(infer(json, model, caches, cmd, vocab)));
                    case "encode" -> {
                        ObjectNode a = json.createObjectNode();
                        ArrayNode ids = a.putArray("ids");
                        for (long id : model.getTokenizer().encode(cmd.get("text").asText())) {
                            ids.add(id);
                        }
                        answers.println(json.writeValueAsString(a));
                    }
                    case "quit" -> {
                        model.close();
                        return;
                    }
                    default -> answers.println(json.createObjectNode().put("error", "unknown op '" + op + "'"));
                }
            } catch (RuntimeException e) {
                answers.println(json.createObjectNode().put("error", op + " failed: " + e));
            }
        }
    }

    /** Prefill of the prompt ids at positions 0.., then {@code steps} greedy decode steps; a fresh KV cache. */
    static ObjectNode infer(ObjectMapper json, AbstractModel model, KvBufferCache caches, JsonNode cmd, int vocab) {
        JsonNode p = cmd.get("prompt");
        int[] prompt = new int[p.size()];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = p.get(i).asInt();
        }
        int steps = cmd.get("steps").asInt();
        int[] tokens = new int[steps + 1];
        float top;
        long t0, t1, t2;
        try (KvBufferCache.KvBuffer kv = caches.getEphemeralKvBuffer(); AbstractTensor logits = model.makeDenseTensor(vocab)) {
            t0 = System.nanoTime();
            // hidden states (prompt, hidden); the LM head runs on the last row only, as Jlama's generate does
            AbstractTensor hidden = model.batchForward(prompt, 0, kv);
            // temperature 0: argmax, the first index of the largest logit (the slice is a view: hidden owns it)
            tokens[0] = model.sample(hidden.slice(hidden.shape().first() - 1), 0f, 0f, logits);
            top = logits.get(0, tokens[0]);
            hidden.close();
            t1 = System.nanoTime();
            for (int s = 1; s <= steps; s++) {
                try (AbstractTensor out = model.forward(tokens[s - 1], prompt.length + s - 1, kv, Optional.empty())) {
                    tokens[s] = model.sample(out, 0f, 0f, logits);
                }
            }
            t2 = System.nanoTime();
        }
        ObjectNode a = json.createObjectNode().put("prefill_s", (t1 - t0) / 1e9).put("decode_s", (t2 - t1) / 1e9)
                .put("prefill_top_logit", top);
        ArrayNode ids = a.putArray("tokens");
        for (int t : tokens) {
            ids.add(t);
        }
        return a;
    }

    /** The jlama-core jar this runs on (its file name carries the version). */
    static String version() {
        try {
            return new File(AbstractModel.class.getProtectionDomain().getCodeSource().getLocation().toURI()).getName();
        } catch (java.net.URISyntaxException | RuntimeException e) {
            return "jlama-core (jar unknown)";
        }
    }
}
