package io.loragate.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;

/** {@code loragate models}: the base model and the caller's adapters ({@code GET /v1/models}). */
@Command(name = "models", description = "List the base model and your adapters (what 'model' accepts).")
class ModelsCommand extends ApiCommand {

    @Override
    public Integer call() {
        JsonNode r = api().get("/v1/models");
        if (printedJson(r)) {
            return ExitCodes.OK;
        }
        List<List<String>> rows = new ArrayList<>();
        for (JsonNode m : r.path("data")) {
            boolean adapter = !m.path("parent").isNull() && !m.path("parent").isMissingNode();
            rows.add(Printer.row(m.path("id").asText(), adapter ? "adapter" : "base", adapter ? m.path("parent").asText() : null,
                    adapter ? m.path("active_version").asText() : null, m.path("owned_by").asText(null)));
        }
        printer().table(List.of("ID", "KIND", "BASE", "ACTIVE", "OWNER"), rows);
        return ExitCodes.OK;
    }

    /** The base model's id: the entry without a parent. */
    static String baseModel(Api api) {
        for (JsonNode m : api.get("/v1/models").path("data")) {
            if (m.path("parent").isNull() || m.path("parent").isMissingNode()) {
                return m.path("id").asText();
            }
        }
        throw new CliException(ExitCodes.SERVER_ERROR, "the server lists no base model");
    }
}
