package io.loragate.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code loragate embed}: sentence embeddings ({@code /v1/embeddings}); {@code -o json} gives the vectors. */
@Command(name = "embed", description = "Embed texts (encoder bases); prints dimensions and the first values, -o json the vectors.")
class EmbedCommand extends TextsCommand {

    @Option(names = {"-m", "--model"}, required = true, description = "the base model, an adapter name or NAME@VERSION")
    String model;

    @Override
    public Integer call() {
        JsonNode r = postTexts("/v1/embeddings", model);
        if (printedJson(r)) {
            return ExitCodes.OK;
        }
        List<List<String>> rows = new ArrayList<>();
        for (JsonNode d : r.path("data")) {
            JsonNode v = d.path("embedding");
            StringBuilder head = new StringBuilder("[");
            for (int i = 0; i < Math.min(4, v.size()); i++) {
                head.append(i == 0 ? "" : ", ").append(String.format(java.util.Locale.ROOT, "%.4f", v.get(i).asDouble()));
            }
            head.append(v.size() > 4 ? ", ...]" : "]");
            rows.add(Printer.row(d.path("index").asText(), v.size(), head, texts.get(d.path("index").asInt())));
        }
        printer().table(List.of("#", "DIMS", "VECTOR", "TEXT"), rows);
        return ExitCodes.OK;
    }
}
