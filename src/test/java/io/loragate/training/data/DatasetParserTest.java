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
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Format detection, every bad-line reason with its line number, and the report's statistics (tiny-llama tokenizer). */
class DatasetParserTest {

    static TextTokenizer tok;
    static ChatTemplate template;
    static DatasetParser parser;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() {
        tok = TextTokenizer.load(Fixtures.hf("tiny-llama"));
        template = ChatTemplate.load(Fixtures.hf("tiny-llama"));
        parser = new DatasetParser(tok, template);
    }

    @AfterAll
    static void close() {
        tok.close();
    }

    static Path resource(String name) {
        try {
            return Path.of(DatasetParserTest.class.getResource("/datasets/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    Path file(String... lines) throws IOException {
        Path f = Files.createTempFile(tmp, "ds", ".jsonl");
        Files.writeString(f, String.join("\n", lines) + "\n");
        return f;
    }

    static Map<Integer, String> errors(DatasetReport r) {
        return r.errors().stream().collect(Collectors.toMap(DatasetReport.LineError::line, DatasetReport.LineError::reason));
    }

    @Test
    void chatWithEveryKindOfBadLine() {
        DatasetReport r = parser.validate(resource("bad_chat.jsonl"), 512);
        assertEquals(DatasetFormat.CHAT, r.format());
        assertEquals(3, r.examples(), r.toString());
        assertEquals(1, r.duplicates(), "line 12 repeats line 1 (the slice does not matter)");
        Map<Integer, String> e = errors(r);
        assertEquals(10, r.errorCount(), e.toString());
        assertEquals(List.of(2, 3, 4, 5, 7, 8, 9, 10, 13, 14), r.errors().stream().map(DatasetReport.LineError::line).toList(),
                "file order, 1-based, the blank line 6 skipped but counted");
        assertTrue(e.get(2).startsWith("invalid JSON: "), e.get(2));
        assertEquals("not a JSON object", e.get(3));
        assertEquals("messages[0]: unknown role 'bot' (expected system, user or assistant)", e.get(4));
        assertEquals("no assistant turn", e.get(5));
        assertEquals("prompt_completion line in a chat dataset", e.get(7));
        assertEquals("messages[0]: missing field 'role'", e.get(8));
        assertEquals("messages[0]: missing field 'content'", e.get(9));
        assertTrue(e.get(10).startsWith("missing field: a line needs 'messages'"), e.get(10));
        assertEquals("'messages' must be an array", e.get(13));
        assertEquals("'slice' must be a string", e.get(14));
        assertEquals(Map.of(), r.labelCounts());

        List<DatasetExample> examples = parser.examples(resource("bad_chat.jsonl"));
        assertEquals(3, examples.size());
        DatasetExample.Chat second = (DatasetExample.Chat) examples.get(1);
        assertEquals("farewell", second.slice());
        assertEquals(List.of(new ChatMessage("system", "Be brief."), new ChatMessage("user", "Bye"),
                new ChatMessage("assistant", "Bye!")), second.messages());
        assertNull(((DatasetExample.Chat) examples.get(0)).slice());
    }

    @Test
    void chatTokensAreTheRenderedTemplate() {
        Path f = resource("chat.jsonl");
        DatasetReport r = parser.validate(f, 512);
        assertEquals(DatasetFormat.CHAT, r.format());
        assertEquals(12, r.examples());
        assertEquals(0, r.errorCount());
        int[] expected = parser.examples(f).stream()
                .map(e -> ((DatasetExample.Chat) e).messages().stream()
                        .map(m -> new ChatTemplate.Message(m.role(), m.content())).toList())
                .mapToInt(msgs -> tok.encode(template.render(msgs, false)).length).sorted().toArray();
        assertStats(expected, r);
    }

    @Test
    void promptCompletionTokensAndTruncation() {
        Path f = resource("prompt_completion.jsonl");
        List<DatasetExample> examples = parser.examples(f);
        assertEquals(12, examples.size());
        DatasetExample.PromptCompletion first = (DatasetExample.PromptCompletion) examples.get(0);
        assertEquals("Q: What is 1+1?\nA:", first.prompt());
        assertEquals(" 2", first.completion());
        int[] lengths = examples.stream().mapToInt(e -> {
            DatasetExample.PromptCompletion pc = (DatasetExample.PromptCompletion) e;
            return tok.encode(pc.prompt() + pc.completion()).length;
        }).sorted().toArray();
        DatasetReport r = parser.validate(f, 512);
        assertEquals(DatasetFormat.PROMPT_COMPLETION, r.format());
        assertStats(lengths, r);
        assertEquals(0, r.truncated());
        // a max length between the shortest and the longest: exactly the longer ones are counted
        int cut = lengths[lengths.length / 2];
        long longer = Arrays.stream(lengths).filter(n -> n > cut).count();
        assertTrue(longer > 0 && longer < lengths.length, Arrays.toString(lengths));
        DatasetReport at = parser.validate(f, cut);
        assertEquals(longer, at.truncated());
        assertEquals(cut, at.maxLength());
        assertEquals(lengths.length, parser.validate(f, lengths[0] - 1).truncated());
    }

    static void assertStats(int[] sorted, DatasetReport r) {
        DatasetReport.TokenStats s = r.tokens();
        assertEquals(sorted[0], s.min());
        assertEquals(sorted[sorted.length - 1], s.max());
        assertEquals(Arrays.stream(sorted).sum(), s.total());
        assertEquals(Arrays.stream(sorted).average().orElseThrow(), s.mean(), 1e-9);
        assertEquals(sorted[(int) Math.ceil(0.5 * sorted.length) - 1], s.p50());
        assertEquals(sorted[(int) Math.ceil(0.95 * sorted.length) - 1], s.p95());
    }

    @Test
    void percentilesAreNearestRank() {
        int[] hundred = new int[100];
        Arrays.setAll(hundred, i -> i + 1);
        assertEquals(50, DatasetParser.percentile(hundred, 50));
        assertEquals(95, DatasetParser.percentile(hundred, 95));
        assertEquals(7, DatasetParser.percentile(new int[] {7}, 95));
        assertEquals(2, DatasetParser.percentile(new int[] {1, 2, 3}, 50));
    }

    @Test
    void promptCompletionBadLines() throws IOException {
        DatasetReport r = parser.validate(file(
                "{\"prompt\": \"a\", \"completion\": \"b\"}",
                "{\"prompt\": \"a\", \"completion\": \"\"}",
                "{\"prompt\": \"a\", \"completion\": \"   \"}",
                "{\"prompt\": \"a\"}",
                "{\"completion\": \"b\"}",
                "{\"prompt\": 3, \"completion\": \"b\"}",
                "{\"text\": \"plain\"}",
                "{\"prompt\": \"\", \"completion\": \"b\", \"extra\": 1}"), 512);
        assertEquals(DatasetFormat.PROMPT_COMPLETION, r.format());
        assertEquals(2, r.examples(), "an empty prompt is fine, unknown fields are ignored");
        assertEquals(Map.of(2, "empty completion", 3, "empty completion", 4, "missing field 'completion'",
                5, "missing field 'prompt'", 6, "'prompt' must be a string", 7, "text line in a prompt_completion dataset"),
                errors(r));
    }

    @Test
    void slicesAreKeptAndBounded() throws IOException {
        String longest = "s".repeat(DatasetParser.MAX_SLICE_LENGTH);
        DatasetReport r = parser.validate(file(
                "{\"text\": \"a\", \"label\": \"x\", \"slice\": \"" + longest + "\"}",
                "{\"text\": \"b\", \"label\": \"y\", \"slice\": \"" + longest + "t\"}",
                "{\"text\": \"c\", \"label\": \"y\", \"slice\": null}"), 512);
        assertEquals(2, r.examples());
        assertEquals(Map.of(2, "'slice' longer than 64 characters"), errors(r));
    }

    @Test
    void classificationLabelsAndTheirErrors() throws IOException {
        DatasetReport r = parser.validate(file(
                "{\"text\": \"good\", \"label\": \"pos\"}",
                "{\"text\": \"bad\", \"label\": \"neg\"}",
                "{\"text\": \"fine\", \"label\": 1}",
                "{\"text\": \"fine\", \"label\": 1}",
                "{\"text\": \"no label\"}",
                "{\"text\": \"null label\", \"label\": null}",
                "{\"text\": \"float\", \"label\": 1.5}",
                "{\"text\": \"empty\", \"label\": \"\"}",
                "{\"text\": \"\", \"label\": \"pos\"}",
                "{\"label\": \"pos\"}",
                "{\"text\": \"ok\", \"label\": \"pos\", \"slice\": \"short\"}"), 512);
        assertEquals(DatasetFormat.CLASSIFICATION, r.format());
        assertEquals(5, r.examples());
        assertEquals(1, r.duplicates());
        assertEquals(Map.of("1", 2, "neg", 1, "pos", 2), r.labelCounts());
        assertEquals(List.of("1", "neg", "pos"), new ArrayList<>(r.labelCounts().keySet()), "sorted by label");
        assertEquals(Map.of(5, "label missing", 6, "label missing", 7, "'label' must be a string or an integer",
                8, "empty label", 9, "empty text", 10, "missing field 'text'"), errors(r));

        List<DatasetExample> ex = parser.examples(resource("topics.jsonl"));
        assertEquals(60, ex.size());
        assertEquals(new DatasetExample.Labeled("The striker scored twice in the second half.", "sports", null), ex.get(0));
        DatasetReport topics = parser.validate(resource("topics.jsonl"), 512);
        assertEquals(Map.of("food", 20, "sports", 20, "tech", 20), topics.labelCounts());
        assertEquals(0, topics.duplicates());
        assertEquals(0, topics.errorCount());
    }

    @Test
    void textFormatBlankLinesCrlfBomAndInvalidUtf8() throws IOException {
        Path f = tmp.resolve("text.jsonl");
        byte[] bom = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};
        byte[] body = ("{\"text\": \"one\"}\r\n\r\n   \n{\"text\": \"two\"}\r\n{\"text\": \"\"}\n").getBytes(StandardCharsets.UTF_8);
        byte[] badUtf8 = {'{', '"', 't', 'e', 'x', 't', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}', '\n'};
        byte[] last = "{\"text\": \"one\"}".getBytes(StandardCharsets.UTF_8); // no final newline
        Files.write(f, concat(bom, body, badUtf8, last));
        DatasetReport r = parser.validate(f, 512);
        assertEquals(DatasetFormat.TEXT, r.format());
        assertEquals(3, r.examples());
        assertEquals(1, r.duplicates());
        assertEquals(Map.of(5, "empty text", 6, "invalid UTF-8"), errors(r));
        assertEquals(tok.encode("one").length, r.tokens().min());
        assertEquals(List.of(new DatasetExample.Text("one", null), new DatasetExample.Text("two", null),
                new DatasetExample.Text("one", null)), parser.examples(f));
    }

    static byte[] concat(byte[]... parts) {
        int n = Arrays.stream(parts).mapToInt(p -> p.length).sum();
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    @Test
    void theMajorityFormatWinsAndMinorityLinesAreErrors() throws IOException {
        DatasetReport r = parser.validate(file(
                "{\"text\": \"a\"}",
                "{\"prompt\": \"p\", \"completion\": \"c\"}",
                "{\"prompt\": \"p\", \"completion\": \"d\"}",
                "{\"messages\": [{\"role\": \"assistant\", \"content\": \"x\"}]}"), 512);
        assertEquals(DatasetFormat.PROMPT_COMPLETION, r.format());
        assertEquals(Map.of(1, "text line in a prompt_completion dataset", 4, "chat line in a prompt_completion dataset"),
                errors(r));
    }

    @Test
    void noValidLineMeansNoFormat() throws IOException {
        DatasetReport r = parser.validate(file("nope", "{\"a\": 1}", "\"str\""), 512);
        assertNull(r.format());
        assertEquals(0, r.examples());
        assertEquals(3, r.errorCount());
        assertEquals(DatasetReport.TokenStats.NONE, r.tokens());
        assertEquals(List.of(), parser.examples(file("nope")));
        assertTrue(errors(r).get(1).startsWith("invalid JSON"), r.toString());
        assertEquals("not a JSON object", errors(r).get(3));
    }

    @Test
    void trailingContentAfterTheObjectIsInvalidJson() throws IOException {
        DatasetReport r = parser.validate(file("{\"text\": \"a\"}", "{\"text\": \"b\"} {\"text\": \"c\"}"), 512);
        assertEquals(1, r.examples());
        assertTrue(errors(r).get(2).startsWith("invalid JSON"), r.toString());
    }

    @Test
    void errorsAreCappedButCounted() throws IOException {
        List<String> lines = new ArrayList<>();
        lines.add("{\"text\": \"ok\"}");
        for (int i = 0; i < DatasetParser.MAX_REPORTED_ERRORS + 250; i++) {
            lines.add("{\"text\": 5}");
        }
        DatasetReport r = parser.validate(file(lines.toArray(String[]::new)), 512);
        assertEquals(DatasetParser.MAX_REPORTED_ERRORS, r.errors().size());
        assertEquals(DatasetParser.MAX_REPORTED_ERRORS + 250, r.errorCount());
        assertEquals(new DatasetReport.LineError(2, "'text' must be a string"), r.errors().get(0));
        assertEquals(DatasetParser.MAX_REPORTED_ERRORS + 1, r.errors().get(r.errors().size() - 1).line());
    }

    @Test
    void conversationsTheModelsTemplateRefusesAreBadLines() throws IOException {
        Path model = Files.createDirectory(tmp.resolve("model"));
        Files.writeString(model.resolve("tokenizer_config.json"), "{\"chat_template\": \"{% for m in messages %}"
                + "{% if m['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
                + "{{ m['role'] }}: {{ m['content'] }}\\n{% endfor %}\"}");
        DatasetParser strict = new DatasetParser(tok, ChatTemplate.load(model));
        Path f = file(
                "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}]}",
                "{\"messages\": [{\"role\": \"system\", \"content\": \"S\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}]}");
        DatasetReport r = strict.validate(f, 512);
        assertEquals(1, r.examples());
        assertEquals(Map.of(2, "the chat template refused the messages: System role not supported"), errors(r));
        assertEquals(tok.encode("user: Hi\nassistant: Yo\n").length, r.tokens().max());
        assertEquals(1, strict.examples(f).size(), "examples() leaves out what validate() reports");
    }

    @Test
    void aMaxLengthBelowOneIsRefused() {
        LoragateException e = assertThrows(LoragateException.class, () -> parser.validate(resource("chat.jsonl"), 0));
        assertEquals(LoragateException.Kind.INVALID_ARGUMENT, e.kind());
    }

    // --- untrusted input (docs/security.md)

    @Test
    void aLineOverTheLimitIsOneBadLineAndTheOthersStillCount() throws IOException {
        Path f = Files.createTempFile(tmp, "long", ".jsonl");
        byte[] big = new byte[DatasetParser.MAX_LINE_BYTES + 10];
        Arrays.fill(big, (byte) 'x');
        try (var out = Files.newOutputStream(f)) {
            out.write("{\"text\": \"a\", \"label\": \"x\"}\n".getBytes(StandardCharsets.UTF_8));
            out.write(big);
            out.write("\n{\"text\": \"b\", \"label\": \"y\"}\n".getBytes(StandardCharsets.UTF_8));
            out.write(big); // the last line, without a line feed
        }
        DatasetReport r = parser.validate(f, 64);
        assertEquals(2, r.examples());
        assertEquals(2, r.errorCount());
        assertEquals(2, r.errors().get(0).line());
        assertTrue(r.errors().get(0).reason().contains("line longer than"), r.errors().get(0).reason());
        assertEquals(4, r.errors().get(1).line());
    }

    @Test
    void deepNestingAndDuplicateKeysAreBadLines() throws IOException {
        DatasetReport r = parser.validate(file("{\"text\": \"a\", \"label\": \"x\"}",
                "{\"text\": \"a\", \"label\": \"x\", \"n\": " + "[".repeat(5000) + "]".repeat(5000) + "}",
                "{\"text\": \"a\", \"label\": \"x\", \"label\": \"y\"}"), 64);
        assertEquals(1, r.examples());
        assertTrue(r.errors().get(0).reason().contains("nesting depth"), r.errors().get(0).reason());
        assertTrue(r.errors().get(1).reason().contains("Duplicate field 'label'"), r.errors().get(1).reason());
    }
}
