package io.loragate.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.common.LoragateException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hugging Face chat templates rendered by Jinjava, and the fallback for models without one. */
class ChatTemplateTest {

    @TempDir
    Path dir;

    static final List<ChatTemplate.Message> CHAT = List.of(
            new ChatTemplate.Message("system", "Be brief."),
            new ChatTemplate.Message("user", "Hi!"));

    @Test
    void chatMlTemplateOfSmolLm2RendersAsTransformersDoes() throws Exception {
        // the template SmolLM2-Instruct ships (ChatML), as a JSON string in tokenizer_config.json
        String template = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
                + "{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}{% endif %}"
                + "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
                + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": " + new com.fasterxml.jackson.databind.ObjectMapper()
                .writeValueAsString(template) + ", \"bos_token\": \"<|im_start|>\", \"eos_token\": {\"content\": \"<|im_end|>\"}}");
        ChatTemplate t = ChatTemplate.load(dir);
        assertTrue(t.fromModel());
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n", t.render(CHAT));
        assertEquals("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
                + "<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n", t.render(List.of(CHAT.get(1))));
    }

    @Test
    void raiseExceptionInATemplateBecomesAClearError() throws Exception {
        String template = "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
                + "{% for m in messages %}{{ bos_token }}[{{ m['role'] }}] {{ m['content'] }}{% endfor %}";
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": " + new com.fasterxml.jackson.databind.ObjectMapper()
                .writeValueAsString(template) + ", \"bos_token\": \"<s>\"}");
        ChatTemplate t = ChatTemplate.load(dir);
        LoragateException e = assertThrows(LoragateException.class, () -> t.render(CHAT));
        assertTrue(e.getMessage().contains("System role not supported"), e.getMessage());
        assertEquals("<s>[user] Hi!", t.render(List.of(CHAT.get(1))));
    }

    @Test
    void modelsWithoutATemplateGetTheDocumentedTranscript() {
        ChatTemplate t = ChatTemplate.load(dir);
        assertFalse(t.fromModel());
        assertEquals("System: Be brief.\nUser: Hi!\nAssistant:", t.render(CHAT));
    }
}
