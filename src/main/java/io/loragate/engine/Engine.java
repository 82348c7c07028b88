package io.loragate.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.loragate.adapter.LoraAdapter;
import io.loragate.adapter.MultiLoraHook;
import io.loragate.model.AdapterHook;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.model.GreedyChoice;
import io.loragate.model.KvCache;
import io.loragate.common.LoragateException;
import io.loragate.model.TextTokenizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.jboss.logging.Logger;

/**
 * The one thread that owns the device. Continuous (iteration-level) batching: at every step it
 * drops cancelled and expired sequences, admits waiting ones (prefilled together, whatever their
 * adapters, then adopted into the running batch's KV cache), and decodes one token for every running
 * sequence in a single forward, each row with its own adapter. Requests never wait for a batch to
 * finish; a finished sequence leaves at once and frees its row.
 *
 * <p>Encoder work (embeddings, classification) arrives as tasks run between steps, so it never
 * races the decode batch for the device.
 */
public final class Engine implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(Engine.class);

    private final BaseModel base;
    private final CausalModel causal;           // null for encoder bases
    private final TextTokenizer tokenizer;
    private final EngineSettings settings;
    private final EngineObserver observer;
    private final FairQueue waiting;
    private final BlockingQueue<Runnable> tasks;
    private final Set<Long> eos;
    private final Thread thread;
    private final Object wake = new Object();

    // engine-thread state
    private final List<Sequence> rows = new ArrayList<>(); // row i of the cache is rows.get(i)
    private KvCache slots;
    private MultiLoraHook decodeHook;

    private volatile boolean accepting = true;
    private volatile boolean running = true;
    private volatile long heartbeatNanos = System.nanoTime();
    private volatile long stepStartedNanos;      // 0 while idle
    private volatile int runningCount;
    private final java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger(); // submitted, not yet finished
    private volatile Throwable died;

    public Engine(BaseModel base, TextTokenizer tokenizer, EngineSettings settings, EngineObserver observer) {
        this.base = base;
        this.causal = base instanceof CausalModel c ? c : null;
        this.tokenizer = tokenizer;
        this.settings = settings;
        this.observer = observer;
        this.waiting = new FairQueue(settings.maxQueue());
        this.tasks = new ArrayBlockingQueue<>(settings.maxTasks());
        this.eos = base.config().eosTokenIds();
        this.thread = new Thread(this::loop, "loragate-engine");
        this.thread.setDaemon(true);
    }

    public void start() {
        if (causal != null) {
            slots = causal.newSlots(settings.maxBatch());
        }
        thread.start();
    }

    public BaseModel base() {
        return base;
    }

    /** True for a decoder base that can generate. */
    public boolean generates() {
        return causal != null;
    }

    /** Queues a sequence; refused at once when its tenant's queue is full or the engine is draining. */
    public void submit(Sequence s) {
        if (causal == null) {
            throw new LoragateException(LoragateException.Kind.FAILED_PRECONDITION, "the base model "
                    + base.config().architectureName() + " is an encoder: it embeds and classifies but does not generate text");
        }
        if (!accepting || !running) {
            throw new LoragateException(LoragateException.Kind.RESOURCE_EXHAUSTED, "the server is shutting down").retryAfter(5);
        }
        lastActivityNanos = System.nanoTime();
        s.stepClock = steps::get;
        inFlight.incrementAndGet();
        if (!waiting.offer(s)) {
            inFlight.decrementAndGet();
            throw new LoragateException(LoragateException.Kind.RESOURCE_EXHAUSTED,
                    "the request queue is full (" + settings.maxQueue() + " requests of this tenant waiting); retry later")
                    .retryAfter(1);
        }
        signal();
    }

    /** Runs {@code work} on the engine thread between steps. */
    public <T> CompletableFuture<T> execute(Function<BaseModel, T> work) {
        CompletableFuture<T> f = new CompletableFuture<>();
        if (!accepting || !running) {
            f.completeExceptionally(new LoragateException(LoragateException.Kind.RESOURCE_EXHAUSTED, "the server is shutting down").retryAfter(5));
            return f;
        }
        lastActivityNanos = System.nanoTime();
        taskCount.incrementAndGet();
        boolean queued = tasks.offer(() -> {
            try {
                f.complete(work.apply(base));
            } catch (RuntimeException e) {
                f.completeExceptionally(e);
            } finally {
                lastActivityNanos = System.nanoTime();
                taskCount.decrementAndGet();
            }
        });
        if (!queued) {
            taskCount.decrementAndGet();
            f.completeExceptionally(new LoragateException(LoragateException.Kind.RESOURCE_EXHAUSTED,
                    "the task queue is full (" + settings.maxTasks() + " waiting); retry later").retryAfter(1));
        }
        signal();
        return f;
    }

    private void signal() {
        synchronized (wake) {
            wake.notifyAll();
        }
    }

    private void loop() {
        try {
            while (running) {
                heartbeatNanos = System.nanoTime();
                // only the tasks queued before this round: a task queued by one that ends here (the next
                // micro-batch of an encoder request) waits for the next round, so decode steps and other
                // requests' tasks run between a large request's micro-batches
                Runnable task;
                for (int queued = tasks.size(); queued > 0 && (task = tasks.poll()) != null; queued--) {
                    stepStartedNanos = System.nanoTime();
                    task.run();
                    stepStartedNanos = 0;
                }
                if (causal != null) {
                    retire();
                    boolean worked = admit();
                    if (!rows.isEmpty()) {
                        decode();
                        worked = true;
                    }
                    if (worked) {
                        steps.incrementAndGet();
                        continue;
                    }
                }
                synchronized (wake) {
                    if (waiting.isEmpty() && tasks.isEmpty() && running) {
                        wake.wait(100);
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            died = t;
            LOG.error("engine thread died", t);
        } finally {
            stepStartedNanos = 0;
            failAll("the engine stopped");
        }
    }

    /**
     * Drops sequences whose client went away or whose deadline passed, running or still waiting: a
     * cancelled request frees its row (and, through its listener, its adapter lease) at the first
     * step after the cancel, even while the batch is full and it has not been admitted.
     */
    private void retire() {
        long now = System.nanoTime();
        for (int r = rows.size() - 1; r >= 0; r--) {
            Sequence s = rows.get(r);
            if (s.cancelled() || s.expired(now)) {
                removeRow(r);
                drop(s, now);
            }
        }
        for (Sequence s : waiting.removeIf(s -> s.cancelled() || s.expired(now))) {
            drop(s, now);
        }
    }

    private void drop(Sequence s, long now) {
        if (s.cancelled()) {
            long at = s.cancelStep();
            if (at >= 0) {
                long lag = steps.get() - at;
                maxCancelLag.accumulateAndGet(lag, Math::max);
            }
            finish(s, "cancelled");
        } else {
            finish(s, "timeout");
        }
    }

    /**
     * Admits waiting sequences into free rows, fairly across tenants (each free row goes to the
     * waiting tenant that holds the fewest rows, see {@link FairQueue}), and prefills them together;
     * answers whether it ran a forward.
     */
    private boolean admit() {
        if (waiting.isEmpty()) {
            return false;
        }
        // sequences leave the waiting queue before they become rows: busy() must see them throughout
        admitting = 1;
        try {
            return admitBatch();
        } finally {
            lastActivityNanos = System.nanoTime();
            admitting = 0;
        }
    }

    private boolean admitBatch() {
        Admissible admissible = takeAdmissible(System.nanoTime());
        if (admissible.batch().isEmpty()) {
            return false;
        }
        prefill(admissible.batch(), admissible.tokens());
        return true;
    }

    /** The sequences of one prefill and their input tokens, summed while the budget was checked. */
    private record Admissible(List<Sequence> batch, int tokens) {
    }

    /**
     * Takes waiting requests for one prefill, fairest tenant first (the one holding fewest rows), up to
     * the free rows and the prefill token budget; cancelled or expired ones are dropped on the way.
     */
    private Admissible takeAdmissible(long now) {
        List<Sequence> batch = new ArrayList<>();
        int tokens = 0;
        Map<String, Integer> held = new HashMap<>();
        for (Sequence r : rows) {
            held.merge(r.tenant, 1, Integer::sum);
        }
        while (rows.size() + batch.size() < settings.maxBatch()) {
            Sequence s = waiting.peek(t -> held.getOrDefault(t, 0));
            if (s == null || (!batch.isEmpty() && tokens + s.inputTokens() > settings.maxPrefillTokens())) {
                break;
            }
            waiting.remove(s);
            if (s.cancelled() || s.expired(now)) {
                drop(s, now);
                continue;
            }
            batch.add(s);
            held.merge(s.tenant, 1, Integer::sum);
            tokens += s.inputTokens();
        }
        return new Admissible(batch, tokens);
    }

    /**
     * Prefills {@code batch} together: each row's first token, then its KV rows join the running batch.
     *
     * @param tokens the batch's input tokens (for the step metrics)
     */
    private void prefill(List<Sequence> batch, int tokens) {
        long[][] prompts = new long[batch.size()][];
        List<LoraAdapter> adapters = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++) {
            prompts[i] = batch.get(i).input; // virtual tokens first for prompt tuning: left padding lines rows up
            adapters.add(batch.get(i).adapter);
        }
        long t0 = System.nanoTime();
        stepStartedNanos = t0;
        try (KvCache prefill = causal.newCache(batch.size()); NDManager step = causal.manager().newSubManager()) {
            AdapterHook hook = hookFor(adapters);
            String[] reasons = sampleAll(batch, causal.forward(step, prompts, prefill, hook, false)); // logits (n, vocab)
            for (int i = 0; i < batch.size(); i++) {
                Sequence s = batch.get(i);
                String reason = reasons[i];
                if (reason == NON_FINITE) {
                    nonFinite(s);
                    continue;
                }
                observer.firstToken(s.tenant, s.adapterId, System.nanoTime() - s.submittedNanos);
                if (reason != null) {
                    finish(s, reason);
                } else {
                    slots.adopt(prefill, i);
                    rows.add(s);
                    runningCount = rows.size();
                    invalidateHook();
                }
            }
        } catch (RuntimeException e) {
            LOG.error("prefill failed", e);
            LoragateException err = asError(e);
            batch.forEach(s -> end(s, "error", err));
        } finally {
            stepStartedNanos = 0;
        }
        runningCount = rows.size();
        lastActivityNanos = System.nanoTime();
        observer.step(true, batch.size(), tokens, System.nanoTime() - t0);
    }

    private void decode() {
        int n = rows.size();
        long[][] next = new long[n][1];
        for (int r = 0; r < n; r++) {
            next[r][0] = rows.get(r).lastToken();
        }
        List<Sequence> done = new ArrayList<>();
        List<String> reasons = new ArrayList<>();
        List<Sequence> broken = new ArrayList<>();
        long t0 = System.nanoTime();
        stepStartedNanos = t0;
        try (NDManager step = causal.manager().newSubManager()) {
            if (decodeHook == null) {
                List<LoraAdapter> adapters = new ArrayList<>(n);
                rows.forEach(s -> adapters.add(s.adapter));
                decodeHook = adapters.stream().allMatch(a -> a == null) ? null : new MultiLoraHook(adapters);
            }
            String[] sampled = sampleAll(rows, causal.forward(step, next, slots,
                    decodeHook == null ? AdapterHook.NONE : decodeHook, false)); // logits (n, vocab)
            for (int r = n - 1; r >= 0; r--) {
                Sequence s = rows.get(r);
                String reason = sampled[r];
                if (reason == NON_FINITE) {
                    removeRow(r);
                    broken.add(s);
                } else if (reason != null) {
                    removeRow(r);
                    done.add(s);
                    reasons.add(reason);
                }
            }
        } catch (RuntimeException e) {
            LOG.error("decode step failed", e);
            LoragateException err = asError(e);
            for (int r = rows.size() - 1; r >= 0; r--) {
                Sequence s = rows.get(r);
                removeRow(r);
                end(s, "error", err);
            }
        } finally {
            stepStartedNanos = 0;
        }
        runningCount = rows.size();
        lastActivityNanos = System.nanoTime();
        observer.step(false, n, n, System.nanoTime() - t0);
        // callers learn of the end only after the step is recorded, so its metrics are never behind them
        for (int i = 0; i < done.size(); i++) {
            finish(done.get(i), reasons.get(i));
        }
        broken.forEach(this::nonFinite);
    }

    /** What {@link #sample} answers for a row whose logits are not all finite (compared by identity). */
    private static final String NON_FINITE = new String("non-finite");

    /**
     * Samples every row's next token from the batch's logits {@code (rows, vocab)}: what {@link #sample}
     * answers per row. When every row is greedy the choice is made on the device
     * ({@link GreedyChoice}): no logits are copied to the host.
     */
    private String[] sampleAll(List<Sequence> batch, NDArray logits) {
        int n = batch.size();
        String[] reasons = new String[n];
        if (batch.stream().allMatch(s -> s.params.isGreedy())) {
            GreedyChoice[] choices = GreedyChoice.of(logits);
            for (int r = 0; r < n; r++) {
                GreedyChoice c = choices[r];
                reasons[r] = !c.finite() || !Double.isFinite(c.logprob()) ? NON_FINITE
                        : batch.get(r).accept(c.token(), c.logprob(), eos, tokenizer);
            }
            return reasons;
        }
        float[] host = logits.toFloatArray();
        int vocab = host.length / n;
        for (int r = 0; r < n; r++) {
            reasons[r] = sample(batch.get(r), host, r * vocab, vocab);
        }
        return reasons;
    }

    /**
     * Samples the row's next token; {@link #NON_FINITE} (and no token) when any of its logits is NaN
     * or infinite: such a row must end, never turn its numbers into tokens or logprobs.
     */
    private String sample(Sequence s, float[] logits, int offset, int vocab) {
        if (!finite(logits, offset, vocab)) {
            return NON_FINITE;
        }
        float[] row = java.util.Arrays.copyOfRange(logits, offset, offset + vocab);
        var choice = s.sampler.next(row);
        if (!Double.isFinite(choice.logprob())) {
            return NON_FINITE;
        }
        return s.accept(choice.token(), choice.logprob(), eos, tokenizer);
    }

    /**
     * Whether {@code vocab} values from {@code offset} are all finite (x·0 is 0 for them, NaN
     * otherwise). Eight independent sums, so the loop is not bound by one add's latency: 0.3 ms for
     * 32 rows of 49,152 logits, where one sum took 1.3 ms.
     */
    static boolean finite(float[] a, int offset, int vocab) {
        float a0 = 0f, a1 = 0f, a2 = 0f, a3 = 0f, a4 = 0f, a5 = 0f, a6 = 0f, a7 = 0f;
        int i = offset;
        int end = offset + vocab;
        for (; i + 8 <= end; i += 8) {
            a0 += a[i] * 0f;
            a1 += a[i + 1] * 0f;
            a2 += a[i + 2] * 0f;
            a3 += a[i + 3] * 0f;
            a4 += a[i + 4] * 0f;
            a5 += a[i + 5] * 0f;
            a6 += a[i + 6] * 0f;
            a7 += a[i + 7] * 0f;
        }
        for (; i < end; i++) {
            a0 += a[i] * 0f;
        }
        return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 == 0f;
    }

    /** Ends a row whose logits went non-finite, alone, with an error; counted by the observer. */
    private void nonFinite(Sequence s) {
        nonFiniteRows.incrementAndGet();
        String who = s.adapter == null ? "the base model" : "adapter '" + s.adapterId + "'";
        LOG.warnf("tenant %s: %s produced non-finite logits after %d generated tokens; the request is ended",
                s.tenant, who, s.count);
        observer.nonFinite(s.tenant, s.adapterId);
        observer.finished(s.tenant, s.adapterId, "error", s.promptTokens(), s.count,
                s.firstTokenNanos == 0 ? 0 : System.nanoTime() - s.firstTokenNanos);
        end(s, "error", new LoragateException(LoragateException.Kind.INTERNAL, who + " produced non-finite logits"
                + " (NaN or infinity) after " + s.count + " generated tokens; the request was ended (other requests"
                + " are unaffected)"));
    }

    private final java.util.concurrent.atomic.AtomicLong nonFiniteRows = new java.util.concurrent.atomic.AtomicLong();

    /** Sequences ended because their logits went non-finite (also {@code loragate_nonfinite_rows_total}). */
    public long nonFiniteRows() {
        return nonFiniteRows.get();
    }

    /** Ends a sequence exactly once and counts it out of the engine. */
    private void end(Sequence s, String reason, RuntimeException error) {
        if (!s.finished) {
            s.finish(reason, error);
            inFlight.decrementAndGet();
        }
    }

    /** Counts the request in the metrics before it ends, so whoever sees the end also sees it counted. */
    private void finish(Sequence s, String reason) {
        observer.finished(s.tenant, s.adapterId, reason, s.promptTokens(), s.count,
                s.firstTokenNanos == 0 ? 0 : System.nanoTime() - s.firstTokenNanos);
        end(s, reason, null);
    }

    private static AdapterHook hookFor(List<LoraAdapter> adapters) {
        return adapters.stream().allMatch(a -> a == null) ? AdapterHook.NONE : MultiLoraHook.perForward(adapters);
    }

    /** Frees a row, mirroring the cache's move of the last row into it. */
    private void removeRow(int r) {
        slots.remove(r);
        int last = rows.size() - 1;
        if (r != last) {
            rows.set(r, rows.get(last));
        }
        rows.remove(last);
        runningCount = rows.size();
        invalidateHook();
    }

    private void invalidateHook() {
        if (decodeHook != null) {
            decodeHook.close();
            decodeHook = null;
        }
    }

    private static LoragateException asError(RuntimeException e) {
        return e instanceof LoragateException le ? le
                : new LoragateException(LoragateException.Kind.INTERNAL, "engine step failed: " + e.getMessage(), e);
    }

    private void failAll(String why) {
        LoragateException err = new LoragateException(LoragateException.Kind.RESOURCE_EXHAUSTED, why).retryAfter(5);
        for (Sequence s : rows) {
            end(s, "error", err);
        }
        rows.clear();
        Sequence s;
        while ((s = waiting.poll()) != null) {
            end(s, "error", err);
        }
        Runnable t;
        while ((t = tasks.poll()) != null) {
            t.run(); // tasks complete their futures; the base is still open here
        }
    }

    private final java.util.concurrent.atomic.AtomicLong steps = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong maxCancelLag = new java.util.concurrent.atomic.AtomicLong();

    /** Engine steps so far: loop rounds that ran a forward (admission prefill and/or one decode). */
    public long steps() {
        return steps.get();
    }

    /**
     * The most engine steps that ever passed between a {@link Sequence#cancel()} and the step that
     * dropped the sequence (freeing its row and ending it, which releases its lease): 0 or 1 by
     * design, since every step starts by dropping cancelled sequences.
     */
    public long maxCancelLagSteps() {
        return maxCancelLag.get();
    }

    /** Sequences in the running batch. */
    public int running() {
        return runningCount;
    }

    /** Sequences waiting for admission (all tenants). */
    public int waiting() {
        return waiting.size();
    }

    private final java.util.concurrent.atomic.AtomicInteger taskCount = new java.util.concurrent.atomic.AtomicInteger();

    /** Tasks ({@link #execute}: embeddings, classifications) queued or running. */
    public int pendingTasks() {
        return taskCount.get();
    }

    private volatile long lastActivityNanos = System.nanoTime();
    private volatile int admitting;

    /** Whether any request is running or waiting (what a yielding trainer waits out). */
    public boolean busy() {
        return runningCount > 0 || admitting > 0 || !waiting.isEmpty() || taskCount.get() > 0;
    }

    /** How long the engine has been idle: 0 while {@link #busy()}, else the time since its last work ended. */
    public long idleNanos() {
        return busy() ? 0 : Math.max(0, System.nanoTime() - lastActivityNanos);
    }

    /** An adapter id as the info gauge shows it: {@code tenant/name@version} outside the default tenant. */
    private static String qualified(Sequence s) {
        return s.tenant.equals(Sequence.DEFAULT_TENANT) ? s.adapterId : s.tenant + "/" + s.adapterId;
    }

    /** Ids of the adapters of waiting sequences (for the vLLM-style info gauge). */
    public java.util.Set<String> waitingAdapters() {
        java.util.Set<String> out = new java.util.TreeSet<>();
        for (Sequence s : waiting.snapshot()) {
            if (s.adapter != null) {
                out.add(qualified(s));
            }
        }
        return out;
    }

    /** Ids of the adapters in the running batch (read off the engine thread: a snapshot, may be stale). */
    public java.util.Set<String> runningAdapters() {
        java.util.Set<String> out = new java.util.TreeSet<>();
        for (Object o : rows.toArray()) {
            Sequence s = (Sequence) o;
            if (s != null && s.adapter != null) {
                out.add(qualified(s));
            }
        }
        return out;
    }

    public EngineSettings settings() {
        return settings;
    }

    /** True while the engine thread runs. */
    public boolean alive() {
        return thread.isAlive() && died == null;
    }

    /** How long the current step has been running (0 when idle): a stuck device shows here. */
    public long busyNanos() {
        long s = stepStartedNanos;
        return s == 0 ? 0 : System.nanoTime() - s;
    }

    /** Time since the loop last went round. */
    public long heartbeatAgeNanos() {
        return System.nanoTime() - heartbeatNanos;
    }

    /** Why the thread died, or null. */
    public Throwable died() {
        return died;
    }

    /**
     * Stops taking new work and waits up to {@code drainMillis} for running and queued sequences
     * to finish; whatever is left is failed, then the thread stops.
     */
    public void drain(long drainMillis) throws InterruptedException {
        accepting = false;
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(drainMillis);
        while (System.nanoTime() < until && (inFlight.get() > 0 || !tasks.isEmpty()) && alive()) {
            Thread.sleep(20);
        }
        close();
    }

    /** Stops the engine thread (tests use this to see health go DOWN); pending work is failed. */
    @Override
    public void close() {
        accepting = false;
        running = false;
        signal();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!thread.isAlive()) {
            invalidateHook();
            if (slots != null) {
                slots.close();
            }
        }
    }
}
