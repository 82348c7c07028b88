package io.loragate.training.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.Fixtures;
import io.loragate.common.LoragateException;
import io.loragate.model.TextTokenizer;
import io.loragate.training.trainer.TokenBatch;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Which tokens each dataset format trains on, with the tiny-llama tokenizer (BOS added, EOS = 2). */
class CausalExamplesTest {

    static final long EOS = 2;
    static TextTokenizer tok;
    static CausalExamples ex;

    @BeforeAll
    static void load() {
        tok = TextTokenizer.load(Fixtures.hf("tiny-llama"));
        ex = new CausalExamples(tok, EOS, 256);
    }

    @AfterAll
    static void close() {
        tok.close();
    }

    /** The text of the target tokens (EOS shown as {@code </s>}). */
    static String targets(TrainingExample e) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < e.length(); i++) {
            if (e.target()[i]) {
                s.append(e.ids()[i] == EOS ? "</s>" : tok.decodeRaw(new long[] {e.ids()[i]}));
            }
        }
        return s.toString();
    }

    @Test
    void plainTextTrainsOnEveryTokenAndTheEos() {
        String text = "the software is provided";
        TrainingExample e = ex.text(text);
        long[] plain = tok.encode(text);
        assertArrayEquals(plain, Arrays.copyOf(e.ids(), plain.length), "the ids inference would see");
        assertEquals(EOS, e.ids()[e.length() - 1]);
        assertFalse(e.target()[0], "BOS predicts nothing");
        assertEquals(e.length() - 1, e.targetCount());
        assertEquals(text + "</s>", targets(e));
    }

    @Test
    void promptCompletionTrainsOnTheCompletionOnly() {
        TrainingExample e = ex.promptCompletion("Q: is it free?\nA:", " yes, free of charge");
        assertEquals(" yes, free of charge</s>", targets(e));
        assertArrayEquals(tok.encode("Q: is it free?\nA: yes, free of charge"), Arrays.copyOf(e.ids(), e.length() - 1));
    }

    @Test
    void chatTrainsOnAssistantContentAndWhatClosesTheTurn() {
        Function<List<ChatMessage>, String> transcript = msgs -> {
            StringBuilder s = new StringBuilder();
            for (ChatMessage m : msgs) {
                s.append(m.role().equals("user") ? "User: " : m.role().equals("system") ? "System: " : "Assistant: ")
                        .append(m.content()).append("\n");
            }
            return s.toString();
        };
        TrainingExample e = ex.chat(List.of(
                new ChatMessage("system", "be brief"),
                new ChatMessage("user", "hi"),
                new ChatMessage("assistant", "hello there"),
                new ChatMessage("user", "and the mat?"),
                new ChatMessage("assistant", "the cat sat on it")), transcript);
        // the tiny vocabulary has no " hello": the space before it stays with the header
        assertEquals("hello there\n the cat sat on it\n", targets(e));
        assertThrows(LoragateException.class, () -> ex.chat(List.of(new ChatMessage("user", "hi")), transcript));
    }

    @Test
    void spansAreJavaIndicesEvenBeyondTheBasicPlane() {
        String prompt = "emoji 😀😀 then";
        TrainingExample e = ex.promptCompletion(prompt, " the software");
        assertEquals(" the software</s>", targets(e));
    }

    @Test
    void longExamplesKeepTheirStart() {
        TrainingExample e = new CausalExamples(tok, EOS, 4).text("the software is provided as is");
        assertEquals(4, e.length());
        assertArrayEquals(Arrays.copyOf(tok.encode("the software is provided as is"), 4), e.ids());
        assertTrue(e.targetCount() == 3);
    }

    @Test
    void aBatchIsLeftPaddedAndShifted() {
        TrainingExample a = new TrainingExample(new long[] {1, 10, 11, 12}, new boolean[] {false, false, true, true});
        TrainingExample b = new TrainingExample(new long[] {1, 20}, new boolean[] {false, true});
        TokenBatch batch = TokenBatch.of(List.of(a, b));
        assertEquals(4, batch.width());
        // row 0: columns 0..3 = 1 10 11 12; logits at 1 predict 11, at 2 predict 12
        // row 1: columns 2..3 = 1 20; logits at column 2 predict 20
        assertArrayEquals(new long[] {0, 11, 12, 0, 0, 20}, batch.targets());
        assertArrayEquals(new float[] {0, 1, 1, 0, 0, 1}, batch.weights());
        assertEquals(3, batch.targetCount());
        assertEquals(6, batch.tokenCount());
    }
}
