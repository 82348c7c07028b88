package io.loragate.adapter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.loragate.adapter.LoraAdapter.Lora;
import io.loragate.adapter.LoraAdapter.Replacement;
import io.loragate.model.AdapterHook;
import java.lang.ref.Cleaner;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * LoRA for a batch whose rows use different adapters (the Punica / S-LoRA idea in DJL ops). The
 * base matmul has already run once for the whole batch; this adds each row's own
 * {@code (x_i·Aᵀ)·(Bᵀ·scale)} and replaces the output of modules an adapter saves. Rows without an
 * adapter, or whose adapter does not touch a module, come back unchanged.
 *
 * <p>How a module's deltas are computed depends on the batch:
 * <ul>
 * <li>one adapter on every row: two matmuls on the whole {@code x};</li>
 * <li>many adapters (BGMV): rows are cut into equal groups that each use one adapter (the gcd of
 *     the run lengths: a whole run per group when the engine sorted the rows evenly, one row per
 *     group otherwise); the groups' {@code Aᵀ} and {@code Bᵀ·scale} are stacked (zeros for rows
 *     without a delta, zero-padded to the largest rank) and two batched matmuls do every group at
 *     once;</li>
 * <li>at most {@value #MAX_RUNS_FOR_LOOP} runs in a hook without a cache: a loop over contiguous
 *     runs of rows with the same adapter, whose deltas are concatenated (zeros for rows without
 *     one) and added once; stacking would copy weights for a single use.</li>
 * </ul>
 *
 * <p>Memory: every array a call returns or leaves behind is attached to the manager of its
 * {@code x} (the forward's step), never to an adapter's manager. The one exception is the stacked
 * weights of the batched path: a hook made with the constructor keeps them, per module, in a manager
 * of its own, because they depend only on the rows' adapters, which stay the same over the prefill
 * and every decode step of an unchanged batch; stacking them again at every step would copy every
 * adapter's weights once more per token. Such a hook must be {@linkplain #close() closed} when the
 * batch changes (a hook that becomes unreachable unclosed is freed by a cleaner, late). A hook from
 * {@link #perForward} keeps nothing and needs no closing.
 *
 * <p>Not thread-safe: one hook serves one engine thread's run of forwards.
 */
public final class MultiLoraHook implements AdapterHook, AutoCloseable {

    /** How a module's LoRA deltas are computed for mixed rows. */
    enum Strategy {
        /** Choose by the shape of the batch. */
        AUTO,
        /** Batched matmuls over stacked per-group weights. */
        BATCHED,
        /** A loop over runs of rows. */
        RUNS
    }

    /** Up to this many runs with an adapter (and no cache), the loop is cheaper than stacking weights. */
    static final int MAX_RUNS_FOR_LOOP = 2;

    private static final Cleaner CLEANER = Cleaner.create();

    /** The manager of the cached stacks, made on first use; a cleaner closes it if the hook is dropped unclosed. */
    private static final class Cache implements Runnable {
        private NDManager manager;

        synchronized NDManager manager(NDArray like) {
            if (manager == null) {
                manager = NDManager.newBaseManager(like.getDevice(), like.getManager().getEngine().getEngineName());
            }
            return manager;
        }

        @Override
        public synchronized void run() {
            if (manager != null) {
                manager.close();
                manager = null;
            }
        }
    }

    private final LoraAdapter uniform;      // every row's adapter, or null when rows differ
    private final LoraAdapter[] rows;       // each row's adapter (null: base), or null when uniform
    private final Cache cache;              // owns stacked weights across forwards, or null
    private final Cleaner.Cleanable cleanable;
    private final Map<String, NDArray[]> stacked = new HashMap<>(); // module → {A (G, in, r), B (G, r, out)}, with cache only
    private final Strategy strategy;
    private boolean closed;

    private MultiLoraHook(LoraAdapter uniform, LoraAdapter[] rows, boolean cached, Strategy strategy) {
        this.uniform = uniform;
        this.rows = rows;
        this.cache = cached ? new Cache() : null;
        this.cleanable = cached ? CLEANER.register(this, cache) : null;
        this.strategy = strategy;
    }

    /**
     * A hook for a batch whose row {@code i} uses {@code rowAdapters.get(i)} (null: the base), to be
     * used for every forward of that batch (prefill and decode steps) and closed when the batch
     * changes.
     */
    public MultiLoraHook(List<LoraAdapter> rowAdapters) {
        this(null, toArray(rowAdapters), true, Strategy.AUTO);
    }

    /** A hook for a single forward that keeps nothing between calls (nothing to close). */
    public static MultiLoraHook perForward(List<LoraAdapter> rowAdapters) {
        return new MultiLoraHook(null, toArray(rowAdapters), false, Strategy.AUTO);
    }

    /** Every row of any batch uses {@code adapter} (nothing to close). */
    public static MultiLoraHook single(LoraAdapter adapter) {
        return new MultiLoraHook(Objects.requireNonNull(adapter, "adapter"), null, false, Strategy.AUTO);
    }

    /** For benchmarks and tests: force how mixed rows are computed, without a cache. */
    static MultiLoraHook withStrategy(List<LoraAdapter> rowAdapters, Strategy strategy) {
        return new MultiLoraHook(null, toArray(rowAdapters), false, strategy);
    }

    private static LoraAdapter[] toArray(List<LoraAdapter> rowAdapters) {
        LoraAdapter[] a = rowAdapters.toArray(new LoraAdapter[0]);
        for (int i = 0; i < a.length; i++) {
            if (a[i] != null && !a[i].isOpen()) {
                throw new IllegalStateException("the adapter of row " + i + " is closed");
            }
        }
        return a;
    }

    /** Whether this hook was built for exactly these row adapters (same instances, same order). */
    public boolean servesRows(List<LoraAdapter> rowAdapters) {
        if (rows == null || rows.length != rowAdapters.size()) {
            return false;
        }
        for (int i = 0; i < rows.length; i++) {
            if (rows[i] != rowAdapters.get(i)) {
                return false;
            }
        }
        return true;
    }

    /** Bytes of stacked weights this hook holds between forwards (for the engine's memory accounting). */
    public long cachedBytes() {
        long bytes = 0;
        for (NDArray[] ab : stacked.values()) {
            for (NDArray a : ab) {
                bytes += a.getShape().size() * a.getDataType().getNumOfBytes();
            }
        }
        return bytes;
    }

    @Override
    public NDArray afterLinear(String module, NDArray x, NDArray y) {
        NDArray out = loraAndReplacements(module, x, y);
        return parts(out, p -> p.touchesLinear(module), (p, in, rows) -> p.afterLinear(module, rows.apply(x), in));
    }

    @Override
    public NDArray beforeLinear(String module, NDArray x) {
        return parts(x, p -> p.touchesLinear(module), (p, in, rows) -> p.beforeLinear(module, in));
    }

    @Override
    public NDArray afterSublayer(String name, NDArray h) {
        return parts(h, p -> p.touchesSublayer(name), (p, in, rows) -> p.afterSublayer(name, in));
    }

    /** The adapter's virtual tokens when every row uses one adapter ({@link #single}); 0 for mixed rows (each row carries its own). */
    @Override
    public int virtualTokens() {
        return uniform == null ? 0 : uniform.virtualTokens();
    }

    @Override
    public NDArray embeddings(NDArray ids, NDArray x) {
        return parts(x, p -> p.virtualTokens() > 0, (p, in, rows) -> p.embeddings(rows.apply(ids), in));
    }

    /** What a part does to its rows: {@code in} is their slice of the array being changed; {@code rows} slices others alike. */
    private interface PartCall {
        NDArray apply(AdapterPart part, NDArray in, java.util.function.UnaryOperator<NDArray> rows);
    }

    /**
     * Applies every row's adapter parts that {@code touches} selects to that row's slice of
     * {@code a} (batch first): the whole array when every row shares the adapter, else run by run
     * of consecutive rows with the same adapter, concatenated back (rows without such a part keep
     * their values).
     */
    private NDArray parts(NDArray a, java.util.function.Predicate<AdapterPart> touches, PartCall call) {
        if (closed) {
            throw new IllegalStateException("this MultiLoraHook is closed");
        }
        if (uniform != null) {
            return applyParts(uniform, a, touches, call, java.util.function.UnaryOperator.identity());
        }
        int n = rows.length;
        boolean any = false;
        for (int i = 0; i < n && !any; i++) {
            if (rows[i] != null) {
                for (AdapterPart p : rows[i].parts()) {
                    any |= touches.test(p);
                }
            }
        }
        if (!any) {
            return a;
        }
        if (a.getShape().get(0) != n) {
            throw new IllegalArgumentException("the batch has " + a.getShape().get(0) + " rows but the hook was built for " + n);
        }
        NDManager step = a.getManager();
        NDList pieces = new NDList();
        for (int s = 0, e; s < n; s = e) {
            e = s + 1;
            while (e < n && rows[e] == rows[s]) {
                e++;
            }
            if (s == 0 && e == n) {
                return applyParts(rows[0], a, touches, call, java.util.function.UnaryOperator.identity());
            }
            NDIndex index = new NDIndex("{}:{}", s, e);
            NDArray slice = a.get(index);
            pieces.add(rows[s] == null ? slice : applyParts(rows[s], slice, touches, call, o -> o.get(index)));
        }
        NDArray out = NDArrays.concat(pieces, 0);
        out.attach(step);
        return out;
    }

    private static NDArray applyParts(LoraAdapter adapter, NDArray a, java.util.function.Predicate<AdapterPart> touches,
            PartCall call, java.util.function.UnaryOperator<NDArray> rows) {
        NDArray out = a;
        for (AdapterPart p : adapter.parts()) {
            if (touches.test(p)) {
                out = call.apply(p, out, rows);
            }
        }
        return out;
    }

    private NDArray loraAndReplacements(String module, NDArray x, NDArray y) {
        if (closed) {
            throw new IllegalStateException("this MultiLoraHook is closed");
        }
        if (uniform != null) {
            Lora l = uniform.lora(module);
            if (l != null) {
                return y.add(x.matMul(l.aT).matMul(l.bTScaled));
            }
            Replacement r = uniform.replacement(module);
            return r == null ? y : replace(x, r);
        }
        int n = rows.length;
        if (x.getShape().get(0) != n) {
            throw new IllegalArgumentException("module " + module + ": the batch has " + x.getShape().get(0)
                    + " rows but the hook was built for " + n);
        }
        Lora[] perRow = new Lora[n];
        Replacement[] replacements = null;
        for (int i = 0; i < n; i++) {
            LoraAdapter a = rows[i];
            if (a != null) {
                perRow[i] = a.lora(module);
                Replacement r = a.replacement(module);
                if (r != null) {
                    if (replacements == null) {
                        replacements = new Replacement[n];
                    }
                    replacements[i] = r;
                }
            }
        }
        NDArray out = addDeltas(module, x, y, perRow);
        return replacements == null ? out : replaceRows(x, out, replacements);
    }

    /** A run of consecutive rows with the same LoRA (or none). */
    private record Run(int start, int end, Lora lora) {
        int length() {
            return end - start;
        }
    }

    private NDArray addDeltas(String module, NDArray x, NDArray y, Lora[] perRow) {
        int n = perRow.length;
        List<Run> runs = new ArrayList<>();
        int adaptedRuns = 0;
        for (int s = 0, e; s < n; s = e) {
            e = s + 1;
            while (e < n && perRow[e] == perRow[s]) {
                e++;
            }
            runs.add(new Run(s, e, perRow[s]));
            if (perRow[s] != null) {
                adaptedRuns++;
            }
        }
        if (adaptedRuns == 0) {
            return y;
        }
        if (runs.size() == 1) {
            Lora l = runs.get(0).lora();
            return y.add(x.matMul(l.aT).matMul(l.bTScaled));
        }
        boolean loop = switch (strategy) {
            case RUNS -> true;
            case BATCHED -> false;
            case AUTO -> cache == null && adaptedRuns <= MAX_RUNS_FOR_LOOP;
        };
        return loop ? addByRuns(x, y, runs) : addBatched(module, x, y, perRow, runs);
    }

    /** One pair of thin matmuls per run; rows without a delta get zeros; one add at the end. */
    private static NDArray addByRuns(NDArray x, NDArray y, List<Run> runs) {
        NDManager step = x.getManager();
        long[] shape = y.getShape().getShape(); // (batch, ..., out)
        NDList parts = new NDList(runs.size());
        for (Run run : runs) {
            if (run.lora() == null) {
                long[] zs = shape.clone();
                zs[0] = run.length();
                parts.add(step.zeros(new Shape(zs), y.getDataType()));
            } else {
                NDArray xs = x.get(new NDIndex("{}:{}", run.start(), run.end())); // (len, ..., in)
                parts.add(xs.matMul(run.lora().aT).matMul(run.lora().bTScaled));  // (len, ..., out)
            }
        }
        NDArray delta = NDArrays.concat(parts, 0); // (batch, ..., out)
        delta.attach(step);
        return y.add(delta);
    }

    /**
     * Rows in {@code G} equal groups of {@code L} (each inside one run): {@code x (G, L·S, in)} times
     * stacked {@code Aᵀ (G, in, r)} times stacked {@code Bᵀ·scale (G, r, out)}.
     */
    private NDArray addBatched(String module, NDArray x, NDArray y, Lora[] perRow, List<Run> runs) {
        int n = perRow.length;
        int group = 0;
        for (Run run : runs) {
            group = gcd(group, run.length());
        }
        int groups = n / group;
        NDArray[] ab = cache == null ? null : stacked.get(module);
        if (ab == null) {
            Lora[] perGroup = new Lora[groups];
            for (int g = 0; g < groups; g++) {
                perGroup[g] = perRow[g * group];
            }
            NDManager owner = cache != null ? cache.manager(x) : x.getManager();
            ab = stack(perGroup, owner);
            if (cache != null) {
                stacked.put(module, ab);
            }
        }
        Shape xs = x.getShape();
        long in = xs.get(xs.dimension() - 1);
        long rowsPerGroup = xs.size() / in / groups;                    // L·S
        boolean plain = xs.dimension() == 3 && group == 1;              // x is already (G, S, in)
        NDArray xg = plain ? x : x.reshape(groups, rowsPerGroup, in);    // (G, L·S, in)
        NDArray delta = xg.matMul(ab[0]).matMul(ab[1]);                  // (G, L·S, out)
        if (!plain) {
            delta = delta.reshape(y.getShape());
        }
        return y.add(delta);
    }

    /** Stacks each group's weights (zeros for groups without LoRA), zero-padded to the largest rank. */
    private static NDArray[] stack(Lora[] perGroup, NDManager owner) {
        Lora any = null;
        int maxRank = 0;
        for (Lora l : perGroup) {
            if (l != null) {
                any = l;
                maxRank = Math.max(maxRank, l.rank);
            }
        }
        Objects.requireNonNull(any);
        try (NDManager scratch = owner.newSubManager()) {
            NDArray zeroA = null;
            NDArray zeroB = null;
            Map<Lora, NDArray[]> padded = new IdentityHashMap<>();
            NDList as = new NDList(perGroup.length);
            NDList bs = new NDList(perGroup.length);
            for (Lora l : perGroup) {
                if (l == null) {
                    if (zeroA == null) {
                        zeroA = scratch.zeros(new Shape(any.in, maxRank));
                        zeroB = scratch.zeros(new Shape(maxRank, any.out));
                    }
                    as.add(zeroA);
                    bs.add(zeroB);
                } else if (l.rank == maxRank) {
                    as.add(l.aT);
                    bs.add(l.bTScaled);
                } else {
                    NDArray[] p = padded.get(l);
                    if (p == null) {
                        int pad = maxRank - l.rank;
                        p = new NDArray[] {
                            NDArrays.concat(new NDList(l.aT, scratch.zeros(new Shape(l.in, pad))), 1),      // (in, maxRank)
                            NDArrays.concat(new NDList(l.bTScaled, scratch.zeros(new Shape(pad, l.out))), 0)}; // (maxRank, out)
                        // a concat belongs to its first operand's manager, the adapter's: move it to scratch
                        p[0].attach(scratch);
                        p[1].attach(scratch);
                        padded.put(l, p);
                    }
                    as.add(p[0]);
                    bs.add(p[1]);
                }
            }
            NDArray a = NDArrays.stack(as); // (G, in, r)
            NDArray b = NDArrays.stack(bs); // (G, r, out)
            a.attach(owner);
            b.attach(owner);
            return new NDArray[] {a, b};
        }
    }

    private static int gcd(int a, int b) {
        while (b != 0) {
            int t = a % b;
            a = b;
            b = t;
        }
        return a;
    }

    /** The adapter's own copy of the module for every row: {@code x·W'ᵀ + b'}. */
    private static NDArray replace(NDArray x, Replacement r) {
        NDArray out = x.matMul(r.wT);
        return r.bias == null ? out : out.add(r.bias);
    }

    /** Rows whose adapter saves this module take that module's output instead of {@code y}. */
    private static NDArray replaceRows(NDArray x, NDArray y, Replacement[] perRow) {
        int n = perRow.length;
        Replacement first = perRow[0];
        boolean all = first != null;
        for (int i = 1; i < n && all; i++) {
            all = perRow[i] == first;
        }
        if (all) {
            return replace(x, first);
        }
        NDManager step = x.getManager();
        long[] maskShape = new long[y.getShape().dimension()];
        java.util.Arrays.fill(maskShape, 1);
        maskShape[0] = n;
        Map<Replacement, boolean[]> masks = new IdentityHashMap<>();
        for (int i = 0; i < n; i++) {
            if (perRow[i] != null) {
                masks.computeIfAbsent(perRow[i], k -> new boolean[n])[i] = true;
            }
        }
        NDArray out = y;
        for (Map.Entry<Replacement, boolean[]> e : masks.entrySet()) {
            NDArray mask = step.create(e.getValue(), new Shape(maskShape)).broadcast(y.getShape()); // (batch, ..., out)
            out = NDArrays.where(mask, replace(x, e.getKey()), out);
            out.attach(step);
        }
        return out;
    }

    /** Frees the cached stacked weights; the hook cannot be used afterwards. */
    @Override
    public void close() {
        closed = true;
        stacked.clear();
        if (cleanable != null) {
            cleanable.clean();
        }
    }
}
