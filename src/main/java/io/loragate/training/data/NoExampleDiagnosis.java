package io.loragate.training.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.loragate.common.JsonLimits;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Why a dataset without a single valid example (or a JSON array) is refused at upload, in words a user can act on:
 * a JSON array, CSV/TSV, one pretty-printed object, or JSON objects with none of the keys of a
 * format (the keys found are listed). Only the head of the file is read ({@value #SAMPLE_BYTES}
 * bytes), so the diagnosis costs the same for any file size. Pure: no CDI.
 */
public final class NoExampleDiagnosis {

    /** Bytes of the file's head the diagnosis reads. */
    static final int SAMPLE_BYTES = 64 << 10;
    /** Distinct keys named in a message at most, each cut to {@value #MAX_KEY_CHARS} characters. */
    static final int MAX_KEYS = 20;
    static final int MAX_KEY_CHARS = 40;
    /** Characters of a line quoted in a message at most. */
    static final int MAX_QUOTE = 80;

    /** The top-level keys that decide a line's format ({@link DatasetParser}). */
    static final Set<String> FORMAT_KEYS = Set.of("messages", "prompt", "completion", "text", "label");

    private static final ObjectMapper JSON = JsonLimits.mapper(JsonLimits.MAX_DEPTH, SAMPLE_BYTES);

    /** What each accepted format expects, as one line of each looks. */
    public static final String FORMATS = "chat {\"messages\": [{\"role\": \"user\", \"content\": \"...\"},"
            + " {\"role\": \"assistant\", \"content\": \"...\"}]}; prompt_completion {\"prompt\": \"...\", \"completion\": \"...\"};"
            + " classification {\"text\": \"...\", \"label\": \"...\"}; text {\"text\": \"...\"}";

    private NoExampleDiagnosis() {
    }

    private static final String ARRAY = "the file is a JSON array; upload JSON Lines: one example object per line,"
            + " in one of the formats: " + FORMATS;

    /**
     * Why the upload is refused, or null to store it: it has no valid example, or it is a JSON array
     * (opens with '[') of which most lines are bad (the elements of a pretty-printed array end in
     * commas, except the last one, which alone parses as a line).
     */
    public static String refusal(Path file, DatasetReport report) {
        if (!report.hasExamples()) {
            return explain(file, report);
        }
        if (report.errorCount() > report.examples()) {
            String first = firstLine(head(file));
            if (first != null && first.startsWith("[")) {
                return ARRAY;
            }
        }
        return null;
    }

    /** The reason to refuse {@code file}, whose {@code report} counts no valid example. */
    static String explain(Path file, DatasetReport report) {
        String head = head(file);
        String first = firstLine(head);
        if (first == null) {
            return "the file is empty; upload JSON Lines: one example object per line, in one of the formats: " + FORMATS;
        }
        if (first.startsWith("[")) {
            return ARRAY;
        }
        if (first.equals("{")) {
            return "the file looks like one pretty-printed JSON document (line 1 is '{'); upload JSON Lines: each example"
                    + " one JSON object on a single line, in one of the formats: " + FORMATS;
        }
        if (!first.startsWith("{")) {
            String kind = first.contains("\t") ? "TSV (tab-separated values)"
                    : first.contains(",") || first.contains(";") ? "CSV (comma-separated values)" : null;
            if (kind != null) {
                return "the file looks like " + kind + ", not JSON Lines (line 1: '" + quote(first) + "'); convert it to"
                        + " JSON Lines: one JSON object per line, in one of the formats: " + FORMATS;
            }
        }
        Set<String> keys = objectKeys(head);
        if (!keys.isEmpty() && keys.stream().noneMatch(FORMAT_KEYS::contains)) {
            return "no line has the keys of a dataset format; keys found: "
                    + String.join(", ", keys.stream().map(k -> "'" + quote(k) + "'").toList())
                    + ". Each line must be one JSON object with the keys of one format: " + FORMATS;
        }
        List<DatasetReport.LineError> errors = report.errors();
        StringBuilder s = new StringBuilder("the file has no valid example (").append(report.errorCount()).append(" bad line")
                .append(report.errorCount() == 1 ? "" : "s");
        errors.stream().limit(3).forEach(e -> s.append("; ").append(e));
        return s.append("); the formats are: ").append(FORMATS).toString();
    }

    /** The first {@value #SAMPLE_BYTES} bytes as text (bad UTF-8 replaced, a byte order mark dropped). */
    private static String head(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            String s = new String(in.readNBytes(SAMPLE_BYTES), StandardCharsets.UTF_8);
            return s.startsWith("\uFEFF") ? s.substring(1) : s;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the upload: " + e.getMessage(), e);
        }
    }

    /** The first non-blank line, stripped; null when the head has none. */
    private static String firstLine(String head) {
        for (String line : head.split("\n", -1)) {
            if (!line.isBlank()) {
                return line.strip();
            }
        }
        return null;
    }

    /** The distinct top-level keys of the JSON objects among the head's lines, in order of appearance. */
    private static Set<String> objectKeys(String head) {
        Set<String> keys = new LinkedHashSet<>();
        for (String line : head.split("\n", -1)) {
            if (line.isBlank() || keys.size() >= MAX_KEYS) {
                continue;
            }
            JsonNode n;
            try {
                n = JSON.readTree(line);
            } catch (IOException | RuntimeException e) {
                continue; // not JSON, or cut at the end of the head
            }
            if (n != null && n.isObject()) {
                for (Iterator<String> it = n.fieldNames(); it.hasNext() && keys.size() < MAX_KEYS; ) {
                    String k = it.next();
                    if (!k.equals("slice")) {
                        keys.add(k.length() > MAX_KEY_CHARS ? k.substring(0, MAX_KEY_CHARS) + "…" : k);
                    }
                }
            }
        }
        return keys;
    }

    /** A user's text made safe to quote: control characters dropped, cut to {@value #MAX_QUOTE} characters. */
    private static String quote(String s) {
        String clean = s.replaceAll("\\p{Cntrl}", "");
        return clean.length() <= MAX_QUOTE ? clean : clean.substring(0, MAX_QUOTE) + "…";
    }
}
