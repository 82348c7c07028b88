package io.loragate.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.loragate.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The engine's slot cache: bounded storage over many batches that empty and refill, same logits as a fresh cache. */
class KvCacheTest {

    static CausalModel model;

    @BeforeAll
    static void load() {
        model = (CausalModel) BaseModel.load(Fixtures.hf("tiny-llama"), Device.cpu());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** Greedy decode of {@code steps} tokens after adopting {@code prompt} into {@code slots}; the last step's logits. */
    private static float[] run(KvCache slots, long[] prompt, int steps) {
        try (NDManager m = model.manager().newSubManager()) {
            long next;
            try (KvCache prefill = model.newCache(1)) {
                NDArray logits = model.forward(m, new long[][] {prompt}, prefill, AdapterHook.NONE, false);
                next = logits.argMax(-1).toLongArray()[0];
                slots.adopt(prefill, 0);
            }
            float[] last = null;
            for (int s = 0; s < steps; s++) {
                NDArray logits = model.forward(m, new long[][] {{next}}, slots, AdapterHook.NONE, false);
                last = logits.toFloatArray();
                next = logits.argMax(-1).toLongArray()[0];
            }
            slots.remove(0);
            return last;
        }
    }

    @Test
    void aBatchThatEmptiesAndRefillsKeepsItsStorageBounded() {
        long[] prompt = {1, 5, 9, 13, 17, 21, 25, 29, 33, 37};
        try (KvCache fresh = model.newSlots(4)) {
            float[] expected = run(fresh, prompt, 6);
            try (KvCache slots = model.newSlots(4)) {
                float[] last = null;
                run(slots, prompt, 6);
                int arrays = model.manager().getManagedArrays().size();
                for (int i = 0; i < 300; i++) { // the engine's life: requests come and go, the batch empties between them
                    last = run(slots, prompt, 6);
                    assertEquals(0, slots.columns(), "an empty batch uses no columns");
                }
                // before the fix the storage grew by the prompt's length at every refill (300 x 10 columns)
                assertTrue(slots.capacity() <= 64, "capacity " + slots.capacity() + " columns after 300 refills");
                assertArrayEquals(expected, last, 1e-5f, "the reused storage gives a fresh cache's logits");
                assertEquals(arrays, model.manager().getManagedArrays().size(), "arrays left behind by 300 requests");
            }
        }
    }
}
