package io.loragate.training.jobs;

import io.loragate.registry.JobEventDraft;
import java.util.ArrayList;
import java.util.List;

/**
 * The events a running job made since its last database write. Writing each step's event and
 * progress row on its own (and reading the lease back) cost more than a small model's step, so the
 * runner collects them here and writes them in one transaction when {@link #due} says so (and
 * always at an evaluation, a checkpoint, a stop and the end). That write is also the runner's
 * lease and cancel check, so a cancel from another replica is seen within the write interval
 * ({@code loragate.jobs.step-write-interval}, 250 ms) plus one step.
 */
final class StepJournal {

    /** At most this many steps' events are held (a bound on a write's size for very fast steps). */
    static final int MAX_PENDING = 64;

    private final List<JobEventDraft> pending = new ArrayList<>();
    /** At most this long between two writes while steps keep coming (0: every step). */
    private final long intervalNanos;
    private long lastWriteNanos = System.nanoTime();

    StepJournal(java.time.Duration interval) {
        this.intervalNanos = Math.max(0, interval.toNanos());
    }

    void add(JobEventDraft event) {
        pending.add(event);
    }

    /** Whether the time or the count since the last write calls for one now. */
    boolean due() {
        return pending.size() >= MAX_PENDING || System.nanoTime() - lastWriteNanos >= intervalNanos;
    }

    /** The events to write now; the journal starts afresh (whether or not the write is allowed). */
    List<JobEventDraft> drain() {
        List<JobEventDraft> out = List.copyOf(pending);
        pending.clear();
        lastWriteNanos = System.nanoTime();
        return out;
    }
}
