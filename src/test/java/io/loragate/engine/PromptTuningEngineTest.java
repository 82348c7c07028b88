package io.loragate.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import io.loragate.Fixtures;
import io.loragate.adapter.LoraAdapter;
import io.loragate.adapter.PromptPart;
import io.loragate.adapter.TrainableLora;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.common.SamplingParams;
import io.loragate.model.TextTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prompt-tuning rows share engine batches with LoRA rows and base rows (left padding lines up
 * their different lengths): greedy outputs equal each sequence's solo run, and a prompt made of
 * real tokens' embeddings generates what the base generates with those tokens prepended.
 */
class PromptTuningEngineTest {

    private static long[] concat(long[] a, long[] b) {
        long[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static long[] run(Engine engine, Sequence s, EngineTest.Collector c) throws Exception {
        engine.submit(s);
        return c.generation().tokens();
    }

    @Test
    void promptTuningLoraAndBaseRowsInOneBatchEachGetTheirSoloOutput(@TempDir Path dir) throws Exception {
        try (CausalModel model = (CausalModel) BaseModel.load(Fixtures.hf("tiny-llama"), Device.cpu());
                TextTokenizer tok = TextTokenizer.load(Fixtures.hf("tiny-llama"))) {
            String initText = "permission is hereby granted";
            long[] t = tok.encode(initText);
            int k = t.length;
            try (TrainableLora p = PromptPart.trainable(model, tok, k, initText, "CAUSAL_LM", "tiny-llama", 1, null)) {
                p.save(dir.resolve("text"));
            }
            try (TrainableLora p = PromptPart.trainable(model, tok, 6, null, "CAUSAL_LM", "tiny-llama", 2, null)) {
                p.save(dir.resolve("random"));
            }
            try (LoraAdapter text = LoraAdapter.load(dir.resolve("text"), model.config().family(), model.linears(), model.paramShapes(), Device.cpu());
                    LoraAdapter random = LoraAdapter.load(dir.resolve("random"), model.config().family(), model.linears(), model.paramShapes(), Device.cpu());
                    LoraAdapter lora = LoraAdapter.load(Fixtures.hf("tiny-llama").resolve("adapter0"), model.config().family(), model.linears(),
                            model.paramShapes(), Device.cpu())) {
                String[] prompts = {"the software", "the cat sat on the mat and", "transfer learning is"};
                LoraAdapter[] adapters = {text, random, lora, null};
                SamplingParams greedy = SamplingParams.greedy(8);

                // solo: one sequence at a time
                List<long[]> solo = new ArrayList<>();
                try (Engine engine = new Engine(model, tok, new EngineSettings(8, 64, 4096, 16), EngineObserver.NONE)) {
                    engine.start();
                    for (String prompt : prompts) {
                        for (LoraAdapter a : adapters) {
                            EngineTest.Collector c = new EngineTest.Collector();
                            solo.add(run(engine, new Sequence(tok.encode(prompt), "t", a, greedy, c, 0), c));
                        }
                    }
                }

                // together: all 12 submitted before the engine starts, so one prefill admits them all
                AtomicInteger prefillRows = new AtomicInteger();
                EngineObserver observer = new EngineObserver() {
                    @Override
                    public void step(boolean prefill, int rows, int tokens, long nanos) {
                        if (prefill) {
                            prefillRows.accumulateAndGet(rows, Math::max);
                        }
                    }
                };
                List<EngineTest.Collector> collectors = new ArrayList<>();
                List<Sequence> sequences = new ArrayList<>();
                try (Engine engine = new Engine(model, tok, new EngineSettings(16, 64, 4096, 16), observer)) {
                    for (String prompt : prompts) {
                        for (LoraAdapter a : adapters) {
                            EngineTest.Collector c = new EngineTest.Collector();
                            collectors.add(c);
                            Sequence s = new Sequence(tok.encode(prompt), "t", a, greedy, c, 0);
                            sequences.add(s);
                            engine.submit(s);
                        }
                    }
                    engine.start();
                    for (int i = 0; i < collectors.size(); i++) {
                        assertArrayEquals(solo.get(i), collectors.get(i).generation().tokens(), "sequence " + i);
                    }
                }
                assertEquals(12, prefillRows.get(), "every row in one prefill batch");
                for (int i = 0; i < sequences.size(); i++) {
                    Sequence s = sequences.get(i);
                    assertEquals(tok.encode(prompts[i / 4]).length, s.promptTokens(), "usage counts the client's tokens only");
                    assertEquals(s.promptTokens() + (s.adapter() == null ? 0 : s.adapter().virtualTokens()), s.inputTokens());
                }

                // closed form in the engine: the real-token prompt generates what the base does after those tokens
                try (Engine engine = new Engine(model, tok, new EngineSettings(8, 64, 4096, 16), EngineObserver.NONE)) {
                    engine.start();
                    for (String prompt : prompts) {
                        EngineTest.Collector c = new EngineTest.Collector();
                        long[] base = run(engine, new Sequence(concat(t, tok.encode(prompt)), "t", null, greedy, c, 0), c);
                        assertArrayEquals(base, solo.get(Arrays.asList(prompts).indexOf(prompt) * 4), "'" + prompt + "'");
                    }
                }
            }
        }
    }
}
