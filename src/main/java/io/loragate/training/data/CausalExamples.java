package io.loragate.training.data;

import io.loragate.common.LoragateException;
import io.loragate.model.TextTokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * Turns the supervised dataset formats into {@link TrainingExample}s for one base model's
 * tokenizer. Each example is tokenized once as a whole (so the ids are exactly what inference
 * would see for the same text), and a token is a target when its characters overlap a part of the
 * text that is trained on: everything for plain text, the completion for prompt/completion,
 * each assistant turn's content (and what the template closes it with) for chat. Plain text and
 * completions end with the model's EOS token, trained on, so that the adapter learns to stop.
 * Examples longer than {@code maxLength} tokens keep their first {@code maxLength}; {@link #cut()}
 * counts them.
 */
public final class CausalExamples {

    private final TextTokenizer tokenizer;
    private final Long eos;
    private final int maxLength;
    private final java.util.concurrent.atomic.AtomicInteger cut = new java.util.concurrent.atomic.AtomicInteger();

    /**
     * @param eos       appended (as a target) to text and completions; null: nothing appended
     * @param maxLength longest example in tokens
     */
    public CausalExamples(TextTokenizer tokenizer, Long eos, int maxLength) {
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
        this.eos = eos;
        if (maxLength < 2) {
            throw new IllegalArgumentException("max length must be at least 2 tokens, was " + maxLength);
        }
        this.maxLength = maxLength;
    }

    /** Causal LM on every token. */
    public TrainingExample text(String text) {
        return build(text, List.of(new int[] {0, text.length()}), true);
    }

    /** Loss on the completion only; the prompt is context. */
    public TrainingExample promptCompletion(String prompt, String completion) {
        String text = prompt + completion;
        return build(text, List.of(new int[] {prompt.length(), text.length()}), true);
    }

    /**
     * A dataset example as a causal-LM example: text, prompt + completion, or a chat rendered with
     * {@code template} (without a generation prompt); null for a labeled (classification) example.
     */
    public TrainingExample of(DatasetExample e, io.loragate.runtime.ChatTemplate template) {
        if (e instanceof DatasetExample.Text x) {
            return text(x.text());
        } else if (e instanceof DatasetExample.PromptCompletion x) {
            return promptCompletion(x.prompt(), x.completion());
        } else if (e instanceof DatasetExample.Chat x) {
            return chat(x.messages(), msgs -> template.render(
                    msgs.stream().map(m -> new io.loragate.runtime.ChatTemplate.Message(m.role(), m.content())).toList(), false));
        }
        return null;
    }

    /**
     * Loss on the assistant turns only. {@code render} is the model's chat template applied without
     * a generation prompt; it must be prefix-stable (rendering the first k turns gives a prefix of
     * rendering k+1), which holds for the usual templates. Within an assistant turn's rendered
     * segment, the role header before the content is context and the content plus whatever closes
     * the turn (e.g. an end-of-turn token) is trained on.
     */
    public TrainingExample chat(List<ChatMessage> messages, Function<List<ChatMessage>, String> render) {
        if (messages.stream().noneMatch(ChatMessage::isAssistant)) {
            throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "a chat example needs an assistant turn");
        }
        List<int[]> ranges = new ArrayList<>();
        String previous = "";
        for (int k = 0; k < messages.size(); k++) {
            String rendered = render.apply(messages.subList(0, k + 1));
            if (!rendered.startsWith(previous)) {
                throw new LoragateException(LoragateException.Kind.FAILED_PRECONDITION,
                        "the chat template is not prefix-stable at turn " + k + "; cannot tell which tokens are the assistant's");
            }
            ChatMessage m = messages.get(k);
            if (m.isAssistant()) {
                String segment = rendered.substring(previous.length());
                int at = m.content().isEmpty() ? -1 : segment.indexOf(m.content());
                ranges.add(new int[] {previous.length() + Math.max(0, at), rendered.length()});
            }
            previous = rendered;
        }
        return build(previous, ranges, false);
    }

    /** Tokenizes {@code text}; tokens whose characters overlap a range {@code [from, to)} are targets. */
    TrainingExample build(String text, List<int[]> ranges, boolean appendEos) {
        TextTokenizer.Encoded enc = tokenizer.encodeWithSpans(text);
        int n = enc.ids().length;
        boolean addEos = appendEos && eos != null;
        long[] ids = Arrays.copyOf(enc.ids(), n + (addEos ? 1 : 0));
        boolean[] target = new boolean[ids.length];
        for (int i = 0; i < n; i++) {
            int start = enc.starts()[i];
            int end = enc.ends()[i];
            for (int[] r : ranges) {
                // overlap, not containment: byte-level BPE glues the space before a word to it
                if (start >= 0 && start < r[1] && end > r[0]) {
                    target[i] = true;
                    break;
                }
            }
        }
        if (addEos) {
            ids[n] = eos;
            target[n] = true;
        }
        target[0] = false;
        if (ids.length > maxLength) {
            cut.incrementAndGet();
        }
        return new TrainingExample(ids, target).truncate(maxLength);
    }

    /** How many examples built so far were longer than the maximum length and kept their first tokens only. */
    public int cut() {
        return cut.get();
    }

    /** The longest example in tokens. */
    public int maxLength() {
        return maxLength;
    }
}
