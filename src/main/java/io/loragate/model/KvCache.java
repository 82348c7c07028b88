package io.loragate.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.JniUtils;
import java.util.Arrays;

/**
 * Keys and values of every layer for a batch of sequences, so that decoding a token attends to the
 * prefix without recomputing it. Each row is a sequence; its tokens occupy some of the cache's
 * columns (new blocks are left-padded, so a row's real columns need not be contiguous), and
 * {@link #real} records which. Storage is preallocated with spare capacity and written in place, so
 * a decode step costs O(new tokens), not a copy of the whole prefix.
 *
 * <p>For continuous batching the cache is a set of row slots: {@link #adopt} appends a sequence
 * prefilled elsewhere, {@link #remove} frees a row by moving the last row into it, and columns that
 * no active row uses any more are reclaimed by shifting, so that its width tracks the longest live
 * sequence rather than the engine's uptime.
 *
 * <p>Invariant: every column a row does not hold a real token in is zero in every layer (fresh
 * storage is zeros; {@link #adopt}, {@link #remove} and the reclaiming shift zero what a previous
 * occupant left), so that attention, which masks such columns, never meets another sequence's
 * numbers there (a NaN left by a poisoned sequence would survive the mask as 0·NaN).
 *
 * <p>The cache owns its manager: closing it frees every key and value.
 */
public final class KvCache implements AutoCloseable {

    private final NDManager manager;
    private final int layers;
    private final int rowCapacity;
    private final int kvHeads;
    private final int headDim;
    private final NDArray[] keys;   // per layer: (rowCapacity, kvHeads, capacity, headDim)
    private final NDArray[] values; // per layer: (rowCapacity, kvHeads, capacity, headDim)
    private boolean[][] real;       // (rowCapacity, capacity): column holds a real token of that row
    private final int[] lengths;    // real tokens per row
    private int active;             // rows in use: 0 .. active-1
    private int columns;            // columns in use
    private int capacity;           // columns allocated

    KvCache(NDManager parent, int layers, int rows, int active, int kvHeads, int headDim) {
        this.manager = parent.newSubManager();
        this.layers = layers;
        this.rowCapacity = rows;
        this.active = active;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.keys = new NDArray[layers];
        this.values = new NDArray[layers];
        this.real = new boolean[rows][0];
        this.lengths = new int[rows];
    }

    /** Rows that take part in the next forward. */
    public int batch() {
        return active;
    }

    /** Rows this cache can hold. */
    public int rowCapacity() {
        return rowCapacity;
    }

    /** Columns in use (the longest row plus padding). */
    public int columns() {
        return columns;
    }

    /** Real tokens held for {@code row}. */
    public int length(int row) {
        return lengths[row];
    }

    boolean isReal(int row, int column) {
        return real[row][column];
    }

    /**
     * Reserves {@code t} new columns for the next block; {@code newReal[row]} tokens of each active
     * row are real and right-aligned in the block. Reclaims dead columns or grows storage first.
     */
    void extend(int t, int[] newReal) {
        if (columns + t > capacity) {
            int dead = firstLiveColumn();
            if (dead >= t && dead >= columns / 4) {
                shiftLeft(dead);
            }
        }
        int needed = columns + t;
        if (needed > capacity) {
            resize(Math.max(needed, Math.max(16, capacity * 2)), 0);
        }
        for (int r = 0; r < active; r++) {
            for (int s = t - newReal[r]; s < t; s++) {
                real[r][columns + s] = true;
            }
            lengths[r] += newReal[r];
        }
        columns = needed;
    }

    /** The first column that any active row still uses ({@link #columns} if none). */
    private int firstLiveColumn() {
        int first = columns;
        for (int r = 0; r < active; r++) {
            for (int j = 0; j < first; j++) {
                if (real[r][j]) {
                    first = j;
                    break;
                }
            }
        }
        return first;
    }

    /** Drops the first {@code s} columns, which no active row uses. */
    private void shiftLeft(int s) {
        if (s == 0) {
            return;
        }
        NDIndex live = new NDIndex(":, :, {}:{}", s, columns);
        NDIndex front = new NDIndex(":, :, :{}", columns - s);
        for (int l = 0; l < layers; l++) {
            // the views from get() belong to the cache's manager, which lives as long as the engine: close them too
            try (NDArray kView = keys[l].get(live); NDArray k = kView.duplicate();
                    NDArray vView = values[l].get(live); NDArray v = vView.duplicate()) {
                keys[l].set(front, k);
                values[l].set(front, v);
            }
        }
        // the vacated tail is zeroed: it becomes the next columns, masked for rows that do not write them
        zero(new NDIndex(":, :, {}:{}", columns - s, columns), new Shape(rowCapacity, kvHeads, s, headDim));
        for (int r = 0; r < rowCapacity; r++) {
            boolean[] shifted = new boolean[capacity];
            if (columns - s > 0) {
                System.arraycopy(real[r], s, shifted, 0, columns - s);
            }
            real[r] = shifted;
        }
        columns -= s;
    }

    /** Sets {@code index} (of {@code shape}) to zero in every layer's keys and values. */
    private void zero(NDIndex index, Shape shape) {
        try (NDArray z = manager.zeros(shape, DataType.FLOAT32)) {
            for (int l = 0; l < layers; l++) {
                keys[l].set(index, z);
                values[l].set(index, z);
            }
        }
    }

    /** Reallocates to {@code newCapacity} columns, moving the used columns right by {@code offset}. */
    private void resize(int newCapacity, int offset) {
        for (int l = 0; l < layers; l++) {
            keys[l] = moved(keys[l], newCapacity, offset);
            values[l] = moved(values[l], newCapacity, offset);
        }
        for (int r = 0; r < rowCapacity; r++) {
            boolean[] grown = new boolean[newCapacity];
            System.arraycopy(real[r], 0, grown, offset, Math.min(columns, real[r].length));
            real[r] = grown;
        }
        capacity = newCapacity;
    }

    private NDArray moved(NDArray old, int newCapacity, int offset) {
        NDArray fresh = manager.zeros(new Shape(rowCapacity, kvHeads, newCapacity, headDim), DataType.FLOAT32);
        if (old != null) {
            if (columns > 0) {
                try (NDArray used = old.get(new NDIndex(":, :, :{}", columns))) {
                    fresh.set(new NDIndex(":, :, {}:{}", offset, offset + columns), used);
                }
            }
            old.close();
        }
        return fresh;
    }

    /**
     * Writes the block's keys and values, {@code (active, kvHeads, t, headDim)} (t given: asking an
     * array for its shape is an engine call), into the last
     * {@code t} columns of layer {@code layer}, and returns views of all active rows' used columns.
     */
    NDArray[] write(int layer, NDArray k, NDArray v, long t) {
        long[] all = {1, 1, 1, 1};
        long[] blockFrom = {0, 0, columns - t, 0};
        long[] to = {active, kvHeads, columns, headDim};
        put(keys[layer], k, blockFrom, to);
        put(values[layer], v, blockFrom, to);
        long[] usedFrom = {0, 0, 0, 0};
        PtNDManager step = (PtNDManager) k.getManager(); // the views belong to the caller's step, not to the cache
        NDArray kAll = JniUtils.index((PtNDArray) keys[layer], usedFrom, to, all, step);   // (active, kvHeads, columns, headDim)
        NDArray vAll = JniUtils.index((PtNDArray) values[layer], usedFrom, to, all, step); // (active, kvHeads, columns, headDim)
        return new NDArray[] {kAll, vAll};
    }

    /**
     * Writes {@code value} into {@code a[from:to]} (every axis). Straight through the engine's slice
     * calls: NDArray.get/set build an advanced index (six engine calls each) and DJL's slice setter
     * adds a broadcast, a reshape and device checks, where this is one call; at decode these run
     * twice per layer each, at every step.
     */
    private static void put(NDArray a, NDArray value, long[] from, long[] to) {
        JniUtils.indexSet((PtNDArray) a, (PtNDArray) value, from, to, new long[] {1, 1, 1, 1});
    }

    /**
     * Appends row {@code srcRow} of another cache of the same model (typically a fresh prefill
     * batch) as a new active row, right-aligned with the existing rows.
     *
     * @return the new row's index
     */
    public int adopt(KvCache src, int srcRow) {
        if (active == rowCapacity) {
            throw new IllegalStateException("all " + rowCapacity + " rows are in use");
        }
        int len = src.lengths[srcRow];
        int srcEnd = src.columns;
        for (int j = 0; j < srcEnd; j++) {
            if (src.real[srcRow][j] != (j >= srcEnd - len)) {
                throw new IllegalStateException("adopted rows must be right-aligned and contiguous");
            }
        }
        if (len > columns) {
            // the rows already here move right by offset so that every row ends at the last column
            int offset = len - columns;
            if (columns > 0 || capacity < len) {
                // grow only when the columns do not fit: growing by the offset at every refill of an
                // emptied batch made the storage (and the engine's memory) grow without bound
                resize(capacity >= len ? capacity : Math.max(len, Math.max(16, capacity * 2)), offset);
            }
            columns = len;
        }
        int row = active++;
        NDIndex dst = new NDIndex("{}, :, {}:{}", row, columns - len, columns);
        NDIndex from = new NDIndex("{}, :, {}:{}", srcRow, srcEnd - len, srcEnd);
        if (columns > len) {
            // the row's columns before its tokens are masked, but they must not hold a previous
            // occupant's numbers: masked attention still multiplies them by 0, and 0·NaN is NaN
            zero(new NDIndex("{}, :, :{}", row, columns - len), new Shape(kvHeads, columns - len, headDim));
        }
        for (int l = 0; l < layers; l++) {
            try (NDArray k = src.keys[l].get(from); NDArray v = src.values[l].get(from)) {
                keys[l].set(dst, k);
                values[l].set(dst, v);
            }
        }
        java.util.Arrays.fill(real[row], false);
        for (int j = columns - len; j < columns; j++) {
            real[row][j] = true;
        }
        lengths[row] = len;
        return row;
    }

    /**
     * Frees {@code row}: the last active row moves into it (callers mirror the move), and the
     * vacated last row is zeroed in every layer.
     */
    public void remove(int row) {
        int last = active - 1;
        if (row < 0 || row > last) {
            throw new IllegalArgumentException("row " + row + " is not active");
        }
        if (row != last) {
            NDIndex dst = new NDIndex("{}", row);
            for (int l = 0; l < layers; l++) {
                try (NDArray k = keys[l].get(last); NDArray v = values[l].get(last)) {
                    keys[l].set(dst, k);
                    values[l].set(dst, v);
                }
            }
            boolean[] tmp = real[row];
            real[row] = real[last];
            real[last] = tmp;
            lengths[row] = lengths[last];
        }
        // a freed row holds zeros: nothing of its sequence (NaN included) is left for the next one
        if (capacity > 0) {
            zero(new NDIndex("{}", last), new Shape(kvHeads, capacity, headDim));
        }
        java.util.Arrays.fill(real[last], false);
        lengths[last] = 0;
        active--;
        if (active == 0) {
            columns = 0;
        }
    }

    /** Columns of storage allocated (for tests and metrics). */
    public int capacity() {
        return capacity;
    }

    /** Bytes of key/value storage currently allocated. */
    public long bytes() {
        return 2L * layers * rowCapacity * kvHeads * (long) capacity * headDim * 4;
    }

    @Override
    public void close() {
        manager.close();
    }
}
