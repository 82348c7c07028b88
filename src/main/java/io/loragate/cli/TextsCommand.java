package io.loragate.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import picocli.CommandLine.Parameters;

/** Base of {@code classify} and {@code embed}: texts given as arguments, sent as the request's {@code input}. */
abstract class TextsCommand extends ApiCommand {

    @Parameters(paramLabel = "TEXT", arity = "1..*", description = "each argument is one input (quote sentences)")
    List<String> texts;

    /** POSTs {@code {"model": model, "input": texts}} to {@code path}. */
    JsonNode postTexts(String path, String model) {
        ObjectNode body = Api.JSON.createObjectNode().put("model", model);
        texts.forEach(body.putArray("input")::add);
        return api().post(path, body);
    }
}
