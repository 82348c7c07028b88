import ai.djl.Device;
import io.loragate.engine.Engine;
import io.loragate.engine.EngineObserver;
import io.loragate.engine.EngineSettings;
import io.loragate.engine.Sequence;
import io.loragate.engine.SequenceListener;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.common.LoragateException;
import io.loragate.common.SamplingParams;
import io.loragate.model.TextTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * Fairness in wall time (the test, {@code FairnessTest}, counts engine steps, which do not change
 * when other processes share the CPU): a light tenant sends a 16-token request every 40 ms, alone,
 * beside a tenant sending 20x that rate, and sent as that heavy tenant (one FIFO queue: no
 * fairness). Prints the light tenant's p50 and p90 latency in milliseconds for the three runs and how
 * many light requests were refused, as one JSON object. Engine: tiny-llama test fixture, batch 8,
 * queue 256 per tenant.
 *
 * <p>Run: {@code benchmarks/run.sh FairnessBenchmark [--light 30] [--period-ms 40] [--factor 20]}
 */
public class FairnessBenchmark {

    static final SamplingParams PARAMS = new SamplingParams(16, 0, 0, 1, null, Set.of(), List.of(), true);

    public static void main(String[] args) throws Exception {
        int light = 30;
        long periodMs = 40;
        int factor = 20;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--light" -> light = Integer.parseInt(args[i + 1]);
                case "--period-ms" -> periodMs = Long.parseLong(args[i + 1]);
                case "--factor" -> factor = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Path folder = Path.of("src/test/resources/fixtures/hf/tiny-llama");
        try (CausalModel model = (CausalModel) BaseModel.load(folder, Device.cpu());
                TextTokenizer tokenizer = TextTokenizer.load(folder);
                Engine engine = new Engine(model, tokenizer, new EngineSettings(8, 256, 4096, 16), EngineObserver.NONE)) {
            engine.start();
            Run warm = run(engine, tokenizer, "light", false, 16, periodMs, factor);
            Run alone = run(engine, tokenizer, "light", false, light, periodMs, factor);
            Run fair = run(engine, tokenizer, "light", true, light, periodMs, factor);
            Run fifo = run(engine, tokenizer, "heavy", true, light, periodMs, factor);
            System.out.printf(Locale.ROOT,
                    "{\"benchmark\":\"fairness\",\"light_requests\":%d,\"period_ms\":%d,\"flood_factor\":%d,"
                            + "\"warmup_p50_ms\":%.1f,\"alone\":%s,\"fair_under_flood\":%s,\"fifo_under_flood\":%s,"
                            + "\"fair_p50_ratio\":%.2f}%n",
                    light, periodMs, factor, warm.p(0.5), alone.json(), fair.json(), fifo.json(), fair.p(0.5) / alone.p(0.5));
        }
    }

    /** Latencies in ms of the served light requests, and how many were refused (queue full). */
    record Run(List<Double> ms, int refused) {
        double p(double q) {
            if (ms.isEmpty()) {
                return Double.NaN;
            }
            List<Double> s = new ArrayList<>(ms);
            Collections.sort(s);
            return s.get(Math.min(s.size() - 1, (int) (q * s.size())));
        }

        String json() {
            return String.format(Locale.ROOT, "{\"served\":%d,\"refused\":%d,\"p50_ms\":%.1f,\"p90_ms\":%.1f}", ms.size(), refused,
                    p(0.5), p(0.9));
        }
    }

    static Run run(Engine engine, TextTokenizer tokenizer, String lightTenant, boolean flood, int count, long periodMs, int factor)
            throws Exception {
        long period = TimeUnit.MILLISECONDS.toNanos(periodMs);
        AtomicBoolean stop = new AtomicBoolean();
        Thread heavy = new Thread(() -> {
            long next = System.nanoTime();
            while (!stop.get()) {
                submit(engine, tokenizer, "heavy");
                next += period / factor;
                LockSupport.parkNanos(next - System.nanoTime());
            }
        }, "heavy-tenant");
        if (flood) {
            heavy.start();
            Thread.sleep(300); // the flood fills the batch and its queue first
        }
        List<CompletableFuture<Long>> sent = new ArrayList<>();
        long next = System.nanoTime();
        for (int i = 0; i < count; i++) {
            sent.add(submit(engine, tokenizer, lightTenant));
            next += period;
            LockSupport.parkNanos(next - System.nanoTime());
        }
        List<Double> ms = new ArrayList<>();
        int refused = 0;
        for (CompletableFuture<Long> f : sent) {
            Long nanos = f.get(300, TimeUnit.SECONDS);
            if (nanos == null) {
                refused++;
            } else {
                ms.add(nanos / 1e6);
            }
        }
        stop.set(true);
        if (flood) {
            heavy.join();
        }
        while (engine.busy()) {
            Thread.sleep(10);
        }
        return new Run(ms, refused);
    }

    /** Completes with the request's latency in nanoseconds, or null if its tenant's queue was full. */
    static CompletableFuture<Long> submit(Engine engine, TextTokenizer tokenizer, String tenant) {
        CompletableFuture<Long> done = new CompletableFuture<>();
        long t0 = System.nanoTime();
        try {
            engine.submit(new Sequence(tenant, tokenizer.encode("the software is"), "t", null, PARAMS, new SequenceListener() {
                @Override
                public void onToken(long token, double logprob, String text) {
                }

                @Override
                public void onFinish(String reason, String text, RuntimeException error) {
                    if (error != null) {
                        done.completeExceptionally(error);
                    } else {
                        done.complete(System.nanoTime() - t0);
                    }
                }
            }, 0));
        } catch (LoragateException e) {
            done.complete(null);
        }
        return done;
    }
}
