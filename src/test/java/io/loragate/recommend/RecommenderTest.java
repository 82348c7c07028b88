package io.loragate.recommend;

import io.loragate.adapter.ModelShape;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.training.jobs.JobSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The ranking function on synthetic dataset facts: each documented threshold changes the plan. */
class RecommenderTest {

    static final ModelShape SHAPE = ModelShape.llama(2, 64, 160, 32, 384);
    static final String CLS = JobSpec.CLASSIFICATION;
    static final String SUP = JobSpec.SUPERVISED;

    static Recommender.Plan plan(String task, int examples, double shift, Budget budget) {
        DatasetFacts facts = DatasetFacts.synthetic(task.equals(CLS) ? "classification" : "prompt_completion", examples, 20,
                task.equals(CLS) ? 3 : 0);
        return Recommender.plan(facts, ShiftEstimate.ofScore(shift), SHAPE, task, budget, 3, 64, CostModel.Overheads.DEFAULT);
    }

    static List<String> order(Recommender.Plan p) {
        return p.methods().stream().map(Recommender.MethodPlan::method).toList();
    }

    @Test
    void datasetSizeThresholdsChangeThePlan() {
        Recommender.Plan tiny = plan(CLS, Recommender.TINY_BELOW - 1, 0.1, Budget.NONE);
        assertEquals(Recommender.TINY, tiny.regime());
        // the quality harness's order on tiny, low-shift classification: the LoRA family first, at the settings measured
        assertEquals(List.of(JobSpec.RSLORA, JobSpec.LORA, JobSpec.DORA, JobSpec.PARTIAL), order(tiny).subList(0, 4));
        assertEquals(8, tiny.find(JobSpec.RSLORA).settings().r());
        assertNull(tiny.find(JobSpec.RSLORA).settings().layersToTransform(), "measured on every layer");
        assertEquals(2e-3, tiny.find(JobSpec.RSLORA).learningRate(), 1e-12);
        assertTrue(tiny.find(JobSpec.RSLORA).reasons().get(0).contains("0.916"), tiny.find(JobSpec.RSLORA).reasons().get(0));
        assertTrue(order(tiny).indexOf(JobSpec.LINEAR_PROBE) > order(tiny).indexOf(JobSpec.DORA));

        Recommender.Plan medium = plan(CLS, Recommender.TINY_BELOW, 0.1, Budget.NONE);
        assertEquals(Recommender.MEDIUM, medium.regime());
        assertEquals(List.of(JobSpec.LORA, JobSpec.IA3, JobSpec.BOTTLENECK), order(medium).subList(0, 3));
        assertEquals(8, medium.find(JobSpec.LORA).settings().r());
        assertNull(medium.find(JobSpec.LORA).settings().layersToTransform());

        assertEquals(Recommender.MEDIUM, plan(CLS, Recommender.LARGE_ABOVE, 0.1, Budget.NONE).regime());
        Recommender.Plan large = plan(CLS, Recommender.LARGE_ABOVE + 1, 0.1, Budget.NONE);
        assertEquals(Recommender.LARGE, large.regime());
        assertEquals(List.of(JobSpec.LORA, JobSpec.DORA, JobSpec.PARTIAL), order(large).subList(0, 3));
        assertEquals(32, large.find(JobSpec.LORA).settings().r());
        assertEquals(32, large.find(JobSpec.DORA).settings().r());

        // every method is listed once; linear_probe only for classification
        for (Recommender.Plan p : List.of(tiny, medium, large)) {
            assertEquals(JobSpec.METHODS.size(), p.methods().size(), order(p).toString());
            for (int i = 0; i < p.methods().size(); i++) {
                assertEquals(i + 1, p.methods().get(i).rank());
                assertTrue(p.methods().get(i).reasons().size() >= 3, p.methods().get(i).reasons().toString());
            }
        }
        Recommender.Plan sup = plan(SUP, 50, 0.1, Budget.NONE);
        assertEquals(JobSpec.PROMPT_TUNING, order(sup).get(0));
        assertFalse(order(sup).contains(JobSpec.LINEAR_PROBE));
        assertEquals(JobSpec.METHODS.size() - 1, sup.methods().size());
    }

    @Test
    void shiftThresholdsChangeThePlan() {
        assertEquals(ShiftEstimate.LOW, Recommender.shiftLevel(Recommender.SHIFT_LOW_BELOW - 1e-9));
        assertEquals(ShiftEstimate.MEDIUM, Recommender.shiftLevel(Recommender.SHIFT_LOW_BELOW));
        assertEquals(ShiftEstimate.HIGH, Recommender.shiftLevel(Recommender.SHIFT_HIGH_FROM));
        // medium data: high shift asks for capacity
        Recommender.Plan mediumLow = plan(SUP, 1000, Recommender.SHIFT_HIGH_FROM - 0.01, Budget.NONE);
        Recommender.Plan mediumHigh = plan(SUP, 1000, Recommender.SHIFT_HIGH_FROM, Budget.NONE);
        assertEquals(List.of(JobSpec.LORA, JobSpec.IA3, JobSpec.BOTTLENECK), order(mediumLow).subList(0, 3));
        assertEquals(List.of(JobSpec.LORA, JobSpec.DORA, JobSpec.PARTIAL), order(mediumHigh).subList(0, 3));
        assertEquals(16, mediumHigh.find(JobSpec.LORA).settings().r());
        // tiny classification, high shift: the harness's order (sotu 64), ia3 (its worst row) last
        Recommender.Plan tinyHigh = plan(CLS, 40, 0.9, Budget.NONE);
        assertEquals(List.of(JobSpec.RSLORA, JobSpec.PARTIAL, JobSpec.BOTTLENECK, JobSpec.LINEAR_PROBE), order(tinyHigh).subList(0, 4));
        assertNull(tinyHigh.find(JobSpec.LORA).settings().layersToTransform());
        assertEquals(JobSpec.IA3, order(tinyHigh).get(order(tinyHigh).size() - 1));
        assertEquals(2e-3, tinyHigh.find(JobSpec.PARTIAL).learningRate(), 1e-12, "the rate partial was measured at");
        assertTrue(tinyHigh.methods().get(0).reasons().stream().anyMatch(r -> r.contains("high domain shift")));
        assertTrue(tinyHigh.methods().get(0).reasons().get(0).contains("sotu 64"), tinyHigh.methods().get(0).reasons().get(0));
        // tiny supervised data was not measured by the harness: its plan is unchanged
        Recommender.Plan tinyHighSup = plan(SUP, 40, 0.9, Budget.NONE);
        assertEquals(List.of(JobSpec.IA3, JobSpec.LORA, JobSpec.PROMPT_TUNING), order(tinyHighSup).subList(0, 3));
    }

    @Test
    void classificationPlansPointAtTheBagOfWordsBaselineAndItsGate() {
        for (Recommender.Plan p : List.of(plan(CLS, 40, 0.1, Budget.NONE), plan(CLS, 40, 0.9, Budget.NONE),
                plan(CLS, 1000, 0.1, Budget.NONE))) {
            for (Recommender.MethodPlan m : p.methods()) {
                assertTrue(m.reasons().stream().anyMatch(r -> r.contains("bag-of-words baseline")
                        && r.contains("publish_if.min_gain_over_baseline")), m.method() + ": " + m.reasons());
            }
        }
        for (Recommender.MethodPlan m : plan(SUP, 40, 0.1, Budget.NONE).methods()) {
            assertTrue(m.reasons().stream().noneMatch(r -> r.contains("bag-of-words")), m.reasons().toString());
        }
    }

    @Test
    void ranksStayWithinTheServersMaximum() {
        DatasetFacts facts = DatasetFacts.synthetic("text", 50_000, 20, 0);
        Recommender.Plan p = Recommender.plan(facts, ShiftEstimate.ofScore(0.9), SHAPE, SUP, Budget.NONE, 3, 16, CostModel.Overheads.DEFAULT);
        assertEquals(16, p.find(JobSpec.LORA).settings().r());
    }

    @Test
    void methodsOverTheBudgetAreExcludedWithTheReason() {
        Recommender.Plan all = plan(CLS, 1000, 0.1, Budget.NONE);
        long loraBytes = all.find(JobSpec.LORA).compute().adapterBytes();
        Recommender.Plan small = plan(CLS, 1000, 0.1, new Budget(null, loraBytes - 1));
        assertEquals(-1, order(small).indexOf(JobSpec.LORA));
        assertTrue(order(small).contains(JobSpec.IA3));
        assertTrue(order(small).contains(JobSpec.LINEAR_PROBE));
        for (Recommender.MethodPlan p : small.methods()) {
            assertTrue(p.compute().adapterBytes() <= loraBytes - 1, p.method());
        }
        Recommender.MethodPlan lora = small.find(JobSpec.LORA);
        assertTrue(small.excluded().contains(lora));
        assertTrue(lora.reasons().get(0).startsWith("over budget: adapter"), lora.reasons().get(0));
        assertEquals(JobSpec.IA3, order(small).get(0), "the next of the ladder moves up");
        assertEquals(1, small.methods().get(0).rank());

        double partialSeconds = all.find(JobSpec.PARTIAL).compute().trainSeconds();
        double probeSeconds = all.find(JobSpec.LINEAR_PROBE).compute().trainSeconds();
        assertTrue(probeSeconds < partialSeconds);
        double minutes = (probeSeconds + partialSeconds) / 2 / 60;
        Recommender.Plan quick = plan(CLS, 1000, 0.1, new Budget(minutes, null));
        assertTrue(quick.excluded().stream().anyMatch(p -> p.method().equals(JobSpec.PARTIAL)
                && p.reasons().get(0).startsWith("over budget: estimated training")));
        assertTrue(order(quick).contains(JobSpec.LINEAR_PROBE));
        quick.methods().forEach(p -> assertTrue(p.compute().trainSeconds() <= minutes * 60, p.method()));
    }

    @Test
    void costModelCountsParameters() {
        DatasetFacts facts = DatasetFacts.synthetic("text", 1000, 20, 0);
        // per layer: q (64+64), k (64+32), v (64+32), o (64+64) = 448 per unit of rank
        CostModel.Compute lora = CostModel.estimate(new MethodSettings(JobSpec.LORA, 8, 16.0, null, null, null, null, null), SHAPE,
                SUP, facts, 3, CostModel.Overheads.DEFAULT);
        assertEquals(8L * 448 * 2, lora.trainableParams());
        assertEquals(4 * lora.trainableParams() + CostModel.HEADER_BYTES_PER_TENSOR * 16 + 8, lora.adapterBytes());
        CostModel.Compute top = CostModel.estimate(new MethodSettings(JobSpec.LORA, 8, 16.0, List.of(1), null, null, null, null),
                SHAPE, SUP, facts, 3, CostModel.Overheads.DEFAULT);
        assertEquals(8L * 448, top.trainableParams());
        assertTrue(top.trainSeconds() < lora.trainSeconds(), "the backward stops at the lowest adapted layer");
        CostModel.Compute dora = CostModel.estimate(new MethodSettings(JobSpec.DORA, 8, 16.0, null, null, null, null, null), SHAPE,
                SUP, facts, 3, CostModel.Overheads.DEFAULT);
        assertEquals(lora.trainableParams() + 2 * (64 + 32 + 32 + 64), dora.trainableParams());
        CostModel.Compute ia3 = CostModel.estimate(MethodSettings.of(JobSpec.IA3), SHAPE, SUP, facts, 3, CostModel.Overheads.DEFAULT);
        assertEquals(2L * (32 + 32 + 160), ia3.trainableParams());
        CostModel.Compute prompt = CostModel.estimate(new MethodSettings(JobSpec.PROMPT_TUNING, null, null, null, 10, null, null,
                null), SHAPE, SUP, facts, 3, CostModel.Overheads.DEFAULT);
        assertEquals(640, prompt.trainableParams());
        CostModel.Compute partial = CostModel.estimate(MethodSettings.of(JobSpec.PARTIAL), SHAPE, SUP, facts, 3, CostModel.Overheads.DEFAULT);
        assertEquals(SHAPE.layerLinearParams()[1], partial.trainableParams());
        CostModel.Compute bottleneck = CostModel.estimate(new MethodSettings(JobSpec.BOTTLENECK, null, null, null, null, 16,
                "houlsby", null), SHAPE, SUP, facts, 3, CostModel.Overheads.DEFAULT);
        assertEquals(2L * 2 * (2 * 64 * 16 + 16 + 64), bottleneck.trainableParams());
        // classification adds the head
        DatasetFacts cls = DatasetFacts.synthetic("classification", 1000, 20, 3);
        assertEquals(3L * 64, CostModel.estimate(MethodSettings.of(JobSpec.LINEAR_PROBE), SHAPE, CLS, cls, 3, CostModel.Overheads.DEFAULT).trainableParams());
        // time grows with the data
        DatasetFacts more = DatasetFacts.synthetic("text", 4000, 20, 0);
        assertTrue(CostModel.estimate(MethodSettings.of(JobSpec.LORA), SHAPE, SUP, more, 3, CostModel.Overheads.DEFAULT).trainSeconds() > lora.trainSeconds());
    }

    @Test
    void samePlanForTheSameFacts() {
        assertEquals(plan(CLS, 500, 0.5, new Budget(10.0, 1_000_000L)), plan(CLS, 500, 0.5, new Budget(10.0, 1_000_000L)));
    }

    @Test
    void theShiftSampleIsDeterministicAndCapped() {
        List<Integer> all = java.util.stream.IntStream.range(0, 100).boxed().toList();
        assertEquals(ShiftEstimator.sample(all, 10), ShiftEstimator.sample(all, 10));
        assertEquals(10, ShiftEstimator.sample(all, 10).size());
        assertEquals(3, ShiftEstimator.sample(List.of(1, 2, 3), 10).size());
    }

    /** The job estimate adds the diagnostics' forward passes and the checkpoint writes, in closed form. */
    @Test
    void theJobEstimateCountsDiagnosticsAndCheckpoints() {
        DatasetFacts facts = DatasetFacts.synthetic("text", 200, 20, 0); // 180 train, 20 validation
        MethodSettings lora = MethodSettings.of(JobSpec.LORA);
        CostModel.Compute plain = CostModel.estimate(lora, SHAPE, SUP, facts, 3, new CostModel.Overheads(64, 0));
        CostModel.Compute reference = CostModel.estimate(lora, SHAPE, SUP, facts, 3, new CostModel.Overheads(64, 1000));
        CostModel.Compute capped = CostModel.estimate(lora, SHAPE, SUP, facts, 3, new CostModel.Overheads(8, 0));
        double fwdLm = 2.0 * (SHAPE.layerParams() + SHAPE.headParams());
        // base and adapter over the 20 validation examples of 20 tokens
        assertEquals(2 * fwdLm * 20 * 20 / CostModel.FLOPS_PER_SECOND, plain.diagnosticsSeconds(), 1e-12);
        // and over 1,000 reference tokens
        assertEquals(2 * fwdLm * 1000 / CostModel.FLOPS_PER_SECOND, reference.diagnosticsSeconds() - plain.diagnosticsSeconds(),
                1e-12);
        assertEquals(reference.diagnosticsSeconds() - plain.diagnosticsSeconds(), reference.trainSeconds() - plain.trainSeconds(),
                1e-12);
        // the cap: 8 of the 20 validation examples
        assertEquals(plain.diagnosticsSeconds() * 8 / 20, capped.diagnosticsSeconds(), 1e-12);
        // 3 epochs of 23 steps: a checkpoint per epoch and 3 more every 20 steps, 12 bytes per parameter
        assertEquals(6 * 12.0 * plain.trainableParams() / CostModel.DISK_BYTES_PER_SECOND, plain.checkpointSeconds(), 1e-12);
        // classification: the probe's training set counts too, and an encoder-style head has no reference
        DatasetFacts labelled = DatasetFacts.synthetic("classification", 200, 20, 3);
        CostModel.Compute cls = CostModel.estimate(MethodSettings.of(JobSpec.LINEAR_PROBE), SHAPE, CLS, labelled, 3,
                new CostModel.Overheads(64, 0));
        double fwd = 2.0 * SHAPE.layerParams();
        assertEquals(2 * fwd * (20 + 64) * 20 / CostModel.FLOPS_PER_SECOND, cls.diagnosticsSeconds(), 1e-12);
    }
}
