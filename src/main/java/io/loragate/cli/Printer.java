package io.loragate.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** What a command prints: the server's JSON ({@code -o json}) or aligned tables for people. */
public final class Printer {

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneOffset.UTC);

    private final PrintWriter out;
    private final boolean json;
    private final boolean terminal;

    Printer(PrintWriter out, boolean json, boolean terminal) {
        this.out = out;
        this.json = json;
        this.terminal = terminal;
    }

    public PrintWriter out() {
        return out;
    }

    public boolean json() {
        return json;
    }

    /** Progress goes to stdout for people; with {@code -o json} it goes to stderr so stdout stays one JSON document. */
    public ProgressBar progress(PrintWriter err) {
        return new ProgressBar(json ? err : out, terminal);
    }

    public void printJson(JsonNode n) {
        try {
            out.println(Api.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(n));
        } catch (JsonProcessingException e) {
            out.println(n.toString());
        }
        out.flush();
    }

    public void line(String s) {
        out.println(s);
        out.flush();
    }

    /** Columns padded to their widest cell; the last column is not padded. */
    public void table(List<String> headers, List<List<String>> rows) {
        int[] w = new int[headers.size()];
        List<List<String>> all = new ArrayList<>();
        all.add(headers);
        all.addAll(rows);
        for (List<String> r : all) {
            for (int i = 0; i < w.length && i < r.size(); i++) {
                w[i] = Math.max(w[i], cell(r.get(i)).length());
            }
        }
        for (List<String> r : all) {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < w.length; i++) {
                String c = i < r.size() ? cell(r.get(i)) : "";
                b.append(c);
                if (i < w.length - 1) {
                    b.append(" ".repeat(w[i] - c.length() + 2));
                }
            }
            out.println(b.toString().stripTrailing());
        }
        out.flush();
    }

    public static List<String> row(Object... cells) {
        List<String> r = new ArrayList<>();
        Arrays.stream(cells).forEach(c -> r.add(c == null ? "-" : String.valueOf(c)));
        return r;
    }

    /** A JSON value as a cell: null and missing as "-", numbers shortened. */
    public static String text(JsonNode n) {
        if (n == null || n.isNull() || n.isMissingNode()) {
            return "-";
        }
        if (n.isFloatingPointNumber()) {
            return number(n.asDouble());
        }
        return n.isValueNode() ? n.asText() : n.toString();
    }

    public static String number(double d) {
        if (!Double.isFinite(d)) {
            return String.valueOf(d);
        }
        double a = Math.abs(d);
        if (a != 0 && (a < 1e-3 || a >= 1e6)) {
            return String.format(Locale.ROOT, "%.2e", d);
        }
        return String.format(Locale.ROOT, "%.4f", d).replaceAll("0+$", "").replaceAll("\\.$", "");
    }

    /** Epoch seconds as UTC time. */
    public static String time(JsonNode epochSeconds) {
        return epochSeconds == null || !epochSeconds.isNumber() ? "-" : TIME.format(Instant.ofEpochSecond(epochSeconds.asLong()));
    }

    private static String cell(String s) {
        return s == null ? "-" : s.replace('\n', ' ');
    }
}
