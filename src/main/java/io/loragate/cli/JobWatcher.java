package io.loragate.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Follows a job by polling the job and its new events: a live bar on a terminal (step / total,
 * training loss, the last evaluation, ETA), one line per event when piped; at the end the
 * evaluation report and the published adapter id.
 */
final class JobWatcher {

    static final Set<String> FINAL = Set.of("succeeded", "failed", "cancelled");
    /** Events fetched per poll page, and pages at most (a watcher that fell far behind skips the oldest). */
    private static final int PAGE = 100;
    private static final int MAX_PAGES = 20;

    private final Api api;
    private final Printer printer;
    private final ProgressBar bar;
    private final long intervalMillis;

    JobWatcher(Api api, Printer printer, PrintWriter err, double intervalSeconds) {
        if (!(intervalSeconds >= 0.05 && intervalSeconds <= 3600)) {
            throw CliException.usage("--interval must be between 0.05 and 3600 seconds");
        }
        this.api = api;
        this.printer = printer;
        this.bar = printer.progress(err);
        this.intervalMillis = Math.round(intervalSeconds * 1000);
    }

    /** Watches to the end; answers 0 when the job succeeded, 1 otherwise. */
    int watch(String id) {
        String path = "/v1/fine_tuning/jobs/" + ApiCommand.enc(id);
        long lastSeq = -1;
        JsonNode metrics = null;
        JsonNode lastEval = null;
        String status = null;
        JsonNode job;
        while (true) {
            job = api.get(path);
            for (JsonNode e : newEvents(path, lastSeq)) {
                lastSeq = seq(e.path("id").asText());
                JsonNode data = e.path("data");
                if (e.path("type").asText().equals("metrics") && data.has("step")) {
                    metrics = data;
                    if (data.has("eval_loss")) {
                        lastEval = data;
                    }
                    if (!bar.terminal()) {
                        bar.line(metricsLine(data));
                    }
                } else if (!(e.path("type").asText().equals("metrics") && data.has("adapter"))) {
                    bar.line(e.path("message").asText()); // status changes, validation, publication (the report comes at the end)
                }
            }
            status = job.path("status").asText();
            if (FINAL.contains(status)) {
                break;
            }
            bar.draw(barText(job, metrics, lastEval), false);
            sleep();
        }
        bar.finish();
        if (printer.json()) {
            printer.printJson(job);
        } else {
            printSummary(printer, job);
        }
        return status.equals("succeeded") ? ExitCodes.OK : ExitCodes.FAILED;
    }

    /** Events after {@code lastSeq}, oldest first (the API pages newest first). */
    private List<JsonNode> newEvents(String path, long lastSeq) {
        List<JsonNode> fresh = new ArrayList<>();
        String after = null;
        for (int page = 0; page < MAX_PAGES; page++) {
            JsonNode r = api.get(path + "/events?limit=" + PAGE + (after == null ? "" : "&after=" + ApiCommand.enc(after)));
            boolean older = false;
            for (JsonNode e : r.path("data")) {
                if (seq(e.path("id").asText()) <= lastSeq) {
                    older = true;
                    break;
                }
                fresh.add(e);
            }
            if (older || !r.path("has_more").asBoolean() || r.path("data").size() == 0) {
                break;
            }
            after = r.path("data").get(r.path("data").size() - 1).path("id").asText();
        }
        Collections.reverse(fresh);
        return fresh;
    }

    /** The trailing sequence number of {@code ftevent-<job>-<seq>}. */
    static long seq(String eventId) {
        try {
            return Long.parseLong(eventId.substring(eventId.lastIndexOf('-') + 1));
        } catch (NumberFormatException | IndexOutOfBoundsException e) {
            return 0;
        }
    }

    static String barText(JsonNode job, JsonNode metrics, JsonNode eval) {
        JsonNode p = job.path("progress");
        long step = metrics != null ? metrics.path("step").asLong() : p.path("step").asLong();
        long total = metrics != null ? metrics.path("total_steps").asLong() : p.path("total_steps").asLong();
        StringBuilder b = new StringBuilder(job.path("status").asText()).append(' ').append(ProgressBar.bar(step, total))
                .append(' ').append(step).append('/').append(total == 0 ? "?" : String.valueOf(total)).append(" steps");
        if (metrics != null) {
            b.append("  loss ").append(Printer.number(metrics.path("train_loss").asDouble()));
        }
        if (eval != null) {
            b.append("  eval loss ").append(Printer.number(eval.path("eval_loss").asDouble()));
            if (eval.hasNonNull("eval_accuracy")) {
                b.append(" acc ").append(String.format(Locale.ROOT, "%.3f", eval.path("eval_accuracy").asDouble()));
            }
        }
        if (metrics != null && metrics.has("eta_seconds")) {
            b.append("  ETA ").append(ProgressBar.duration(metrics.path("eta_seconds").asDouble()));
        }
        return b.toString();
    }

    static String metricsLine(JsonNode m) {
        StringBuilder b = new StringBuilder("step ").append(m.path("step").asText()).append('/').append(m.path("total_steps").asText())
                .append("  loss ").append(Printer.number(m.path("train_loss").asDouble()))
                .append("  lr ").append(Printer.number(m.path("learning_rate").asDouble()));
        if (m.has("eval_loss")) {
            b.append("  eval loss ").append(Printer.number(m.path("eval_loss").asDouble()));
        }
        if (m.hasNonNull("eval_accuracy")) {
            b.append("  eval acc ").append(String.format(Locale.ROOT, "%.3f", m.path("eval_accuracy").asDouble()));
        }
        if (m.has("eta_seconds")) {
            b.append("  ETA ").append(ProgressBar.duration(m.path("eta_seconds").asDouble()));
        }
        return b.toString();
    }

    /** Status, the evaluation report (base, adapter, baseline), the gate, and the published id last. */
    static void printSummary(Printer p, JsonNode job) {
        JsonNode progress = job.path("progress");
        p.line(job.path("id").asText() + ": " + job.path("status").asText() + " (" + job.path("method").path("type").asText() + ", "
                + job.path("method").path("adapter").path("method").asText("lora") + ", step " + progress.path("step").asText() + "/"
                + progress.path("total_steps").asText() + ")");
        if (job.path("error").isObject()) {
            p.line("error: " + job.path("error").path("message").asText());
        }
        JsonNode r = job.path("report");
        if (r.isObject()) {
            p.line("");
            p.line("evaluation on " + r.path("validation_examples").asText() + " validation examples after "
                    + r.path("steps").asText() + " steps" + (r.path("early_stopped").asBoolean() ? " (stopped early)" : "") + ":");
            List<List<String>> rows = new ArrayList<>();
            for (String name : List.of("base", "adapter", "bag_of_words")) {
                JsonNode m = r.path(name);
                if (m.isObject()) {
                    rows.add(Printer.row(name.equals("base") && r.path("task").asText().equals("classification") ? "base (untrained head)"
                            : name.replace('_', '-'), Printer.text(m.path("loss")), Printer.text(m.path("perplexity")),
                            Printer.text(m.path("accuracy")), Printer.text(m.path("macro_f1")), Printer.text(m.path("ece"))));
                }
            }
            p.table(List.of("MODEL", "LOSS", "PERPLEXITY", "ACCURACY", "MACRO-F1", "ECE"), rows);
            if (r.has("eval_loss_ratio")) {
                p.line("eval loss ratio (adapter / base): " + Printer.number(r.path("eval_loss_ratio").asDouble()));
            }
            if (r.has("gain_over_baseline")) {
                p.line(String.format(Locale.ROOT, "gain over the bag-of-words baseline: %+.3f", r.path("gain_over_baseline").asDouble()));
            }
            JsonNode gate = r.path("publish_if");
            if (gate.isObject() && !gate.path("passed").asBoolean(true)) {
                List<String> reasons = new ArrayList<>();
                gate.path("reasons").forEach(x -> reasons.add(x.asText()));
                p.line("publish gate refused: " + String.join("; ", reasons));
            }
        }
        if (job.hasNonNull("fine_tuned_model")) {
            p.line("published " + job.path("fine_tuned_model").asText() + (job.path("activate").asBoolean()
                    ? " (active: '" + job.path("suffix").asText() + "' serves it)" : ""));
        } else if (job.path("status").asText().equals("succeeded")) {
            p.line("nothing published");
        }
    }

    private void sleep() {
        try {
            Thread.sleep(intervalMillis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException(ExitCodes.FAILED, "interrupted (the job keeps running: loragate jobs watch)");
        }
    }
}
