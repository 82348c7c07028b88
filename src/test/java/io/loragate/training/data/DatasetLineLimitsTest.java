package io.loragate.training.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.Fixtures;
import io.loragate.common.LoragateException;
import io.loragate.model.TextTokenizer;
import io.loragate.runtime.ChatTemplate;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tenant isolation (docs/security.md): one dataset line cannot make validation do unbounded work. A chat of 200,000 messages, a
 * line nested thousands deep and a file of thousands of distinct labels are bad lines naming their
 * bound (found by a streaming scan, before any tree is built or the template renders), the lines
 * around them still count, and validations beyond the process bound are refused.
 */
class DatasetLineLimitsTest {

    static TextTokenizer tok;
    static ChatTemplate template;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() {
        tok = TextTokenizer.load(Fixtures.hf("tiny-llama"));
        template = ChatTemplate.load(Fixtures.hf("tiny-llama"));
    }

    @AfterAll
    static void close() {
        tok.close();
    }

    static final String OK = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"hello\"}]}";

    static String chat(int messages) {
        StringBuilder s = new StringBuilder("{\"messages\":[");
        for (int i = 0; i < messages; i++) {
            s.append(i == 0 ? "" : ",").append("{\"role\":\"").append(i % 2 == 0 ? "user" : "assistant")
                    .append("\",\"content\":\"m").append(i).append("\"}");
        }
        return s.append("]}").toString();
    }

    Path file(List<String> lines) throws IOException {
        Path f = Files.createTempFile(tmp, "ds", ".jsonl");
        Files.write(f, lines);
        return f;
    }

    @Test
    void aChatOf200000MessagesIsABadLineNamingTheBound() throws IOException {
        DatasetParser parser = new DatasetParser(tok, template);
        DatasetReport r = parser.validate(file(List.of(OK, chat(200_000), OK, chat(1000))), 64);
        assertEquals(3, r.examples()); // a chat of exactly the bound is fine
        assertEquals(1, r.errorCount());
        assertEquals(2, r.errors().get(0).line());
        assertEquals("more than 1000 messages (loragate.files.max-messages-per-line)", r.errors().get(0).reason());
        assertEquals(3, parser.examples(file(List.of(OK, chat(200_000), OK, chat(1000)))).size());

        DatasetParser.LineLimits three = new DatasetParser.LineLimits(3, 16, 1000);
        DatasetParser tight = new DatasetParser(tok, template, three);
        DatasetReport t = tight.validate(file(List.of(OK, chat(4), chat(3))), 64);
        assertEquals(2, t.examples());
        assertEquals("more than 3 messages (loragate.files.max-messages-per-line)", t.errors().get(0).reason());
        // messages nested inside a message do not count as messages, and other arrays are not 'messages'
        assertNull(DatasetParser.parse("{\"messages\":[{\"role\":\"user\",\"content\":\"a\",\"x\":[1,2,3,4,5]},"
                + "{\"role\":\"assistant\",\"content\":\"b\"}],\"other\":[1,2,3,4,5,6]}", three, three.scanner()).error());
    }

    @Test
    void aDeeplyNestedLineIsABadLineNamingTheBound() throws IOException {
        String deep = "{\"text\":\"a\",\"x\":" + "[".repeat(5000) + "]".repeat(5000) + "}";
        String seventeen = "{\"text\":\"a\",\"x\":" + "[".repeat(16) + "]".repeat(16) + "}";
        String sixteen = "{\"text\":\"a\",\"x\":" + "[".repeat(15) + "]".repeat(15) + "}";
        DatasetReport r = new DatasetParser(tok, template).validate(file(List.of(deep, seventeen, sixteen, "{\"text\":\"b\"}")), 64);
        assertEquals(2, r.examples());
        assertEquals(List.of(1, 2), r.errors().stream().map(DatasetReport.LineError::line).toList());
        for (DatasetReport.LineError e : r.errors()) {
            assertEquals("nesting depth over 16 (loragate.files.max-line-depth)", e.reason());
        }
    }

    @Test
    void aHugeLabelSetStopsAtTheBoundInFileOrder() throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 5000; i++) {
            lines.add("{\"text\":\"t" + i + "\",\"label\":\"L" + i + "\"}");
        }
        lines.add("{\"text\":\"again\",\"label\":\"L0\"}"); // a label already admitted is fine after the bound
        lines.add("{\"text\":\"long\",\"label\":\"" + "x".repeat(DatasetParser.MAX_LABEL_LENGTH + 1) + "\"}");
        DatasetParser parser = new DatasetParser(tok, template);
        Path f = file(lines);
        DatasetReport r = parser.validate(f, 64);
        assertEquals(1001, r.examples());
        assertEquals(1000, r.labelCounts().size());
        assertEquals(2, r.labelCounts().get("L0"));
        assertEquals(4001, r.errorCount());
        assertEquals(1001, r.errors().get(0).line());
        assertEquals("more than 1000 distinct labels (loragate.files.max-labels)", r.errors().get(0).reason());
        assertEquals("'label' longer than 256 characters", DatasetParser.parse(lines.get(lines.size() - 1)).error());
        assertEquals(r.examples(), parser.examples(f).size()); // training sees exactly the examples the report counts
    }

    @Test
    void validationsBeyondTheBoundAreRefusedAtOnce() throws Exception {
        ValidationGate gate = new ValidationGate(2);
        CountDownLatch holding = new CountDownLatch(2);
        CountDownLatch release = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<Integer>> held = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                held.add(pool.submit(() -> gate.run(() -> {
                    holding.countDown();
                    try {
                        release.await(30, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return 1;
                })));
            }
            assertTrue(holding.await(30, TimeUnit.SECONDS));
            assertEquals(2, gate.running());
            LoragateException e = assertThrows(LoragateException.class, () -> gate.run(() -> 3));
            assertEquals(LoragateException.Kind.RESOURCE_EXHAUSTED, e.kind());
            assertEquals(ValidationGate.RETRY_AFTER_SECONDS, e.retryAfterSeconds());
            assertTrue(e.getMessage().contains("loragate.files.max-concurrent-validations"), e.getMessage());
            release.countDown();
            for (Future<Integer> f : held) {
                assertEquals(1, f.get(30, TimeUnit.SECONDS));
            }
            assertEquals(0, gate.running());
            assertEquals(3, gate.run(() -> 3)); // permits come back, also after a failure
            assertThrows(IllegalStateException.class, () -> gate.run(() -> {
                throw new IllegalStateException("boom");
            }));
            assertEquals(0, gate.running());
        } finally {
            release.countDown();
            pool.shutdownNow();
        }
    }
}
