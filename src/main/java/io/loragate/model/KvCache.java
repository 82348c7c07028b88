package io.loragate.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;

/**
 * Keys and values of every layer for a batch of sequences, so that decoding a token attends to the
 * prefix without recomputing it. Each row is a sequence; its tokens occupy some of the cache's
 * columns (new blocks are left-padded, so a row's real columns need not be contiguous), and
 * {@link #real} records which. Storage is preallocated with spare capacity and written in place, so
 * a decode step costs O(new tokens), not a copy of the whole prefix.
 *
 * <p>The cache owns its manager: closing it frees every key and value.
 */
public final class KvCache implements AutoCloseable {

    private final NDManager manager;
    private final int layers;
    private final int batch;
    private final int kvHeads;
    private final int headDim;
    private final NDArray[] keys;   // per layer: (batch, kvHeads, capacity, headDim)
    private final NDArray[] values; // per layer: (batch, kvHeads, capacity, headDim)
    private boolean[][] real;       // (batch, capacity): column holds a real token of that row
    private final int[] lengths;    // real tokens per row
    private int columns;            // columns in use
    private int capacity;

    KvCache(NDManager parent, int layers, int batch, int kvHeads, int headDim) {
        this.manager = parent.newSubManager();
        this.layers = layers;
        this.batch = batch;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.keys = new NDArray[layers];
        this.values = new NDArray[layers];
        this.real = new boolean[batch][0];
        this.lengths = new int[batch];
    }

    public int batch() {
        return batch;
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
     * Reserves {@code t} new columns for the next block; {@code newReal[row]} tokens of each row are
     * real and right-aligned in the block. Grows storage geometrically when needed.
     */
    void extend(int t, int[] newReal) {
        int needed = columns + t;
        if (needed > capacity) {
            int newCapacity = Math.max(needed, Math.max(16, capacity * 2));
            for (int l = 0; l < layers; l++) {
                keys[l] = grow(keys[l], newCapacity);
                values[l] = grow(values[l], newCapacity);
            }
            for (int r = 0; r < batch; r++) {
                real[r] = Arrays.copyOf(real[r], newCapacity);
            }
            capacity = newCapacity;
        }
        for (int r = 0; r < batch; r++) {
            for (int s = t - newReal[r]; s < t; s++) {
                real[r][columns + s] = true;
            }
            lengths[r] += newReal[r];
        }
        columns = needed;
    }

    private NDArray grow(NDArray old, int newCapacity) {
        NDArray fresh = manager.zeros(new Shape(batch, kvHeads, newCapacity, headDim), DataType.FLOAT32);
        if (old != null) {
            fresh.set(new NDIndex(":, :, :{}", old.getShape().get(2)), old);
            old.close();
        }
        return fresh;
    }

    /**
     * Writes the block's keys and values, {@code (batch, kvHeads, t, headDim)}, into the last
     * {@code t} columns of layer {@code layer}, and returns views of all columns in use.
     */
    NDArray[] write(int layer, NDArray k, NDArray v) {
        long t = k.getShape().get(2);
        NDIndex block = new NDIndex(":, :, {}:{}", columns - t, columns);
        keys[layer].set(block, k);
        values[layer].set(block, v);
        NDIndex used = new NDIndex(":, :, :{}", columns);
        NDArray kAll = keys[layer].get(used);   // (batch, kvHeads, columns, headDim)
        NDArray vAll = values[layer].get(used); // (batch, kvHeads, columns, headDim)
        // the views belong to the caller's step, not to the cache
        kAll.attach(k.getManager());
        vAll.attach(k.getManager());
        return new NDArray[] {kAll, vAll};
    }

    /** Bytes of key/value storage currently allocated. */
    public long bytes() {
        return 2L * layers * batch * kvHeads * (long) capacity * headDim * 4;
    }

    @Override
    public void close() {
        manager.close();
    }
}
