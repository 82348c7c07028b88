package io.loragate.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code loragate recommend FILE}: which adaptation method a dataset should get ({@code /v1/recommendations}). */
@Command(name = "recommend", description = "Rank adaptation methods for a dataset (a file id, or a local file uploaded first).")
class RecommendCommand extends ApiCommand {

    @Parameters(paramLabel = "FILE", description = "a file id (file-...) or a local JSON Lines file")
    String file;

    @Option(names = "--task", description = "supervised or classification (default: from the file's format)")
    String task;

    @Option(names = "--top-k", description = "how many ranked methods")
    Integer topK;

    @Option(names = "--max-train-minutes", description = "budget: training time")
    Double maxTrainMinutes;

    @Option(names = "--max-adapter-bytes", description = "budget: adapter size")
    Long maxAdapterBytes;

    @Override
    public Integer call() {
        String id = file;
        if (!file.startsWith("file-") || Files.exists(Path.of(file))) {
            JsonNode f = FilesCommand.upload(this, Path.of(file), "fine-tune");
            id = f.path("id").asText();
            if (!printer().json()) {
                printer().line("uploaded " + file + " as " + id);
            }
        }
        ObjectNode body = Api.JSON.createObjectNode().put("training_file", id);
        if (task != null) {
            body.put("task", task);
        }
        if (topK != null) {
            body.put("top_k", topK);
        }
        if (maxTrainMinutes != null || maxAdapterBytes != null) {
            ObjectNode b = body.putObject("budget");
            if (maxTrainMinutes != null) {
                b.put("max_train_minutes", maxTrainMinutes);
            }
            if (maxAdapterBytes != null) {
                b.put("max_adapter_bytes", maxAdapterBytes);
            }
        }
        JsonNode r = api().post("/v1/recommendations", body);
        if (printedJson(r)) {
            return ExitCodes.OK;
        }
        JsonNode d = r.path("dataset");
        JsonNode s = r.path("shift");
        printer().line("dataset: " + Printer.text(d.path("examples")) + " " + Printer.text(d.path("format")) + " examples ("
                + Printer.text(r.path("regime")) + "), domain shift " + Printer.text(s.path("level")) + " (score "
                + Printer.text(s.path("score")) + ")");
        List<List<String>> rows = new ArrayList<>();
        for (JsonNode m : r.path("methods")) {
            JsonNode c = m.path("compute");
            rows.add(Printer.row(m.path("rank").asText(), m.path("method").asText(), settings(m.path("settings")),
                    Printer.text(m.path("learning_rate")), Printer.text(c.path("trainable_params")),
                    ProgressBar.bytes(c.path("adapter_bytes").asDouble()), ProgressBar.duration(c.path("train_seconds").asDouble())));
        }
        printer().table(List.of("RANK", "METHOD", "SETTINGS", "LR", "PARAMS", "SIZE", "TRAIN TIME"), rows);
        for (JsonNode x : r.path("excluded")) {
            printer().line("excluded " + x.path("method").asText() + ": " + x.path("reasons").path(0).asText());
        }
        JsonNode first = r.path("methods").path(0);
        if (first.isObject()) {
            printer().line("first reason: " + first.path("reasons").path(0).asText());
        }
        return ExitCodes.OK;
    }

    private static String settings(JsonNode s) {
        StringBuilder b = new StringBuilder();
        for (Map.Entry<String, JsonNode> e : s.properties()) {
            if (!e.getValue().isNull()) {
                b.append(b.length() == 0 ? "" : " ").append(e.getKey()).append('=').append(Printer.text(e.getValue()));
            }
        }
        return b.length() == 0 ? "-" : b.toString();
    }
}
