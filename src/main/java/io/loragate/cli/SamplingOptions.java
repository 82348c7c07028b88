package io.loragate.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import picocli.CommandLine.Option;

/** The sampling options {@code complete} and {@code chat} share (a picocli mixin). */
class SamplingOptions {

    @Option(names = {"-m", "--model"}, required = true, description = "the base model, an adapter name or NAME@VERSION")
    String model;

    @Option(names = "--temperature", defaultValue = "0", description = "0 is greedy (default: ${DEFAULT-VALUE})")
    double temperature;

    @Option(names = "--top-p")
    Double topP;

    @Option(names = "--seed")
    Long seed;

    @Option(names = "--stop", description = "a stop string (repeatable)")
    List<String> stop;

    @Option(names = "--no-stream", description = "wait for the whole answer")
    boolean noStream;

    /** A request body naming the model, with these options and {@code maxTokens}. */
    ObjectNode body(int maxTokens) {
        ObjectNode body = Api.JSON.createObjectNode().put("model", model);
        body.put("max_tokens", maxTokens).put("temperature", temperature);
        if (topP != null) {
            body.put("top_p", topP);
        }
        if (seed != null) {
            body.put("seed", seed);
        }
        if (stop != null) {
            stop.forEach(body.putArray("stop")::add);
        }
        return body;
    }
}
