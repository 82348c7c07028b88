package io.loragate.cli;

import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import java.util.function.LongConsumer;

/**
 * A multipart/form-data body streamed from its files (never whole in memory) with a declared
 * length, reporting the bytes handed to the connection as they go (for the upload progress bar).
 */
public final class Multipart {

    private final String boundary = "loragate-" + UUID.randomUUID();
    private final List<Object> parts = new ArrayList<>(); // byte[] framing or Path contents
    private LongConsumer progress = n -> { };

    public Multipart field(String name, String value) {
        parts.add(bytes(head(name, null) + value + "\r\n"));
        return this;
    }

    public Multipart file(String name, Path file) {
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw CliException.usage(file + ": no such file, or not readable");
        }
        parts.add(bytes(head(name, file.getFileName().toString())));
        parts.add(file);
        parts.add(bytes("\r\n"));
        return this;
    }

    public Multipart onProgress(LongConsumer progress) {
        this.progress = progress;
        return this;
    }

    public String contentType() {
        return "multipart/form-data; boundary=" + boundary;
    }

    /** Bytes of the whole body. */
    public long length() {
        long n = bytes("--" + boundary + "--\r\n").length;
        for (Object p : parts) {
            n += p instanceof byte[] b ? b.length : size((Path) p);
        }
        return n;
    }

    HttpRequest.BodyPublisher publisher() {
        return HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(this::open), length());
    }

    private InputStream open() {
        List<InputStream> streams = new ArrayList<>();
        try {
            for (Object p : parts) {
                streams.add(p instanceof byte[] b ? new ByteArrayInputStream(b) : Files.newInputStream((Path) p));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        streams.add(new ByteArrayInputStream(bytes("--" + boundary + "--\r\n")));
        InputStream all = new java.io.SequenceInputStream(Collections.enumeration(streams));
        return new FilterInputStream(all) {
            private long sent;

            @Override
            public int read() throws IOException {
                int b = super.read();
                if (b >= 0) {
                    progress.accept(++sent);
                }
                return b;
            }

            @Override
            public int read(byte[] buf, int off, int len) throws IOException {
                int n = super.read(buf, off, len);
                if (n > 0) {
                    sent += n;
                    progress.accept(sent);
                }
                return n;
            }
        };
    }

    private String head(String name, String filename) {
        return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\""
                + (filename == null ? "" : "; filename=\"" + filename.replaceAll("[\"\\\\\r\n]", "_") + "\"")
                + (filename == null ? "" : "\r\nContent-Type: application/octet-stream") + "\r\n\r\n";
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            throw CliException.usage("cannot read " + p + ": " + e.getMessage());
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
