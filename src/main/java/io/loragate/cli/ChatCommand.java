package io.loragate.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code loragate chat}: a chat with the model's chat template, streamed ({@code /v1/chat/completions}).
 * One turn from the arguments; with {@code --interactive}, further user turns are read from standard
 * input, a line each, and every request carries the whole conversation so far.
 */
@Command(name = "chat", description = {"Send a chat message; the answer is printed as it is generated.",
        "With -i, keep chatting: each line read from standard input is the next user turn (an empty line or end of input stops)."})
class ChatCommand extends ApiCommand {

    @Mixin
    SamplingOptions sampling;

    @Parameters(paramLabel = "MESSAGE", arity = "0..*", description = "the user's message (words are joined by spaces)")
    List<String> message;

    @Option(names = "--system", description = "a system message first")
    String system;

    @Option(names = "--max-tokens", defaultValue = "256")
    int maxTokens;

    @Option(names = {"-i", "--interactive"}, description = "read further user turns from standard input")
    boolean interactive;

    @Override
    public Integer call() {
        if ((message == null || message.isEmpty()) && !interactive) {
            throw new CommandLine.ParameterException(spec.commandLine(), "give a MESSAGE, or -i to read the conversation from standard input");
        }
        ArrayNode conversation = Api.JSON.createArrayNode();
        if (system != null) {
            conversation.addObject().put("role", "system").put("content", system);
        }
        if (message != null && !message.isEmpty()) {
            turn(conversation, String.join(" ", message));
        }
        if (interactive) {
            BufferedReader in = root().stdin();
            for (String line = prompt(in); line != null && !line.isBlank(); line = prompt(in)) {
                turn(conversation, line);
            }
        }
        return ExitCodes.OK;
    }

    /** Sends the conversation with one more user message and keeps the assistant's answer in it. */
    private void turn(ArrayNode conversation, String userText) {
        conversation.addObject().put("role", "user").put("content", userText);
        ObjectNode body = sampling.body(maxTokens);
        body.set("messages", conversation.deepCopy());
        String answer = CompleteCommand.run(this, "/v1/chat/completions", body, sampling.noStream,
                c -> c.path("delta").path("content").asText(""), r -> r.path("choices").path(0).path("message").path("content").asText(""));
        conversation.addObject().put("role", "assistant").put("content", answer);
    }

    /** The next user line; a prompt on the terminal only, so piped input gives clean output. */
    private String prompt(BufferedReader in) {
        if (root().terminal()) {
            err().print("you> ");
            err().flush();
        }
        try {
            return in.readLine();
        } catch (IOException e) {
            throw new CliException(ExitCodes.USAGE, "cannot read standard input: " + e.getMessage());
        }
    }
}
