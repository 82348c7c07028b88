package io.loragate.training.data;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.loragate.common.JsonLimits;
import io.loragate.common.LoragateException;
import io.loragate.model.TextTokenizer;
import io.loragate.runtime.ChatTemplate;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.IntStream;
import java.util.stream.LongStream;

/**
 * Reads JSON Lines datasets (see {@link DatasetFormat}) and validates them before any job runs.
 *
 * <p>Every non-blank line is one example; blank lines are skipped (but counted for line numbers).
 * Any line may carry a {@code "slice"} string (at most {@value #MAX_SLICE_LENGTH} characters);
 * unknown fields are ignored. The dataset's format is
 * the one most valid lines have; every other line is reported with its 1-based number and reason.
 *
 * <p>{@link #validate} streams the file twice (detect the format, then check and tokenize): memory
 * grows with one int and one long per example, never with the file's text. Pure: no CDI.
 */
public final class DatasetParser {

    /** Bad lines listed in a report at most; {@link DatasetReport#errorCount()} counts them all. */
    public static final int MAX_REPORTED_ERRORS = 1000;

    private static final Set<String> ROLES = Set.of("system", "user", "assistant");
    /** Longest line read; a longer one is reported without being held in memory. */
    public static final int MAX_LINE_BYTES = 8 << 20;

    /** One line is one document: nesting bounded, duplicate keys refused (which one would win is a guess). */
    private static final ObjectMapper JSON = JsonLimits.strict(JsonLimits.mapper(JsonLimits.MAX_DEPTH, MAX_LINE_BYTES))
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    /** Stands for a line over {@link #MAX_LINE_BYTES} (compared by identity: no line read is this instance). */
    @SuppressWarnings("StringOperationCanBeSimplified")
    private static final String TOO_LONG = new String("<line too long>");

    /** Longest classification label (UTF-16 units): labels are report keys and class names, not payloads. */
    public static final int MAX_LABEL_LENGTH = 256;

    /**
     * Bounds on the work one line may cause, checked by a streaming scan of the line before any tree
     * is built (so a hostile line costs one pass over its bytes, never memory in proportion to its
     * element count), and on the labels of a file. A line over a bound is a bad line naming it.
     *
     * @param maxMessages most chat messages in one line ({@code loragate.files.max-messages-per-line})
     * @param maxDepth    deepest nesting of arrays and objects in one line ({@code loragate.files.max-line-depth})
     * @param maxLabels   most distinct classification labels in one file ({@code loragate.files.max-labels}); a line
     *                    bringing one more is a bad line
     */
    public record LineLimits(int maxMessages, int maxDepth, int maxLabels) {

        public static final LineLimits DEFAULTS = new LineLimits(1000, 16, 1000);

        public LineLimits {
            if (maxMessages < 1 || maxDepth < 3 || maxLabels < 1) {
                throw new IllegalArgumentException("line limits need at least 1 message, depth 3 and 1 label: "
                        + maxMessages + ", " + maxDepth + ", " + maxLabels);
            }
        }

        /** The streaming scan's parser factory; Jackson's own depth bound sits one above ours, so ours speaks first. */
        JsonFactory scanner() {
            return JsonFactory.builder().streamReadConstraints(JsonLimits.constraints(maxDepth + 1, MAX_LINE_BYTES)).build();
        }
    }

    private final TextTokenizer tokenizer;
    private final ChatTemplate template;
    private final LineLimits limits;
    private final JsonFactory scanner;

    /**
     * @param tokenizer the base model's tokenizer (token statistics)
     * @param template  the base model's chat template (chat examples are rendered with it)
     */
    public DatasetParser(TextTokenizer tokenizer, ChatTemplate template) {
        this(tokenizer, template, LineLimits.DEFAULTS);
    }

    /** As {@link #DatasetParser(TextTokenizer, ChatTemplate)}, with {@code limits} on each line's work. */
    public DatasetParser(TextTokenizer tokenizer, ChatTemplate template, LineLimits limits) {
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
        this.template = Objects.requireNonNull(template, "template");
        this.limits = Objects.requireNonNull(limits, "limits");
        this.scanner = limits == LineLimits.DEFAULTS ? DEFAULT_SCANNER : limits.scanner();
    }

    private static final JsonFactory DEFAULT_SCANNER = LineLimits.DEFAULTS.scanner();

    /**
     * Validates a dataset file: its format, the bad lines, token statistics, examples longer than
     * {@code maxLength} tokens, duplicates and (classification) the label distribution.
     */
    public DatasetReport validate(Path file, int maxLength) {
        if (maxLength < 1) {
            throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT,
                    "max length must be at least 1 token, got " + maxLength).withParam("max_length");
        }
        DatasetFormat format = detect(file, limits, scanner);
        Set<String> admitted = new HashSet<>(); // distinct labels so far, at most maxLabels
        IntStream.Builder lengths = IntStream.builder(); // one int and one long per example, never the text
        LongStream.Builder hashes = LongStream.builder();
        Map<String, Integer> labels = new TreeMap<>();
        List<DatasetReport.LineError> errors = new ArrayList<>();
        int[] errorCount = {0};
        forEachLine(file, (number, line) -> {
            Parsed p = parse(line, limits, scanner);
            String reason = format == null ? p.error() : reasonAgainst(p, format);
            if (reason == null) {
                reason = labelOver(p.example(), admitted);
            }
            Integer tokens = null;
            if (reason == null) {
                try {
                    tokens = countTokens(p.example());
                } catch (LoragateException e) { // a model's template may refuse a conversation
                    reason = e.getMessage();
                }
            }
            if (reason != null) {
                if (errors.size() < MAX_REPORTED_ERRORS) {
                    errors.add(new DatasetReport.LineError(number, reason));
                }
                errorCount[0]++;
                return;
            }
            lengths.add(tokens);
            hashes.add(contentHash(p.example()));
            if (p.example() instanceof DatasetExample.Labeled l) {
                labels.merge(l.label(), 1, Integer::sum);
            }
        });
        int[] sorted = lengths.build().sorted().toArray();
        int truncated = 0;
        for (int i = sorted.length - 1; i >= 0 && sorted[i] > maxLength; i--) {
            truncated++;
        }
        long[] hashesSorted = hashes.build().sorted().toArray();
        return new DatasetReport(format, sorted.length, stats(sorted), maxLength, truncated, duplicates(hashesSorted),
                new LinkedHashMap<>(labels), errors, errorCount[0]);
    }

    /**
     * The valid examples of the file's format, in file order (empty when no line is valid): exactly
     * the examples {@link #validate} counts, chat conversations the template refuses left out.
     */
    public List<DatasetExample> examples(Path file) {
        Map<DatasetFormat, List<DatasetExample>> byFormat = new EnumMap<>(DatasetFormat.class);
        Map<DatasetFormat, Integer> counts = new EnumMap<>(DatasetFormat.class);
        forEachLine(file, (number, line) -> {
            Parsed p = parse(line, limits, scanner);
            if (p.error() == null) {
                byFormat.computeIfAbsent(p.shape(), f -> new ArrayList<>()).add(p.example());
                counts.merge(p.shape(), 1, Integer::sum);
            }
        });
        DatasetFormat format = majority(counts);
        if (format == null) {
            return List.of();
        }
        Set<String> admitted = new HashSet<>();
        return byFormat.get(format).stream().filter(e -> labelOver(e, admitted) == null).filter(this::renders).toList();
    }

    /**
     * Why a valid example is refused for its label: the file already has {@code maxLabels} distinct
     * labels and this is another (in file order, as {@link #validate} and {@link #examples} both see it).
     */
    private String labelOver(DatasetExample e, Set<String> admitted) {
        if (!(e instanceof DatasetExample.Labeled l) || admitted.contains(l.label())) {
            return null;
        }
        if (admitted.size() >= limits.maxLabels()) {
            return "more than " + limits.maxLabels() + " distinct labels (loragate.files.max-labels)";
        }
        admitted.add(l.label());
        return null;
    }

    private boolean renders(DatasetExample e) {
        try {
            trainingText(e);
            return true;
        } catch (LoragateException refused) {
            return false;
        }
    }

    /** The format most valid lines have (ties: the earlier {@link DatasetFormat}); null if none is valid. */
    public static DatasetFormat detect(Path file) {
        return detect(file, LineLimits.DEFAULTS, DEFAULT_SCANNER);
    }

    private static DatasetFormat detect(Path file, LineLimits limits, JsonFactory scanner) {
        Map<DatasetFormat, Integer> counts = new EnumMap<>(DatasetFormat.class);
        forEachLine(file, (number, line) -> {
            Parsed p = parse(line, limits, scanner);
            if (p.error() == null) {
                counts.merge(p.shape(), 1, Integer::sum);
            }
        });
        return majority(counts);
    }

    private static DatasetFormat majority(Map<DatasetFormat, Integer> counts) {
        DatasetFormat best = null;
        for (DatasetFormat f : DatasetFormat.values()) {
            int n = counts.getOrDefault(f, 0);
            if (n > 0 && (best == null || n > counts.get(best))) {
                best = f;
            }
        }
        return best;
    }

    /** Why a parsed line is not an example of {@code format}, or null when it is one. */
    private static String reasonAgainst(Parsed p, DatasetFormat format) {
        if (p.error() != null) {
            return p.error();
        }
        if (p.shape() == format) {
            return null;
        }
        if (format == DatasetFormat.CLASSIFICATION && p.shape() == DatasetFormat.TEXT) {
            return "label missing";
        }
        return p.shape() + " line in a " + format + " dataset";
    }

    // ---------------------------------------------------------------------------------------------
    // One line

    /** A line's shape (what format it looks like) and either its example or why it is invalid. */
    record Parsed(DatasetFormat shape, DatasetExample example, String error) {

        static Parsed ok(DatasetExample e) {
            return new Parsed(e.format(), e, null);
        }

        static Parsed bad(DatasetFormat shape, String error) {
            return new Parsed(shape, null, error);
        }
    }

    /** Parses one non-blank line (null: the line is not UTF-8). */
    /** Longest {@code slice} name (UTF-16 units): slices are report keys, not payloads. */
    public static final int MAX_SLICE_LENGTH = 64;

    static Parsed parse(String line) {
        return parse(line, LineLimits.DEFAULTS, DEFAULT_SCANNER);
    }

    static Parsed parse(String line, LineLimits limits, JsonFactory scanner) {
        if (line == null) {
            return Parsed.bad(null, "invalid UTF-8");
        }
        if (line == TOO_LONG) {
            return Parsed.bad(null, "line longer than " + MAX_LINE_BYTES + " bytes");
        }
        String over = overBound(line, limits, scanner);
        if (over != null) {
            return Parsed.bad(null, over);
        }
        JsonNode n;
        try {
            n = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            return Parsed.bad(null, "invalid JSON: " + jsonError(e));
        }
        if (n == null || !n.isObject()) {
            return Parsed.bad(null, "not a JSON object");
        }
        JsonNode sliceNode = n.get("slice");
        DatasetFormat shape = n.has("messages") ? DatasetFormat.CHAT
                : n.has("prompt") || n.has("completion") ? DatasetFormat.PROMPT_COMPLETION
                : n.has("label") ? DatasetFormat.CLASSIFICATION
                : n.has("text") ? DatasetFormat.TEXT
                : null;
        if (shape == null) {
            return Parsed.bad(null, "missing field: a line needs 'messages' (chat), 'prompt' and 'completion',"
                    + " 'text' and 'label' (classification), or 'text'");
        }
        if (sliceNode != null && !sliceNode.isNull() && !sliceNode.isTextual()) {
            return Parsed.bad(shape, "'slice' must be a string");
        }
        String slice = sliceNode == null || sliceNode.isNull() ? null : sliceNode.asText();
        if (slice != null && slice.length() > MAX_SLICE_LENGTH) {
            return Parsed.bad(shape, "'slice' longer than " + MAX_SLICE_LENGTH + " characters");
        }
        return switch (shape) {
            case CHAT -> chat(n, slice);
            case PROMPT_COMPLETION -> promptCompletion(n, slice);
            case CLASSIFICATION -> labeled(n, slice);
            case TEXT -> text(n, slice);
        };
    }

    /** Jackson's reason without its source locations ("[Source: REDACTED ...; line: 1, column: 2]"): the line is named already. */
    static String jsonError(JsonProcessingException e) {
        String m = e.getOriginalMessage().split("\n")[0];
        m = SOURCE_LOCATION.matcher(m).replaceAll("column $1");
        int leftover = m.indexOf("[Source:");
        return (leftover < 0 ? m : m.substring(0, leftover)).strip();
    }

    private static final java.util.regex.Pattern SOURCE_LOCATION =
            java.util.regex.Pattern.compile("\\[Source: .*?; line: \\d+, column: (\\d+)\\]");

    /**
     * One streaming pass over the line's tokens (constant memory): the bound the line exceeds, or
     * null (also when it is not valid JSON: the tree parse then reports why).
     */
    private static String overBound(String line, LineLimits limits, JsonFactory scanner) {
        try (JsonParser p = scanner.createParser(line)) {
            int depth = 0;
            int messagesDepth = -1; // depth inside the top-level 'messages' array while in it
            int messages = 0;
            String field = null;    // the top-level field whose value comes next
            for (JsonToken t; (t = p.nextToken()) != null; ) {
                if (t == JsonToken.FIELD_NAME) {
                    if (depth == 1) {
                        field = p.currentName();
                    }
                    continue;
                }
                if (depth == messagesDepth && t != JsonToken.END_ARRAY && ++messages > limits.maxMessages()) {
                    return "more than " + limits.maxMessages() + " messages (loragate.files.max-messages-per-line)";
                }
                if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) {
                    if (++depth > limits.maxDepth()) {
                        return "nesting depth over " + limits.maxDepth() + " (loragate.files.max-line-depth)";
                    }
                    if (t == JsonToken.START_ARRAY && depth == 2 && "messages".equals(field)) {
                        messagesDepth = 2;
                    }
                } else if (t == JsonToken.END_OBJECT || t == JsonToken.END_ARRAY) {
                    if (depth == messagesDepth) {
                        messagesDepth = -1;
                    }
                    depth--;
                }
                if (depth <= 1) {
                    field = null;
                }
            }
            return null;
        } catch (JsonProcessingException e) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Parsed chat(JsonNode n, String slice) {
        JsonNode messages = n.get("messages");
        if (!messages.isArray()) {
            return Parsed.bad(DatasetFormat.CHAT, "'messages' must be an array");
        }
        if (messages.isEmpty()) {
            return Parsed.bad(DatasetFormat.CHAT, "'messages' is empty");
        }
        List<ChatMessage> turns = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String where = "messages[" + i + "]";
            if (!m.isObject()) {
                return Parsed.bad(DatasetFormat.CHAT, where + " is not an object");
            }
            String error = requireString(m, "role", where + ": ");
            if (error == null && !ROLES.contains(m.get("role").asText())) {
                error = where + ": unknown role '" + m.get("role").asText() + "' (expected system, user or assistant)";
            }
            if (error == null) {
                error = requireString(m, "content", where + ": ");
            }
            if (error != null) {
                return Parsed.bad(DatasetFormat.CHAT, error);
            }
            turns.add(new ChatMessage(m.get("role").asText(), m.get("content").asText()));
        }
        if (turns.stream().noneMatch(ChatMessage::isAssistant)) {
            return Parsed.bad(DatasetFormat.CHAT, "no assistant turn");
        }
        return Parsed.ok(new DatasetExample.Chat(turns, slice));
    }

    private static Parsed promptCompletion(JsonNode n, String slice) {
        String error = requireString(n, "prompt", "");
        if (error == null) {
            error = requireString(n, "completion", "");
        }
        if (error == null && n.get("completion").asText().isBlank()) {
            error = "empty completion";
        }
        return error != null ? Parsed.bad(DatasetFormat.PROMPT_COMPLETION, error)
                : Parsed.ok(new DatasetExample.PromptCompletion(n.get("prompt").asText(), n.get("completion").asText(), slice));
    }

    private static Parsed text(JsonNode n, String slice) {
        String error = requireText(n);
        return error != null ? Parsed.bad(DatasetFormat.TEXT, error)
                : Parsed.ok(new DatasetExample.Text(n.get("text").asText(), slice));
    }

    private static Parsed labeled(JsonNode n, String slice) {
        String error = requireText(n);
        if (error != null) {
            return Parsed.bad(DatasetFormat.CLASSIFICATION, error);
        }
        JsonNode label = n.get("label");
        if (label == null || label.isNull()) {
            return Parsed.bad(DatasetFormat.CLASSIFICATION, "label missing");
        }
        if (!label.isTextual() && !label.isIntegralNumber()) {
            return Parsed.bad(DatasetFormat.CLASSIFICATION, "'label' must be a string or an integer");
        }
        if (label.asText().isBlank()) {
            return Parsed.bad(DatasetFormat.CLASSIFICATION, "empty label");
        }
        if (label.asText().length() > MAX_LABEL_LENGTH) {
            return Parsed.bad(DatasetFormat.CLASSIFICATION, "'label' longer than " + MAX_LABEL_LENGTH + " characters");
        }
        return Parsed.ok(new DatasetExample.Labeled(n.get("text").asText(), label.asText(), slice));
    }

    private static String requireText(JsonNode n) {
        String error = requireString(n, "text", "");
        return error == null && n.get("text").asText().isBlank() ? "empty text" : error;
    }

    private static String requireString(JsonNode n, String field, String where) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            return where + "missing field '" + field + "'";
        }
        return v.isTextual() ? null : where + "'" + field + "' must be a string";
    }

    // ---------------------------------------------------------------------------------------------
    // Statistics

    /** Tokens of an example as the trainer sees it (before truncation). */
    private int countTokens(DatasetExample e) {
        return tokenizer.encode(trainingText(e)).length;
    }

    /** The text the tokenizer sees: chat rendered by the template (no generation prompt), prompt + completion, or the text. */
    public String trainingText(DatasetExample e) {
        if (e instanceof DatasetExample.Chat c) {
            return template.render(c.messages().stream().map(m -> new ChatTemplate.Message(m.role(), m.content())).toList(), false);
        }
        if (e instanceof DatasetExample.PromptCompletion pc) {
            return pc.prompt() + pc.completion();
        }
        return e instanceof DatasetExample.Text t ? t.text() : ((DatasetExample.Labeled) e).text();
    }

    /** First 8 bytes of the SHA-256 of the example's content, so that spelling (key order, spaces, slice) does not matter. */
    static long contentHash(DatasetExample e) {
        StringBuilder s = new StringBuilder(e.format().wireName());
        if (e instanceof DatasetExample.Chat c) {
            c.messages().forEach(m -> s.append('\0').append(m.role()).append('\1').append(m.content()));
        } else if (e instanceof DatasetExample.PromptCompletion pc) {
            s.append('\0').append(pc.prompt()).append('\0').append(pc.completion());
        } else if (e instanceof DatasetExample.Text t) {
            s.append('\0').append(t.text());
        } else if (e instanceof DatasetExample.Labeled l) {
            s.append('\0').append(l.text()).append('\0').append(l.label());
        }
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(s.toString().getBytes(StandardCharsets.UTF_8));
            return ByteBuffer.wrap(d).getLong();
        } catch (NoSuchAlgorithmException ex) {
            throw new IllegalStateException(ex);
        }
    }

    private static int duplicates(long[] sortedHashes) {
        int dup = 0;
        for (int i = 1; i < sortedHashes.length; i++) {
            if (sortedHashes[i] == sortedHashes[i - 1]) {
                dup++;
            }
        }
        return dup;
    }

    /** Min, max, mean, nearest-rank p50 and p95, total. */
    private static DatasetReport.TokenStats stats(int[] sorted) {
        if (sorted.length == 0) {
            return DatasetReport.TokenStats.NONE;
        }
        long total = 0;
        for (int v : sorted) {
            total += v;
        }
        return new DatasetReport.TokenStats(sorted[0], sorted[sorted.length - 1], (double) total / sorted.length,
                percentile(sorted, 50), percentile(sorted, 95), total);
    }

    static int percentile(int[] sorted, int p) {
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, rank - 1)];
    }

    // ---------------------------------------------------------------------------------------------
    // Lines

    interface LineVisitor {
        /** @param text the line without its line break, or null when it is not valid UTF-8 */
        void line(int number, String text);
    }

    /** Calls {@code visitor} for every non-blank line with its 1-based number (CRLF and a leading BOM tolerated). */
    static void forEachLine(Path file, LineVisitor visitor) {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            boolean tooLong = false;
            int number = 0;
            for (int n; (n = in.read(buf)) > 0; ) {
                int from = 0;
                for (int i = 0; i <= n; i++) {
                    boolean end = i < n && buf[i] == '\n';
                    if (i < n && !end) {
                        continue;
                    }
                    // bytes [from, i) belong to the current line; its end when buf[i] is a line feed
                    if (!tooLong && line.size() + (i - from) > MAX_LINE_BYTES) {
                        tooLong = true;
                        line.reset();
                    }
                    if (!tooLong) {
                        line.write(buf, from, i - from);
                    }
                    if (end) {
                        number++;
                        if (tooLong) {
                            visitor.line(number, TOO_LONG);
                        } else {
                            emit(number, line, visitor);
                        }
                        line.reset();
                        tooLong = false;
                    }
                    from = i + 1;
                }
            }
            if (tooLong) {
                visitor.line(++number, TOO_LONG);
            } else if (line.size() > 0) {
                emit(++number, line, visitor);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read dataset " + file + ": " + e.getMessage(), e);
        }
    }

    private static void emit(int number, ByteArrayOutputStream line, LineVisitor visitor) {
        byte[] bytes = line.toByteArray();
        int len = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
        int start = number == 1 && len >= 3 && (bytes[0] & 0xff) == 0xEF && (bytes[1] & 0xff) == 0xBB
                && (bytes[2] & 0xff) == 0xBF ? 3 : 0; // a UTF-8 byte order mark
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes, start, len - start)).toString();
        } catch (CharacterCodingException e) {
            text = null;
        }
        if (text == null || !text.isBlank()) {
            visitor.line(number, text);
        }
    }
}
