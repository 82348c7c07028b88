package io.loragate.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code loragate classify}: labels with their probabilities ({@code /v1/classifications}). */
@Command(name = "classify", description = "Classify texts with a classification adapter (one label per TEXT).")
class ClassifyCommand extends TextsCommand {

    @Option(names = {"-m", "--model"}, required = true, description = "an adapter name or NAME@VERSION with a classification head")
    String model;

    @Override
    public Integer call() {
        JsonNode r = postTexts("/v1/classifications", model);
        if (printedJson(r)) {
            return ExitCodes.OK;
        }
        List<List<String>> rows = new ArrayList<>();
        for (JsonNode d : r.path("data")) {
            String label = d.path("label").asText();
            rows.add(Printer.row(label, String.format(java.util.Locale.ROOT, "%.3f", d.path("scores").path(label).asDouble()),
                    texts.get(d.path("index").asInt())));
        }
        printer().table(List.of("LABEL", "SCORE", "TEXT"), rows);
        printer().line("(" + r.path("model").asText() + ")");
        return ExitCodes.OK;
    }
}
