package io.loragate.recommend;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Locale;

/** The comparison table of a sweep as Markdown (what the README shows). */
final class SweepTable {

    private SweepTable() {
    }

    /**
     * The rows, then (classification) the bag-of-words baseline's row, then the choice and the
     * warnings as lines under the table.
     */
    static String markdown(List<Sweeps.Row> rows, Sweeps.Baseline baseline, SweepSelection.Choice choice) {
        StringBuilder sb = new StringBuilder();
        sb.append("| method | status | trainable params | adapter bytes | train s | eval loss (base → adapter) | accuracy (base → adapter)"
                + " | macro-F1 | ECE | forgetting | beats baseline |\n");
        sb.append("|---|---|---:|---:|---:|---|---|---:|---:|---:|---|\n");
        for (Sweeps.Row r : rows) {
            sb.append("| ").append(r.method())
                    .append(" | ").append(r.status()).append(r.error() == null ? "" : ": " + r.error().replace('|', '/').replace('\n', ' '))
                    .append(" | ").append(r.trainableParams() == null ? "—" : String.format(Locale.ROOT, "%,d", r.trainableParams()))
                    .append("estimated".equals(r.sizes()) ? " (est.)" : "")
                    .append(" | ").append(r.adapterBytes() == null ? "—" : String.format(Locale.ROOT, "%,d", r.adapterBytes()))
                    .append("estimated".equals(r.sizes()) ? " (est.)" : "")
                    .append(" | ").append(fmt(r.trainSeconds(), "%.1f"))
                    .append(" | ").append(pair(r.baseEvalLoss(), r.evalLoss()))
                    .append(" | ").append(pair(r.baseAccuracy(), r.accuracy()))
                    .append(" | ").append(fmt(r.macroF1(), "%.3f"))
                    .append(" | ").append(fmt(r.ece(), "%.3f"))
                    .append(" | ").append(fmt(forgetting(r.forgetting()), "%+.4f"))
                    .append(" | ").append(r.beatsBaseline() == null ? "—" : r.beatsBaseline() ? "yes" : "no")
                    .append(" |\n");
        }
        if (baseline != null) {
            sb.append("| bag-of-words baseline | — | — | — | — | ").append(pair(null, baseline.loss()))
                    .append(" | ").append(pair(null, baseline.accuracy()))
                    .append(" | ").append(fmt(baseline.macroF1(), "%.3f")).append(" | — | — | — |\n");
        }
        if (choice.best() != null) {
            sb.append("\nBest: ").append(choice.best()).append(" (").append(choice.reason()).append(")\n");
        }
        for (String w : choice.warnings()) {
            sb.append("\nWarning: ").append(w).append('\n');
        }
        return sb.toString();
    }

    /**
     * A number out of the report's {@code forgetting} (written by the diagnostics, whose shape may
     * change): the value itself when it is a number, else the first numeric field among the usual names.
     */
    static Double forgetting(JsonNode f) {
        if (f == null) {
            return null;
        }
        if (f.isNumber()) {
            return f.asDouble();
        }
        for (String k : List.of("delta", "loss_delta", "change", "increase", "loss_change", "ratio", "loss_ratio")) {
            if (f.path(k).isNumber()) {
                return f.get(k).asDouble();
            }
        }
        return null;
    }

    private static String pair(Double base, Double adapter) {
        if (base == null && adapter == null) {
            return "—";
        }
        return fmt(base, "%.4f") + " → " + fmt(adapter, "%.4f");
    }

    private static String fmt(Double v, String f) {
        return v == null ? "—" : String.format(Locale.ROOT, f, v);
    }
}
