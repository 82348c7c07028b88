package io.loragate.training.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.Fixtures;
import io.loragate.FuzzSupport;
import io.loragate.model.TextTokenizer;
import io.loragate.runtime.ChatTemplate;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fuzzes {@link DatasetParser#validate} (tiny-llama's real tokenizer and chat template) with files of
 * valid lines from the test datasets, mutated (bit flips, invalid UTF-8, control characters, lone
 * surrogate escapes, huge numbers, deep nesting, truncations, random JSON, CR/LF and BOM games). No
 * exception may escape, and the report must account for every line: examples + errors + blank
 * lines = lines, with every error naming an existing line.
 */
class DatasetParserFuzzTest {

    private static final List<String> VALID = new ArrayList<>();
    private static final String[] ODD_LINES = {"", " ", "\t", "\r", "null", "[]", "{}", "1", "\"text\"", "{\"text\":null}",
        "{\"text\":\"a\",\"label\":1e999}", "{\"text\":\"a\",\"label\":" + "9".repeat(99) + "}",
        "{\"text\":\"a\",\"label\":123456789012345678901234567890}", "{\"prompt\":\"\\ud800\",\"completion\":\"\\udfff x\"}",
        "{\"text\":\"\\u0000\\u001b[31m\"}", "{\"messages\":[{\"role\":\"assistant\",\"content\":\"\\ud83d\"}]}",
        "{\"text\":\"x\",\"slice\":{\"a\":1}}", "{\"text\":\"\u202e\ufeff\u2028\u2029\"}", "\ufeff{\"text\":\"bom\"}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":\"{{ raise_exception('x') }}\"}]}",
        "{\"messages\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"assistant\","
            + "\"content\":\"a\"}]}"};
    private static final AtomicLong EXAMPLES = new AtomicLong();
    private static final AtomicLong ERRORS = new AtomicLong();
    private static final AtomicLong COUNTER = new AtomicLong();

    @TempDir
    static Path tmp;
    static TextTokenizer tok;
    static DatasetParser parser;

    @BeforeAll
    static void load() throws IOException {
        tok = TextTokenizer.load(Fixtures.hf("tiny-llama"));
        parser = new DatasetParser(tok, ChatTemplate.load(Fixtures.hf("tiny-llama")));
        for (String f : new String[] {"chat.jsonl", "prompt_completion.jsonl", "topics.jsonl", "bad_chat.jsonl"}) {
            for (String line : Files.readAllLines(DatasetParserTest.resource(f))) {
                if (!line.isBlank()) {
                    VALID.add(line);
                }
            }
        }
    }

    @AfterAll
    static void close() {
        tok.close();
    }

    @Test
    void everyLineIsAccountedForAndNoExceptionEscapes() {
        FuzzSupport.Stats stats = FuzzSupport.loop("dataset", this::fuzzCase);
        System.out.printf("fuzz dataset: %d examples, %d bad lines over %d cases%n", EXAMPLES.get(), ERRORS.get(), stats.cases());
        assertTrue(EXAMPLES.get() > stats.cases() / 2 && ERRORS.get() > stats.cases() / 2, "mutations too timid or too wild");
    }

    private void fuzzCase(SplittableRandom r, StringBuilder log) throws IOException {
        ByteArrayOutputStream file = new ByteArrayOutputStream();
        int lines = 1 + r.nextInt(5);
        for (int i = 0; i < lines; i++) {
            byte[] line = line(r, log);
            file.write(line);
            if (i < lines - 1 || r.nextBoolean()) {
                file.write(r.nextInt(8) == 0 ? new byte[] {'\r', '\n'} : new byte[] {'\n'});
            }
        }
        byte[] bytes = file.toByteArray();
        Path f = tmp.resolve("case-" + COUNTER.incrementAndGet() + ".jsonl");
        Files.write(f, bytes);
        try {
            DatasetReport report = parser.validate(f, 1 + r.nextInt(64));
            int[] counted = countLines(bytes);
            assertEquals(counted[0], report.examples() + report.errorCount() + counted[1],
                    "lines (" + counted[0] + ") = examples (" + report.examples() + ") + errors (" + report.errorCount()
                            + ") + blank (" + counted[1] + ")");
            for (DatasetReport.LineError e : report.errors()) {
                assertTrue(e.line() >= 1 && e.line() <= counted[0], "error on line " + e.line() + " of " + counted[0]);
                assertTrue(e.reason() != null && !e.reason().isBlank(), "error without a reason on line " + e.line());
            }
            EXAMPLES.addAndGet(report.examples());
            ERRORS.addAndGet(report.errorCount());
        } finally {
            Files.deleteIfExists(f);
        }
    }

    /** Lines and blank lines, counted independently of the parser: split on LF, a last line without one counts. */
    private static int[] countLines(byte[] bytes) {
        int lines = 0;
        int blank = 0;
        int from = 0;
        for (int i = 0; i <= bytes.length; i++) {
            if (i == bytes.length ? i > from : bytes[i] == '\n') {
                lines++;
                String text = decode(bytes, from, i);
                if (text != null && text.replace("\ufeff", lines == 1 ? "" : "\ufeff").isBlank()) {
                    blank++;
                }
                from = i + 1;
            }
        }
        return new int[] {lines, blank};
    }

    private static String decode(byte[] b, int from, int to) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b, from, to - from)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    private static byte[] line(SplittableRandom r, StringBuilder log) {
        String base = VALID.get(r.nextInt(VALID.size()));
        int op = r.nextInt(10);
        log.append(" [op ").append(op);
        byte[] out;
        switch (op) {
            case 0, 1 -> out = base.getBytes(StandardCharsets.UTF_8); // valid as it is
            case 2 -> { // bit flips (invalid UTF-8, broken JSON, control characters)
                out = base.getBytes(StandardCharsets.UTF_8);
                FuzzSupport.flipBits(r, out, 0, out.length, log);
            }
            case 3 -> { // truncated
                out = java.util.Arrays.copyOf(base.getBytes(StandardCharsets.UTF_8), r.nextInt(base.length() + 1));
                log.append(" truncated");
            }
            case 4 -> out = ODD_LINES[r.nextInt(ODD_LINES.length)].getBytes(StandardCharsets.UTF_8);
            case 5 -> { // a string value replaced by a trouble string or number
                String v;
                if (r.nextBoolean()) {
                    StringBuilder q = new StringBuilder();
                    FuzzSupport.quote(FuzzSupport.STRINGS[r.nextInt(FuzzSupport.STRINGS.length)], q);
                    v = q.toString();
                } else {
                    v = FuzzSupport.NUMBERS[r.nextInt(FuzzSupport.NUMBERS.length)];
                }
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"[^\"]*\"").matcher(base);
                List<int[]> spans = new ArrayList<>();
                while (m.find()) {
                    spans.add(new int[] {m.start(), m.end()});
                }
                log.append(" value -> ").append(v.length() > 40 ? v.substring(0, 40) : v);
                if (spans.isEmpty()) { // a line without strings: the value alone
                    out = v.getBytes(StandardCharsets.UTF_8);
                } else {
                    int[] s = spans.get(r.nextInt(spans.size()));
                    out = (base.substring(0, s[0]) + v + base.substring(s[1])).getBytes(StandardCharsets.UTF_8);
                }
            }
            case 6 -> { // deep nesting, as the line or as a field
                String d = FuzzSupport.deep(r, 10 + r.nextInt(1500));
                log.append(" deep");
                out = (r.nextBoolean() ? d : "{\"text\":\"a\",\"label\":\"b\",\"x\":" + d + "}").getBytes(StandardCharsets.UTF_8);
            }
            case 7 -> { // random JSON
                out = FuzzSupport.randomJson(r, 4).getBytes(StandardCharsets.UTF_8);
                log.append(" random");
            }
            case 8 -> { // raw invalid UTF-8 or control bytes inside a string
                byte[] b = base.getBytes(StandardCharsets.UTF_8);
                byte[][] odd = {{(byte) 0xC0, (byte) 0x80}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, {(byte) 0xFF}, {0}, {0x1b},
                    {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, {'\r'}, {(byte) 0xE2, (byte) 0x80, (byte) 0xA8}};
                byte[] ins = odd[r.nextInt(odd.length)];
                int at = r.nextInt(b.length + 1);
                out = new byte[b.length + ins.length];
                System.arraycopy(b, 0, out, 0, at);
                System.arraycopy(ins, 0, out, at, ins.length);
                System.arraycopy(b, at, out, at + ins.length, b.length - at);
                log.append(" insert@").append(at);
            }
            default -> { // a long line
                StringBuilder q = new StringBuilder();
                FuzzSupport.quote("word ".repeat(1 + r.nextInt(400)), q);
                out = ("{\"text\":" + q + ",\"label\":\"long\"}").getBytes(StandardCharsets.UTF_8);
                log.append(" long");
            }
        }
        log.append(']');
        return out;
    }
}
