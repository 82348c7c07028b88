package io.loragate.adapter;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.loragate.Fixtures;
import io.loragate.model.BaseModel;
import io.loragate.model.LinearShape;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Adapter folders of every kind for the tiny-llama fixture, each with one number poisoned (NaN,
 * ±Infinity, or a finite value far beyond {@code loragate.adapters.max-abs-value}), and what a refusal
 * must name. Shared by the loader's unit test and the REST / gRPC registration tests.
 */
public final class PoisonedAdapters {

    /** One poisoned folder: {@code named} is the tensor (or config field) that the refusal must name. */
    public record Case(String kind, Path folder, String named) {
        @Override
        public String toString() {
            return kind;
        }
    }

    private PoisonedAdapters() {
    }

    static final String LORA = LoraAdapter.PREFIX + "model.layers.";

    /** Every kind of adapter for {@code llama} (the tiny-llama fixture base), written under {@code dir}. */
    public static List<Case> tinyLlama(BaseModel llama, Path dir) {
        List<Case> cases = new ArrayList<>();
        Path fixture = Fixtures.hf("tiny-llama").resolve("adapter0");

        String b = LORA + "0.self_attn.q_proj.lora_B.weight";
        cases.add(new Case("lora_B NaN", poison(AdapterFixtures.copy(fixture, dir.resolve("lora-b-nan")), b, Float.NaN), b));
        String a = LORA + "1.self_attn.v_proj.lora_A.weight";
        cases.add(new Case("lora_A +Inf", poison(AdapterFixtures.copy(fixture, dir.resolve("lora-a-inf")), a,
                Float.POSITIVE_INFINITY), a));
        String big = LORA + "0.mlp.down_proj.lora_A.weight";
        cases.add(new Case("lora weight 1e38", poison(AdapterFixtures.copy(fixture, dir.resolve("lora-huge")), big, 1e38f), big));

        Path alpha = AdapterFixtures.copy(fixture, dir.resolve("alpha"));
        AdapterFixtures.editConfig(alpha, "\"lora_alpha\": 8", "\"lora_alpha\": 1e308");
        cases.add(new Case("lora_alpha 1e308", alpha, "lora_alpha"));

        Path rs = AdapterFixtures.copy(fixture, dir.resolve("rslora"));
        AdapterFixtures.editConfig(rs, "\"use_rslora\": false", "\"use_rslora\": true");
        AdapterFixtures.editConfig(rs, "\"alpha_pattern\": {}", "\"alpha_pattern\": {\"q_proj\": 1e30}");
        cases.add(new Case("rsLoRA alpha_pattern 1e30", rs, "alpha_pattern"));

        List<String> targets = List.of("q_proj", "v_proj", "down_proj");
        Path dora = AdapterMethodsTest.writeDora(llama, targets, true, 0.1, dir.resolve("dora"), 3);
        String mag = LORA + "1.mlp.down_proj.lora_magnitude_vector";
        cases.add(new Case("DoRA magnitude NaN", poison(dora, mag, Float.NaN), mag));

        PeftConfig ia3 = PeftConfig.ia3(Ia3Method.targets(llama.config().architecture()),
                Ia3Method.feedforward(llama.config().architecture()), List.of(), "CAUSAL_LM");
        Path ia3Folder = AdapterMethodsTest.writeIa3(llama, ia3, dir.resolve("ia3"), 5);
        String vec = LORA + "0.mlp.down_proj.ia3_l";
        cases.add(new Case("IA3 vector NaN", poison(ia3Folder, vec, Float.NaN), vec));

        Path bn = AdapterMethodsTest.writeBottleneck(llama, PeftConfig.bottleneck(4, PeftConfig.HOULSBY, "relu", List.of(),
                "CAUSAL_LM"), dir.resolve("bottleneck"), 7);
        String up = firstKey(bn, ".adapter_up.weight");
        cases.add(new Case("bottleneck -Inf", poison(bn, up, Float.NEGATIVE_INFINITY), up));

        Path prompt = dir.resolve("prompt");
        try (TrainableLora p = PromptPart.trainable(llama, null, 4, null, "CAUSAL_LM", "tiny-llama", 11, null)) {
            p.save(prompt);
        }
        cases.add(new Case("prompt embeddings NaN", poison(prompt, PromptPart.KEY, Float.NaN), PromptPart.KEY));

        // partial fine-tuning and modules_to_save: a full copy of a base linear layer
        String module = "model.layers.1.mlp.down_proj";
        PeftConfig saves = PeftConfig.lora(LoraSection.plain(4, 8), PeftConfig.Modules.list(List.of()), List.of(),
                List.of(module), "CAUSAL_LM", null);
        LinearShape shape = llama.linears().get(module);
        float[] w = new float[Math.toIntExact(shape.in() * shape.out())];
        Random random = new Random(13);
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (random.nextGaussian() * 0.05);
        }
        Path partial = dir.resolve("partial");
        try (NDManager m = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            new LoraWriter(saves).moduleToSave(module + ".weight", m.create(w, new Shape(shape.out(), shape.in()))).write(partial);
        }
        String saved = firstKey(partial, module + ".weight");
        cases.add(new Case("modules_to_save (partial) NaN", poison(partial, saved, Float.NaN), saved));
        return cases;
    }

    /** Sets element 1 of {@code tensor} in the folder's weights to {@code value}. */
    public static Path poison(Path folder, String tensor, float value) {
        boolean[] found = {false};
        AdapterFixtures.rewrite(folder.resolve(LoraAdapter.WEIGHTS_FILE), (name, v) -> {
            if (name.equals(tensor)) {
                v[Math.min(1, v.length - 1)] = value;
                found[0] = true;
            }
            return v;
        });
        if (!found[0]) {
            throw new IllegalArgumentException(folder + " has no tensor " + tensor);
        }
        return folder;
    }

    private static String firstKey(Path folder, String suffix) {
        try (var f = io.loragate.model.safetensors.SafetensorsFile.open(folder.resolve(LoraAdapter.WEIGHTS_FILE))) {
            return f.names().stream().filter(n -> n.endsWith(suffix)).sorted().findFirst()
                    .orElseThrow(() -> new IllegalArgumentException(folder + " has no tensor ending in " + suffix));
        }
    }
}
