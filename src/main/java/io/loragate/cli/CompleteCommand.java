package io.loragate.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code loragate complete}: a text completion, streamed token by token ({@code /v1/completions}). */
@Command(name = "complete", description = "Complete a prompt; tokens are printed as they are generated.")
class CompleteCommand extends ApiCommand {

    @Option(names = {"-m", "--model"}, required = true, description = "the base model, an adapter name or NAME@VERSION")
    String model;

    @Parameters(paramLabel = "PROMPT", arity = "1..*", description = "the prompt (words are joined by spaces)")
    List<String> prompt;

    @Option(names = "--max-tokens", defaultValue = "64")
    int maxTokens;

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

    @Override
    public Integer call() {
        ObjectNode body = Api.JSON.createObjectNode().put("model", model).put("prompt", String.join(" ", prompt));
        sampling(body, maxTokens, temperature, topP, seed, stop);
        return run(this, "/v1/completions", body, noStream, c -> c.path("text").asText(""),
                r -> r.path("choices").path(0).path("text").asText(""));
    }

    static void sampling(ObjectNode body, int maxTokens, double temperature, Double topP, Long seed, List<String> stop) {
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
    }

    /**
     * Streams unless {@code -o json} or {@code --no-stream}: each chunk's text is printed as it
     * comes, then the finish reason on its own line; {@code -o json} prints the whole answer.
     */
    static int run(ApiCommand c, String path, ObjectNode body, boolean noStream, java.util.function.Function<JsonNode, String> chunkText,
            java.util.function.Function<JsonNode, String> wholeText) {
        if (c.printer().json() || noStream) {
            JsonNode r = c.api().post(path, body);
            if (!c.printedJson(r)) {
                c.printer().line(wholeText.apply(r));
                c.err().println("[" + r.path("model").asText() + ", finish: " + r.path("choices").path(0).path("finish_reason").asText()
                        + ", " + r.path("usage").path("completion_tokens").asText() + " tokens]");
                c.err().flush();
            }
            return ExitCodes.OK;
        }
        body.put("stream", true);
        String[] finish = {null, null};
        c.api().stream(path, body, chunk -> {
            JsonNode choice = chunk.path("choices").path(0);
            c.printer().out().print(chunkText.apply(choice));
            c.printer().out().flush();
            if (choice.hasNonNull("finish_reason")) {
                finish[0] = choice.path("finish_reason").asText();
            }
            finish[1] = chunk.path("model").asText();
        });
        c.printer().line("");
        c.err().println("[" + finish[1] + ", finish: " + finish[0] + "]");
        c.err().flush();
        return ExitCodes.OK;
    }
}
