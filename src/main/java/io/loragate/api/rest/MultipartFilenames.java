package io.loragate.api.rest;

import io.vertx.core.buffer.Buffer;
import java.net.URLDecoder;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Each part's file name as the client sent it, read from the raw multipart body. Netty's multipart
 * decoder (under Vert.x) "cleans" file names: it turns {@code = ; : ,} and tabs into spaces and drops
 * double quotes, so {@code a=b.jsonl} would be stored as {@code a b.jsonl}. This reads the part
 * headers itself: quoted names (RFC 7578; {@code \"} and {@code \\} unescaped, other characters kept)
 * and RFC 6266's {@code filename*=UTF-8''...}, which wins over {@code filename}.
 *
 * <p>Fed the body's chunks in order; only lines that can be a boundary and the part headers after one
 * are kept, so memory stays small whatever the file's size.
 */
final class MultipartFilenames {

    /** Longest part header line kept; a longer Content-Disposition is ignored (Netty's name is used). */
    private static final int MAX_HEADER_LINE = 8192;

    private final byte[] boundary;
    private final byte[] line;
    private int length;
    private boolean overflow;
    private boolean inHeaders;
    /** Field name to file name, the first part of each field. */
    private final Map<String, String> filenames = new LinkedHashMap<>();

    /** @param contentType the request's {@code multipart/form-data; boundary=...} */
    MultipartFilenames(String contentType) {
        String b = boundary(contentType);
        this.boundary = b == null ? null : ("--" + b).getBytes(StandardCharsets.ISO_8859_1);
        this.line = new byte[Math.max(MAX_HEADER_LINE, this.boundary == null ? 0 : this.boundary.length + 2)];
    }

    /** The client's file name of the first part named {@code field}; null when it sent none or it could not be read. */
    String filename(String field) {
        return filenames.get(field);
    }

    void feed(Buffer chunk) {
        if (boundary == null) {
            return;
        }
        for (int i = 0, n = chunk.length(); i < n; i++) {
            byte b = chunk.getByte(i);
            if (b == '\n') {
                endLine();
            } else if (length < (inHeaders ? MAX_HEADER_LINE : boundary.length + 2)) {
                line[length++] = b;
            } else {
                overflow = true; // part content: cannot be a boundary line
            }
        }
    }

    private void endLine() {
        int n = length > 0 && line[length - 1] == '\r' ? length - 1 : length;
        if (!overflow) {
            if (inHeaders) {
                if (n == 0) {
                    inHeaders = false; // the part's content follows
                } else {
                    header(new String(line, 0, n, StandardCharsets.UTF_8));
                }
            } else if (startsWithBoundary(n)) {
                inHeaders = true;
            }
        }
        length = 0;
        overflow = false;
    }

    /** {@code --boundary} or the closing {@code --boundary--} (after which nothing is read). */
    private boolean startsWithBoundary(int n) {
        if (n != boundary.length) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            if (line[i] != boundary[i]) {
                return false;
            }
        }
        return true;
    }

    private void header(String header) {
        int colon = header.indexOf(':');
        if (colon < 0 || !header.substring(0, colon).trim().equalsIgnoreCase("content-disposition")) {
            return;
        }
        Map<String, String> params = parameters(header.substring(colon + 1));
        String name = params.get("name");
        String filename = params.containsKey("filename*") ? extended(params.get("filename*")) : null;
        if (filename == null) {
            filename = params.get("filename");
        }
        if (name != null && filename != null) {
            filenames.putIfAbsent(name, filename);
        }
    }

    /** The parameters of a Content-Disposition value (its type before the first ';' skipped), names lower-cased. */
    static Map<String, String> parameters(String value) {
        Map<String, String> out = new LinkedHashMap<>();
        int i = value.indexOf(';');
        while (i >= 0 && i < value.length()) {
            i++; // past ';'
            int eq = value.indexOf('=', i);
            int semi = value.indexOf(';', i);
            if (eq < 0 || (semi >= 0 && semi < eq)) {
                i = semi; // a parameter without a value
                continue;
            }
            String name = value.substring(i, eq).trim().toLowerCase(Locale.ROOT);
            int v = eq + 1;
            while (v < value.length() && (value.charAt(v) == ' ' || value.charAt(v) == '\t')) {
                v++;
            }
            StringBuilder s = new StringBuilder();
            if (v < value.length() && value.charAt(v) == '"') {
                v++;
                while (v < value.length() && value.charAt(v) != '"') {
                    char c = value.charAt(v);
                    if (c == '\\' && v + 1 < value.length() && (value.charAt(v + 1) == '"' || value.charAt(v + 1) == '\\')) {
                        c = value.charAt(++v);
                    }
                    s.append(c);
                    v++;
                }
                i = value.indexOf(';', v);
            } else {
                int end = value.indexOf(';', v);
                s.append(value.substring(v, end < 0 ? value.length() : end).stripTrailing());
                i = end;
            }
            out.putIfAbsent(name, s.toString());
        }
        return out;
    }

    /** RFC 5987's {@code charset'language'percent-encoded}; null when malformed or of an unknown charset. */
    static String extended(String value) {
        int a = value.indexOf('\'');
        int b = a < 0 ? -1 : value.indexOf('\'', a + 1);
        if (b < 0) {
            return null;
        }
        try {
            Charset charset = Charset.forName(value.substring(0, a).trim());
            // percent-decoding only: a '+' is a plus here, not a space
            return URLDecoder.decode(value.substring(b + 1).replace("+", "%2B"), charset);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** The {@code boundary} parameter of a multipart Content-Type; null when absent. */
    static String boundary(String contentType) {
        if (contentType == null) {
            return null;
        }
        String b = parameters(contentType).get("boundary");
        return b == null || b.isEmpty() ? null : b;
    }
}
