package io.loragate.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code loragate embed}: sentence embeddings ({@code /v1/embeddings}); {@code -o json} gives the vectors. */
@Command(name = "embed", description = "Embed texts (encoder bases); prints dimensions and the first values, -o json the vectors.")
class EmbedCommand extends ApiCommand {

    @Option(names = {"-m", "--model"}, required = true, description = "the base model, an adapter name or NAME@VERSION")
    String model;

    @Parameters(paramLabel = "TEXT", arity = "1..*", description = "each argument is one input (quote sentences)")
    List<String> texts;

    @Override
    public Integer call() {
        ObjectNode body = Api.JSON.createObjectNode().put("model", model);
        texts.forEach(body.putArray("input")::add);
        JsonNode r = api().post("/v1/embeddings", body);
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
