package io.loragate.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import io.loragate.Fixtures;
import io.loragate.adapter.AdapterMethodsTest;
import io.loragate.adapter.LoraAdapter;
import io.loragate.adapter.Ia3Method;
import io.loragate.adapter.MultiLoraHook;
import io.loragate.adapter.PeftConfig;
import io.loragate.model.AdapterHook;
import io.loragate.model.Architecture;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.model.Generation;
import io.loragate.model.Generator;
import io.loragate.common.SamplingParams;
import io.loragate.model.TextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The engine's continuous batching with IA3, DoRA, bottleneck, LoRA and base sequences: each gets its solo greedy tokens. */
class EngineMethodsTest {

    @Test
    void sequencesOfEveryMethodJoiningAtDifferentTimesGetTheirSoloOutput() throws Exception {
        Path tmp = Files.createTempDirectory("engine-methods");
        try (CausalModel model = (CausalModel) BaseModel.load(Fixtures.hf("tiny-llama"), Device.cpu());
                TextTokenizer tokenizer = TextTokenizer.load(Fixtures.hf("tiny-llama"));
                LoraAdapter lora = LoraAdapter.load(Fixtures.hf("tiny-llama").resolve("adapter0"), model);
                LoraAdapter ia3 = LoraAdapter.load(AdapterMethodsTest.writeIa3(model, PeftConfig.ia3(
                        Ia3Method.targets(Architecture.LLAMA), Ia3Method.feedforward(Architecture.LLAMA), List.of(),
                        "CAUSAL_LM"), tmp.resolve("ia3"), 1), model);
                LoraAdapter dora = LoraAdapter.load(AdapterMethodsTest.writeDora(model, List.of("q_proj", "v_proj", "down_proj"),
                        true, 0.2, tmp.resolve("dora"), 2), model);
                LoraAdapter bn = LoraAdapter.load(AdapterMethodsTest.writeBottleneck(model, PeftConfig.bottleneck(6,
                        PeftConfig.HOULSBY, "relu", List.of(), "CAUSAL_LM"), tmp.resolve("bn"), 3), model);
                Engine engine = new Engine(model, tokenizer, new EngineSettings(8, 64, 4096, 16), EngineObserver.NONE)) {
            engine.start();
            LoraAdapter[] adapters = {null, lora, ia3, dora, bn};
            long[][] prompts = {{5, 17, 42, 99, 3}, {11, 12, 13}, {300, 1, 2, 3, 4, 5, 6}, {8, 9}, {60, 61, 62, 63}};
            List<EngineTest.Collector> collectors = new ArrayList<>();
            List<long[]> expected = new ArrayList<>();
            for (int wave = 0; wave < 2; wave++) {
                for (int p = 0; p < adapters.length; p++) {
                    LoraAdapter a = adapters[(p + wave) % adapters.length];
                    EngineTest.Collector c = new EngineTest.Collector();
                    collectors.add(c);
                    AdapterHook alone = a == null ? AdapterHook.NONE : MultiLoraHook.single(a);
                    Generation g = Generator.generate(model, new long[][] {prompts[p]}, alone,
                            new SamplingParams[] {SamplingParams.greedy(10)}, null)[0];
                    expected.add(g.tokens());
                    engine.submit(new Sequence(prompts[p], "t", a, SamplingParams.greedy(10), c, 0));
                }
                collectors.get(collectors.size() - 1).firstToken.await(30, java.util.concurrent.TimeUnit.SECONDS);
            }
            for (int i = 0; i < collectors.size(); i++) {
                assertEquals(Arrays.toString(expected.get(i)), Arrays.toString(collectors.get(i).generation().tokens()), "sequence " + i);
            }
            assertEquals(0, engine.running());
        } finally {
            try (var files = Files.walk(tmp)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
