package io.loragate.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code loragate chat}: one chat turn with the model's chat template, streamed ({@code /v1/chat/completions}). */
@Command(name = "chat", description = "Send a chat message; the answer is printed as it is generated.")
class ChatCommand extends ApiCommand {

    @Option(names = {"-m", "--model"}, required = true, description = "the base model, an adapter name or NAME@VERSION")
    String model;

    @Parameters(paramLabel = "MESSAGE", arity = "1..*", description = "the user's message (words are joined by spaces)")
    List<String> message;

    @Option(names = "--system", description = "a system message first")
    String system;

    @Option(names = "--max-tokens", defaultValue = "256")
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
        ObjectNode body = Api.JSON.createObjectNode().put("model", model);
        ArrayNode messages = body.putArray("messages");
        if (system != null) {
            messages.addObject().put("role", "system").put("content", system);
        }
        messages.addObject().put("role", "user").put("content", String.join(" ", message));
        CompleteCommand.sampling(body, maxTokens, temperature, topP, seed, stop);
        return CompleteCommand.run(this, "/v1/chat/completions", body, noStream, c -> c.path("delta").path("content").asText(""),
                r -> r.path("choices").path(0).path("message").path("content").asText(""));
    }
}
