package io.loragate.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.FatalTemplateErrorsException;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's chat template: the Jinja {@code chat_template} of its {@code tokenizer_config.json},
 * rendered by Jinjava with the variables transformers passes ({@code messages},
 * {@code add_generation_prompt}, {@code bos_token}, {@code eos_token}) and its
 * {@code raise_exception}. A model without a template gets {@link #FALLBACK}, a plain transcript:
 * <pre>
 * System: ...
 * User: ...
 * Assistant:</pre>
 */
public final class ChatTemplate {

    /** The documented template for models that ship none. */
    public static final String FALLBACK = "{% for m in messages %}{{ m['role'] | capitalize }}: {{ m['content'] }}\n{% endfor %}"
            + "{% if add_generation_prompt %}Assistant:{% endif %}";

    /** One chat message. */
    public record Message(String role, String content) {
    }

    /** The roles a chat message may have (OpenAI's). */
    public static final List<String> ROLES = List.of("system", "developer", "user", "assistant", "tool");

    private final String template;
    private final boolean builtIn;
    private final String bos;
    private final String eos;
    private final Jinjava jinjava;

    private ChatTemplate(String template, boolean builtIn, String bos, String eos) {
        this.template = template;
        this.builtIn = builtIn;
        this.bos = bos;
        this.eos = eos;
        this.jinjava = new Jinjava(JinjavaConfig.newBuilder().withFailOnUnknownTokens(false).build());
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", ChatTemplate.class,
                "raiseException", String.class));
    }

    /** Reads the template of a model folder ({@code tokenizer_config.json}), or the fallback. */
    public static ChatTemplate load(Path modelFolder) {
        Path file = modelFolder.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(file)) {
            return new ChatTemplate(FALLBACK, false, "", "");
        }
        try {
            JsonNode c = new ObjectMapper().readTree(file.toFile());
            JsonNode t = c.get("chat_template");
            String template = null;
            if (t != null && t.isTextual()) {
                template = t.asText();
            } else if (t != null && t.isArray()) {
                for (JsonNode named : t) {
                    if ("default".equals(named.path("name").asText()) || template == null) {
                        template = named.path("template").asText(null);
                    }
                }
            }
            if (template == null) {
                Path jinja = modelFolder.resolve("chat_template.jinja");
                if (Files.isRegularFile(jinja)) {
                    template = Files.readString(jinja);
                }
            }
            return template == null ? new ChatTemplate(FALLBACK, false, token(c, "bos_token"), token(c, "eos_token"))
                    : new ChatTemplate(template, true, token(c, "bos_token"), token(c, "eos_token"));
        } catch (IOException e) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, file + ": malformed JSON: " + e.getMessage().split("\n")[0]);
        }
    }

    private static String token(JsonNode c, String key) {
        JsonNode n = c.get(key);
        if (n == null || n.isNull()) {
            return "";
        }
        return n.isTextual() ? n.asText() : n.path("content").asText("");
    }

    /** True when the model ships its own template (its output already holds the special tokens). */
    public boolean fromModel() {
        return builtIn;
    }

    /** Renders the conversation, ending with the assistant's turn opened. */
    public String render(List<Message> messages) {
        return render(messages, true);
    }

    /**
     * Renders the conversation; with {@code addGenerationPrompt} false it ends after the last
     * message (how training data is rendered).
     */
    public String render(List<Message> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> msgs = messages.stream().map(m -> Map.<String, Object>of("role", m.role(), "content", m.content())).toList();
        Map<String, Object> ctx = new HashMap<>();
        ctx.put("messages", msgs);
        ctx.put("add_generation_prompt", addGenerationPrompt);
        ctx.put("bos_token", bos);
        ctx.put("eos_token", eos);
        RAISED.remove();
        try {
            var result = jinjava.renderForResult(template, ctx);
            if (RAISED.get() != null) {
                throw new LoragateException(Kind.INVALID_ARGUMENT, "the chat template refused the messages: " + RAISED.get())
                        .withParam("messages");
            }
            if (!result.getErrors().isEmpty()) {
                var err = result.getErrors().get(0);
                if (err.getSeverity() == com.hubspot.jinjava.interpret.TemplateError.ErrorType.FATAL) {
                    throw new LoragateException(Kind.INVALID_ARGUMENT, "the model's chat template failed: " + err.getMessage());
                }
            }
            return result.getOutput();
        } catch (FatalTemplateErrorsException e) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "the model's chat template failed: " + e.getMessage());
        } finally {
            RAISED.remove();
        }
    }

    /** The message of a {@code raise_exception} call during the current render (Jinjava wraps the exception). */
    private static final ThreadLocal<String> RAISED = new ThreadLocal<>();

    /** {@code raise_exception(msg)} as transformers defines it for templates. */
    public static String raiseException(String message) {
        RAISED.set(message);
        throw new IllegalArgumentException(message);
    }
}
