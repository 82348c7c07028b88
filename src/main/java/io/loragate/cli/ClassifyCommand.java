package io.loragate.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code loragate classify}: labels with their probabilities ({@code /v1/classifications}). */
@Command(name = "classify", description = "Classify texts with a classification adapter (one label per TEXT).")
class ClassifyCommand extends ApiCommand {

    @Option(names = {"-m", "--model"}, required = true, description = "an adapter name or NAME@VERSION with a classification head")
    String model;

    @Parameters(paramLabel = "TEXT", arity = "1..*", description = "each argument is one input (quote sentences)")
    List<String> texts;

    @Override
    public Integer call() {
        ObjectNode body = Api.JSON.createObjectNode().put("model", model);
        texts.forEach(body.putArray("input")::add);
        JsonNode r = api().post("/v1/classifications", body);
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
