package io.loragate.recommend;

import java.time.Instant;
import java.util.List;

/**
 * A stored sweep.
 *
 * @param requestJson        the request as received
 * @param recommendationJson the recommendation its methods came from
 * @param entries            one per method, in order
 * @param status             {@code running}, {@code succeeded} or {@code failed}
 */
public record SweepRecord(String id, String tenant, String requestJson, String recommendationJson, List<Entry> entries,
        String status, Instant created, Instant finished) {

    /**
     * One method of the sweep.
     *
     * @param estimate the cost model's estimate (null: none)
     * @param jobId null until its job is created
     * @param error why its job could not be created (null otherwise)
     */
    public record Entry(String method, MethodSettings settings, double learningRate, CostModel.Compute estimate, String suffix,
            String jobId, String error) {

        Entry withJob(String id) {
            return new Entry(method, settings, learningRate, estimate, suffix, id, null);
        }

        Entry withError(String e) {
            return new Entry(method, settings, learningRate, estimate, suffix, null, e);
        }

        /** Neither created nor refused yet. */
        boolean pending() {
            return jobId == null && error == null;
        }
    }
}
