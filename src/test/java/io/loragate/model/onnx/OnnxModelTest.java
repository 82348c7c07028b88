package io.loragate.model.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.common.ModelFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The protobuf reader on the real embedded all-MiniLM-L6-v2 export. */
class OnnxModelTest {

    @TempDir
    static Path dir;
    static Path file;
    static OnnxModel model;

    @BeforeAll
    static void open() {
        file = EmbeddedOnnx.extract(dir);
        model = OnnxModel.open(file);
    }

    @Test
    void readsGraphInterface() {
        assertEquals(List.of("input_ids", "attention_mask", "token_type_ids"), model.inputNames());
        assertEquals(List.of("last_hidden_state"), model.outputNames());
    }

    @Test
    void readsInitializersWithoutCopying() {
        assertEquals(102, model.initializers().size());
        OnnxTensor word = model.initializers().get("embeddings.word_embeddings.weight");
        assertArrayEquals(new long[] {30522, 384}, word.dims());
        assertEquals(OnnxTensor.FLOAT, word.dataType());
        assertTrue(word.littleEndianBytes().isDirect(), "raw_data should be a view of the mapped file");
        long[] positions = model.initializers().get("embeddings.position_ids").longs();
        assertEquals(512, positions.length);
        assertEquals(511, positions[511]);
    }

    @Test
    void readsNodesAndConstants() {
        OnnxNode q = model.nodes().stream().filter(n -> n.name().equals("/encoder/layer.3/attention/self/query/MatMul"))
                .findFirst().orElseThrow();
        assertEquals("MatMul", q.opType());
        OnnxTensor w = model.initializers().get(q.input(1));
        assertArrayEquals(new long[] {384, 384}, w.dims());
        assertEquals(q, model.producer(q.output(0)));
        assertEquals("Add", model.consumers(q.output(0)).get(0).opType());
        // the Constant holding LayerNorm's epsilon is parsed from the node's tensor attribute
        OnnxNode epsAdd = model.nodes().stream().filter(n -> n.name().equals("/embeddings/LayerNorm/Add"))
                .findFirst().orElseThrow();
        assertEquals(1e-12f, model.constant(epsAdd.input(1)).scalarFloat());
    }

    @Test
    void truncatedFileIsRejectedWithItsName() throws IOException {
        Path cut = dir.resolve("cut.onnx");
        try (FileChannel in = FileChannel.open(file); FileChannel out = FileChannel.open(cut,
                StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer head = ByteBuffer.allocate(4096);
            in.read(head);
            out.write(head.flip());
        }
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> OnnxModel.open(cut));
        assertTrue(e.getMessage().contains(cut.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("malformed ONNX protobuf"), e.getMessage());
    }

    @Test
    void missingFileIsRejectedWithItsName() {
        Path none = dir.resolve("none.onnx");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> OnnxModel.open(none));
        assertTrue(e.getMessage().startsWith(none.toString()), e.getMessage());
        assertTrue(!Files.exists(none));
    }
}
