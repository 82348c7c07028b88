package io.loragate.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.loragate.Fixtures;
import io.loragate.adapter.LoraAdapter;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.common.SamplingParams;
import io.loragate.model.TextTokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The soak benchmark's load in miniature, on the engine alone: closed-loop clients whose requests
 * overlap, so rows join and leave a running batch all the time (the slot cache reclaims dead
 * columns) and the batch now and then empties and refills. Afterwards no NDArray is left under the
 * base model's manager (found by the 30-minute soak: views from the cache's column shift were never
 * closed, and the cache grew at every refill of an empty batch).
 */
class EngineMemoryTest {

    @Test
    void overlappingRequestsLeaveNoArraysBehind() throws Exception {
        try (CausalModel model = (CausalModel) BaseModel.load(Fixtures.hf("tiny-llama"), Device.cpu());
                TextTokenizer tok = TextTokenizer.load(Fixtures.hf("tiny-llama"));
                LoraAdapter a0 = LoraAdapter.load(Fixtures.hf("tiny-llama").resolve("adapter0"), model.config().family(), model.linears(), model.paramShapes(),
                        Device.cpu());
                Engine engine = new Engine(model, tok, new EngineSettings(4, 64, 4096, 16), EngineObserver.NONE)) {
            engine.start();
            List<LoraAdapter> adapters = Arrays.asList(null, a0);
            requests(engine, tok, adapters, 1, 8); // warm-up
            int before = model.manager().getManagedArrays().size();
            requests(engine, tok, adapters, 4, 400);
            assertTrue(engine.steps() > 0);
            assertEquals(before, model.manager().getManagedArrays().size(), "arrays left under the base's manager after 400 requests");
        }
    }

    /** {@code total} requests from {@code clients} closed-loop clients with prompts and lengths that vary. */
    private static void requests(Engine engine, TextTokenizer tok, List<LoraAdapter> adapters, int clients, int total) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        try {
            List<Future<?>> all = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                int client = c;
                all.add(pool.submit(() -> {
                    for (int i = client; i < total; i += clients) {
                        CompletableFuture<Void> done = new CompletableFuture<>();
                        SamplingParams p = new SamplingParams(4 + i % 21, 0, 0, 1, null, Set.of(), List.of(), true);
                        engine.submit(new Sequence(tok.encode("request " + i + " of the soak".repeat(1 + i % 3)), "t",
                                adapters.get(i % adapters.size()), p, new SequenceListener() {
                                    @Override
                                    public void onToken(long token, double logprob, String text) {
                                    }

                                    @Override
                                    public void onFinish(String reason, String text, RuntimeException error) {
                                        done.complete(null);
                                    }
                                }, 0));
                        done.get(60, TimeUnit.SECONDS);
                    }
                    return null;
                }));
            }
            for (Future<?> f : all) {
                f.get(300, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        while (engine.busy()) {
            Thread.sleep(5);
        }
    }
}
