package io.loragate.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.microprofile.config.ConfigProvider;

/**
 * Keeps server paths out of what clients read: {@link #redact} replaces every path under the data
 * directory, the model folder, the working directory, the temporary directory and the home
 * directory, and any other absolute file path, by its last segment (the file name). The error
 * mappers (REST and gRPC) apply it to every message, and stored errors (an errored adapter version,
 * a failed job) are redacted before they are stored; messages are written without paths in the first
 * place, this is the safety net. API paths ({@code /v1/...}, {@code /q/...}) are left alone.
 */
public final class ErrorText {

    /** An absolute path of two segments or more, not preceded by a word character, a dot or a colon (URLs). */
    private static final Pattern ABSOLUTE = Pattern.compile("(?<![\\w.:/~-])(/[\\w.@+-]+){2,}/?");

    private ErrorText() {
    }

    /** {@code message} without server paths (null stays null). */
    public static String redact(String message) {
        if (message == null || message.isEmpty()) {
            return message;
        }
        String out = message;
        for (String root : roots()) {
            out = replaceUnder(out, root);
        }
        Matcher m = ABSOLUTE.matcher(out);
        StringBuilder b = new StringBuilder();
        while (m.find()) {
            String p = m.group();
            String replacement = p.startsWith("/v1/") || p.startsWith("/q/") ? p : lastSegment(p);
            m.appendReplacement(b, Matcher.quoteReplacement(replacement));
        }
        m.appendTail(b);
        return b.toString();
    }

    /** Replaces {@code root} and whatever path follows it by the last segment of that path. */
    private static String replaceUnder(String s, String root) {
        if (root.isEmpty() || !s.contains(root)) {
            return s;
        }
        // a relative root counts only with a path below it ("data" alone is a word)
        Pattern p = Pattern.compile("(?<![\\w.-])" + Pattern.quote(root) + "(/[^\\s'\"(),;]*)" + (root.startsWith("/") ? "?" : ""));
        Matcher m = p.matcher(s);
        StringBuilder b = new StringBuilder();
        while (m.find()) {
            String rest = m.group(1);
            String seg = rest == null || rest.equals("/") ? "<data>" : lastSegment(rest);
            m.appendReplacement(b, Matcher.quoteReplacement(seg));
        }
        m.appendTail(b);
        return b.toString();
    }

    private static String lastSegment(String path) {
        String p = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
        int slash = p.lastIndexOf('/');
        String seg = slash < 0 ? p : p.substring(slash + 1);
        return seg.isEmpty() ? "<path>" : seg;
    }

    /** The server's directories, as configured and absolute, longest first. */
    private static List<String> roots() {
        List<String> roots = new ArrayList<>();
        try {
            var config = ConfigProvider.getConfig();
            add(roots, config.getOptionalValue("loragate.data-dir", String.class).orElse("data"), true);
            config.getOptionalValue("loragate.model.path", String.class).ifPresent(m -> add(roots, m, true));
        } catch (RuntimeException | LinkageError e) {
            add(roots, "data", true); // no configuration (plain unit tests): the default data directory
        }
        add(roots, System.getProperty("java.io.tmpdir", ""), false);
        add(roots, System.getProperty("user.home", ""), false);
        add(roots, System.getProperty("user.dir", ""), false);
        roots.sort(Comparator.comparingInt(String::length).reversed());
        return roots;
    }

    private static void add(List<String> roots, String dir, boolean alsoAsGiven) {
        if (dir == null || dir.isBlank()) {
            return;
        }
        String given = trimSlash(dir.trim());
        if (alsoAsGiven && given.length() > 1) {
            roots.add(given);
        }
        try {
            String abs = trimSlash(Path.of(given).toAbsolutePath().normalize().toString());
            if (abs.length() > 1 && !roots.contains(abs)) {
                roots.add(abs);
            }
        } catch (RuntimeException e) {
            // not a path: nothing to redact
        }
    }

    private static String trimSlash(String s) {
        return s.length() > 1 && s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }
}
