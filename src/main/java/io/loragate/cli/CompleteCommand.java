package io.loragate.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code loragate complete}: a text completion, streamed token by token ({@code /v1/completions}). */
@Command(name = "complete", description = "Complete a prompt; tokens are printed as they are generated.")
class CompleteCommand extends ApiCommand {

    @Mixin
    SamplingOptions sampling;

    @Parameters(paramLabel = "PROMPT", arity = "1..*", description = "the prompt (words are joined by spaces)")
    List<String> prompt;

    @Option(names = "--max-tokens", defaultValue = "64")
    int maxTokens;

    @Override
    public Integer call() {
        ObjectNode body = sampling.body(maxTokens).put("prompt", String.join(" ", prompt));
        run(this, "/v1/completions", body, sampling.noStream, c -> c.path("text").asText(""),
                r -> r.path("choices").path(0).path("text").asText(""));
        return ExitCodes.OK;
    }

    /**
     * Streams unless {@code -o json} or {@code --no-stream}: each chunk's text is printed as it
     * comes, then the finish reason on its own line; {@code -o json} prints the whole answer.
     * Answers the generated text.
     */
    static String run(ApiCommand c, String path, ObjectNode body, boolean noStream, java.util.function.Function<JsonNode, String> chunkText,
            java.util.function.Function<JsonNode, String> wholeText) {
        if (c.printer().json() || noStream) {
            JsonNode r = c.api().post(path, body);
            if (!c.printedJson(r)) {
                c.printer().line(wholeText.apply(r));
                c.err().println("[" + r.path("model").asText() + ", finish: " + r.path("choices").path(0).path("finish_reason").asText()
                        + ", " + r.path("usage").path("completion_tokens").asText() + " tokens]");
                c.err().flush();
            }
            return wholeText.apply(r);
        }
        body.put("stream", true);
        String[] finish = {null, null};
        StringBuilder text = new StringBuilder();
        c.api().stream(path, body, chunk -> {
            JsonNode choice = chunk.path("choices").path(0);
            String piece = chunkText.apply(choice);
            text.append(piece);
            c.printer().out().print(piece);
            c.printer().out().flush();
            if (choice.hasNonNull("finish_reason")) {
                finish[0] = choice.path("finish_reason").asText();
            }
            finish[1] = chunk.path("model").asText();
        });
        c.printer().line("");
        c.err().println("[" + finish[1] + ", finish: " + finish[0] + "]");
        c.err().flush();
        return text.toString();
    }
}
