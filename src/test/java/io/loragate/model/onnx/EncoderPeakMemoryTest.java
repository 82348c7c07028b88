package io.loragate.model.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import io.loragate.model.AdapterHook;
import io.loragate.model.BaseModel;
import io.loragate.model.EncoderBatches;
import io.loragate.model.EncoderModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The issue-14 attack on the embedded MiniLM: 50 inputs of 512 tokens (embeddings, and
 * classification through an adapter head) in one request. Runs alone in its own JVM (pom.xml) so
 * that RSS is this test's: peak RSS (VmHWM, reset just before; a 2 ms sampler where the reset is not
 * allowed) minus RSS before must stay under {@link #PEAK_GROWTH_BOUND}, and the request must have
 * run as ceil(50 / (4096 / 512)) = 7 micro-batches, none over the budget.
 *
 * <p>Measured (1 intra-op thread, loaded 2-core machine, three runs): with the 4096-token budget the
 * peak grew by 486-550 MiB (embeddings) and 408-462 MiB (classification), 243 MiB with 2048; one
 * forward of all 50 rows (the pre-fix path, {@code -Dloragate.test.unbatched=true} measures it after
 * the assertions) grew by 3262 MiB. The bound, 1.25 GiB, is over twice the micro-batched growth and
 * well below the unbatched one.
 */
class EncoderPeakMemoryTest {

    /** The default {@code loragate.engine.encoder-batch-tokens}; {@code -Dloragate.test.encoder-batch-tokens} measures another. */
    static final long BUDGET = Long.getLong("loragate.test.encoder-batch-tokens", 4096);
    static final long PEAK_GROWTH_BOUND = 1280L << 20;

    @TempDir
    static Path dir;

    @Test
    void fiftyInputsOf512TokensStayWithinTheBoundInSevenMicroBatches() throws Exception {
        try (EncoderModel model = (EncoderModel) BaseModel.load(MiniLmImporter.ensureImported(dir.resolve("data")), Device.cpu())) {
            SplittableRandom rnd = new SplittableRandom(5);
            List<long[]> ids = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                long[] row = rnd.longs(512, 1000, model.config().vocabSize()).toArray();
                row[0] = 101;   // [CLS]
                row[511] = 102; // [SEP]
                ids.add(row);
            }
            AdapterHook head = headOf(3, model.config().hiddenSize());
            model.embed(ids.subList(0, 8), EncoderModel.Pooling.MEAN, AdapterHook.NONE, BUDGET); // warm-up: one micro-batch

            long forwards = model.inferenceForwards();
            long[] embed = measure(() -> model.embed(ids, EncoderModel.Pooling.MEAN, AdapterHook.NONE, BUDGET));
            long[] classify = measure(() -> model.classify(ids, head, 3, BUDGET));
            System.out.printf("encoder peak memory, 50 x 512 tokens, budget %d: embeddings +%d MiB (%d ms), "
                    + "classification +%d MiB (%d ms)%n", BUDGET, embed[0] >> 20, embed[1], classify[0] >> 20, classify[1]);
            assertEquals(2 * EncoderBatches.plan(ids, BUDGET).size(), model.inferenceForwards() - forwards);
            assertEquals(BUDGET == 4096 ? 7 : EncoderBatches.plan(ids, BUDGET).size(), EncoderBatches.plan(ids, BUDGET).size());
            assertTrue(model.largestForwardTokens() <= BUDGET, "a forward of " + model.largestForwardTokens() + " tokens");
            assertTrue(embed[0] < PEAK_GROWTH_BOUND, "embeddings: peak RSS grew by " + (embed[0] >> 20) + " MiB");
            assertTrue(classify[0] < PEAK_GROWTH_BOUND, "classification: peak RSS grew by " + (classify[0] >> 20) + " MiB");
            if (Boolean.getBoolean("loragate.test.unbatched")) { // the reference: one forward of all 50 rows (~4 GiB)
                long[] whole = measure(() -> model.embed(ids, EncoderModel.Pooling.MEAN, AdapterHook.NONE));
                System.out.printf("encoder peak memory, 50 x 512 tokens, one forward: embeddings +%d MiB (%d ms)%n",
                        whole[0] >> 20, whole[1]);
            }
        }
    }

    /** {peak RSS − RSS before, milliseconds} of one call. */
    static long[] measure(Runnable call) throws Exception {
        System.gc();
        Thread.sleep(200);
        long before = status("VmRSS:");
        boolean hwm = resetPeak();
        AtomicLong sampled = new AtomicLong(before);
        Thread sampler = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    sampled.accumulateAndGet(status("VmRSS:"), Math::max);
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    return;
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }
        });
        sampler.setDaemon(true);
        sampler.start();
        long t0 = System.nanoTime();
        call.run();
        long ms = (System.nanoTime() - t0) / 1_000_000;
        sampler.interrupt();
        sampler.join();
        long peak = Math.max(sampled.get(), hwm ? status("VmHWM:") : 0);
        return new long[] {peak - before, ms};
    }

    /** Resets the process's peak RSS (VmHWM); false where the kernel does not allow it. */
    static boolean resetPeak() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    static long status(String key) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(key)) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IllegalStateException("no " + key + " in /proc/self/status");
    }

    /** An adapter-like hook that supplies a fixed linear classification head of {@code labels} outputs. */
    static AdapterHook headOf(int labels, int hidden) {
        float[] w = new float[hidden * labels];
        SplittableRandom rnd = new SplittableRandom(9);
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian() * 0.05f;
        }
        return new AdapterHook() {
            @Override
            public NDArray afterLinear(String module, NDArray x, NDArray y) {
                if (!EncoderModel.HEAD.equals(module)) {
                    return y;
                }
                NDArray weight = x.getManager().create(w, new ai.djl.ndarray.types.Shape(hidden, labels));
                return x.matMul(weight);
            }
        };
    }
}
