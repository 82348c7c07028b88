package io.loragate.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToIntFunction;

/**
 * The waiting sequences, one FIFO queue per tenant, bounded per tenant: a tenant that floods the
 * engine fills only its own queue (and gets RESOURCE_EXHAUSTED), never another tenant's room.
 * Admission picks the tenant that holds the fewest rows of the running batch (rows it was given
 * in this step included), ties broken round-robin, so that a flooding tenant cannot keep a light
 * one waiting: the light tenant's request gets the next free row. Within a tenant it is FIFO.
 * Thread-safe: submitters offer, the engine thread polls.
 */
final class FairQueue {

    private final int perTenant;
    // rotation order: a tenant goes to the back once it has been served
    private final LinkedHashMap<String, ArrayDeque<Sequence>> queues = new LinkedHashMap<>();
    private int size;

    FairQueue(int perTenant) {
        this.perTenant = perTenant;
    }

    /** Queues {@code s}; false when its tenant already has {@code perTenant} sequences waiting. */
    synchronized boolean offer(Sequence s) {
        ArrayDeque<Sequence> q = queues.computeIfAbsent(s.tenant, t -> new ArrayDeque<>());
        if (q.size() >= perTenant) {
            return false;
        }
        q.addLast(s);
        size++;
        return true;
    }

    /**
     * The next sequence to admit, not removed: the head of the waiting tenant with the fewest
     * {@code rows}, the earliest in the rotation among equals; null when nothing waits.
     */
    synchronized Sequence peek(ToIntFunction<String> rows) {
        String best = pick(rows);
        return best == null ? null : queues.get(best).peekFirst();
    }

    /** Removes {@code s} (what {@link #peek} returned) and sends its tenant to the back of the rotation. */
    synchronized void remove(Sequence s) {
        ArrayDeque<Sequence> q = queues.remove(s.tenant);
        if (q == null || !q.remove(s)) {
            if (q != null) {
                queues.put(s.tenant, q);
            }
            return;
        }
        size--;
        if (!q.isEmpty()) {
            queues.put(s.tenant, q);
        }
    }

    private String pick(ToIntFunction<String> rows) {
        String best = null;
        int fewest = Integer.MAX_VALUE;
        for (Map.Entry<String, ArrayDeque<Sequence>> e : queues.entrySet()) {
            if (e.getValue().isEmpty()) {
                continue;
            }
            int n = rows.applyAsInt(e.getKey());
            if (n < fewest) {
                fewest = n;
                best = e.getKey();
            }
        }
        return best;
    }

    /** Removes and returns the oldest-queued sequence of any tenant (shutdown), or null. */
    synchronized Sequence poll() {
        Iterator<Map.Entry<String, ArrayDeque<Sequence>>> it = queues.entrySet().iterator();
        while (it.hasNext()) {
            ArrayDeque<Sequence> q = it.next().getValue();
            Sequence s = q.pollFirst();
            if (q.isEmpty()) {
                it.remove();
            }
            if (s != null) {
                size--;
                return s;
            }
        }
        return null;
    }

    /** Removes every waiting sequence that matches {@code drop} and returns them, in queue order. */
    synchronized List<Sequence> removeIf(java.util.function.Predicate<Sequence> drop) {
        List<Sequence> out = new ArrayList<>();
        Iterator<Map.Entry<String, ArrayDeque<Sequence>>> it = queues.entrySet().iterator();
        while (it.hasNext()) {
            ArrayDeque<Sequence> q = it.next().getValue();
            for (Iterator<Sequence> qi = q.iterator(); qi.hasNext(); ) {
                Sequence s = qi.next();
                if (drop.test(s)) {
                    qi.remove();
                    size--;
                    out.add(s);
                }
            }
            if (q.isEmpty()) {
                it.remove();
            }
        }
        return out;
    }

    synchronized int size() {
        return size;
    }

    synchronized boolean isEmpty() {
        return size == 0;
    }

    /** The waiting sequences (a copy). */
    synchronized List<Sequence> snapshot() {
        List<Sequence> out = new ArrayList<>(size);
        queues.values().forEach(out::addAll);
        return out;
    }
}
