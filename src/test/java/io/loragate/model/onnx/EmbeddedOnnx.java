package io.loragate.model.onnx;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;

/** Test helpers around the ONNX file embedded in the langchain4j artifact. */
final class EmbeddedOnnx {

    private EmbeddedOnnx() {
    }

    /** Copies the embedded model to {@code dir/all-minilm-l6-v2.onnx} (once per directory). */
    static Path extract(Path dir) {
        Path file = dir.resolve("all-minilm-l6-v2.onnx");
        if (Files.isRegularFile(file)) {
            return file;
        }
        try (InputStream in = EmbeddedOnnx.class.getResourceAsStream(MiniLmImporter.ONNX_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(MiniLmImporter.ONNX_RESOURCE + " is not on the test classpath");
            }
            Files.copy(in, file);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Writes a copy of {@code source} whose graph lacks the named initializers, re-encoding just
     * the two enclosing messages (ModelProto field 7 = graph, GraphProto field 5 = initializer).
     */
    static Path withoutInitializers(Path source, Path dest, Set<String> drop) throws IOException {
        ByteBuffer file;
        try (FileChannel ch = FileChannel.open(source)) {
            file = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
        }
        Bytes model = new Bytes();
        ProtoReader m = new ProtoReader(source, file);
        while (m.next()) {
            if (m.field() == 7) {
                Bytes graph = new Bytes();
                ProtoReader g = m.message();
                while (g.next()) {
                    if (g.field() == 5) {
                        ByteBuffer tensor = g.bytes();
                        if (!drop.contains(tensorName(source, tensor.duplicate()))) {
                            graph.field(5, tensor);
                        }
                    } else {
                        graph.raw(g, source);
                    }
                }
                model.field(7, graph.done());
            } else {
                model.raw(m, source);
            }
        }
        try (FileChannel out = FileChannel.open(dest, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer b = model.done();
            while (b.hasRemaining()) {
                out.write(b);
            }
        }
        return dest;
    }

    private static String tensorName(Path file, ByteBuffer tensor) {
        ProtoReader t = new ProtoReader(file, tensor);
        while (t.next()) {
            if (t.field() == 8) {
                return t.string();
            }
            t.skip();
        }
        return "";
    }

    /** A minimal protobuf writer: length-delimited fields, and other fields copied verbatim. */
    private static final class Bytes {
        private final java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();

        void field(int number, ByteBuffer payload) {
            varint((long) number << 3 | ProtoReader.LENGTH_DELIMITED);
            varint(payload.remaining());
            byte[] b = new byte[payload.remaining()];
            payload.duplicate().get(b);
            out.writeBytes(b);
        }

        /** Re-emits the reader's current field unchanged. */
        void raw(ProtoReader r, Path file) {
            int number = r.field();
            switch (r.wireType()) {
                case ProtoReader.VARINT -> {
                    varint((long) number << 3);
                    varint(r.varint());
                }
                case ProtoReader.LENGTH_DELIMITED -> field(number, r.bytes());
                default -> throw new IllegalStateException(file + ": unexpected wire type " + r.wireType());
            }
        }

        ByteBuffer done() {
            return ByteBuffer.wrap(out.toByteArray());
        }

        private void varint(long v) {
            while ((v & ~0x7fL) != 0) {
                out.write((int) (v & 0x7f) | 0x80);
                v >>>= 7;
            }
            out.write((int) v);
        }
    }
}
