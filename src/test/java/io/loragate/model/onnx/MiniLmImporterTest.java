package io.loragate.model.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.model.Architecture;
import io.loragate.model.ModelConfig;
import io.loragate.common.ModelFormatException;
import io.loragate.model.safetensors.Dtype;
import io.loragate.model.safetensors.SafetensorsFile;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Conversion of the embedded all-MiniLM-L6-v2 ONNX export into a Hugging Face BertModel folder. */
class MiniLmImporterTest {

    @TempDir
    static Path dataDir;
    @TempDir
    static Path scratch;
    static Path folder;
    static long firstImportNanos;

    @BeforeAll
    static void importOnce() {
        long t0 = System.nanoTime();
        folder = MiniLmImporter.ensureImported(dataDir);
        firstImportNanos = System.nanoTime() - t0;
    }

    /** BertModel's parameters for all-MiniLM-L6-v2, written out independently of the importer. */
    static Map<String, long[]> expectedShapes() {
        Map<String, long[]> s = new LinkedHashMap<>();
        s.put("embeddings.word_embeddings.weight", new long[] {30522, 384});
        s.put("embeddings.position_embeddings.weight", new long[] {512, 384});
        s.put("embeddings.token_type_embeddings.weight", new long[] {2, 384});
        s.put("embeddings.LayerNorm.weight", new long[] {384});
        s.put("embeddings.LayerNorm.bias", new long[] {384});
        for (int l = 0; l < 6; l++) {
            String p = "encoder.layer." + l + ".";
            for (String m : List.of("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense")) {
                s.put(p + m + ".weight", new long[] {384, 384});
                s.put(p + m + ".bias", new long[] {384});
            }
            for (String m : List.of("attention.output.LayerNorm", "output.LayerNorm")) {
                s.put(p + m + ".weight", new long[] {384});
                s.put(p + m + ".bias", new long[] {384});
            }
            s.put(p + "intermediate.dense.weight", new long[] {1536, 384});
            s.put(p + "intermediate.dense.bias", new long[] {1536});
            s.put(p + "output.dense.weight", new long[] {384, 1536});
            s.put(p + "output.dense.bias", new long[] {384});
        }
        return s;
    }

    @Test
    void folderIsACompleteBertModel() throws IOException {
        assertEquals(dataDir.resolve("models").resolve("all-minilm-l6-v2"), folder);
        for (String f : List.of("config.json", "model.safetensors", "tokenizer.json", MiniLmImporter.MARKER)) {
            assertTrue(Files.isRegularFile(folder.resolve(f)), f);
        }
        try (Stream<Path> s = Files.list(folder.getParent())) {
            assertEquals(List.of(folder), s.toList(), "no temporary folders left behind");
        }
        try (Stream<Path> s = Files.list(folder)) {
            assertEquals(4, s.count(), "the extracted source.onnx is removed");
        }
        ModelConfig c = ModelConfig.load(folder);
        assertEquals("BertModel", c.architectureName());
        assertEquals(Architecture.BERT, c.architecture());
        assertEquals(384, c.hiddenSize());
        assertEquals(6, c.numLayers());
        assertEquals(12, c.numHeads());
        assertEquals(32, c.headDim());
        assertEquals(1536, c.intermediateSize());
        assertEquals(30522, c.vocabSize());
        assertEquals(512, c.maxPositions());
        assertEquals(2, c.typeVocabSize());
        assertEquals(1e-12, c.normEps());
        assertEquals("gelu", c.hiddenAct());
        try (InputStream in = MiniLmImporterTest.class.getResourceAsStream(MiniLmImporter.TOKENIZER_RESOURCE)) {
            assertArrayEquals(in.readAllBytes(), Files.readAllBytes(folder.resolve("tokenizer.json")));
        }
    }

    @Test
    void everyTensorHasItsHuggingFaceShape() {
        Map<String, long[]> expected = expectedShapes();
        try (SafetensorsFile st = SafetensorsFile.open(folder.resolve("model.safetensors"))) {
            assertEquals(new TreeSet<>(expected.keySet()), new TreeSet<>(st.names()),
                    "exactly BertModel's tensors (the graph has no pooler, so none is written)");
            for (var e : expected.entrySet()) {
                assertArrayEquals(e.getValue(), st.info(e.getKey()).shape(), e.getKey());
                assertEquals(Dtype.F32, st.info(e.getKey()).dtype(), e.getKey());
            }
        }
    }

    @Test
    void linearWeightsAreTheTransposedMatMulInitializers() {
        OnnxModel onnx = OnnxModel.open(EmbeddedOnnx.extract(scratch));
        try (SafetensorsFile st = SafetensorsFile.open(folder.resolve("model.safetensors"))) {
            for (String module : List.of("encoder.layer.3.attention.self.query", "encoder.layer.5.intermediate.dense",
                    "encoder.layer.0.output.dense")) {
                // torch.onnx names nodes by module path: /encoder/layer.3/attention/self/query/MatMul
                OnnxNode matmul = node(onnx, "/" + module.replace('.', '/').replaceFirst("layer/(\\d)", "layer.$1") + "/MatMul");
                OnnxTensor w = onnx.initializers().get(matmul.input(1));
                assertTrue(w.name().startsWith("onnx::MatMul_"), w.name());
                int in = (int) w.dim(0);
                int out = (int) w.dim(1);
                float[] onnxW = w.floats();             // (in, out)
                float[] hfW = st.readFloats(module + ".weight"); // (out, in)
                assertArrayEquals(new long[] {out, in}, st.info(module + ".weight").shape());
                for (int i = 0; i < in; i++) {
                    for (int o = 0; o < out; o++) {
                        if (hfW[o * in + i] != onnxW[i * out + o]) {
                            throw new AssertionError(module + "[" + o + "," + i + "] differs");
                        }
                    }
                }
            }
            assertArrayEquals(onnx.initializers().get("embeddings.word_embeddings.weight").floats(),
                    st.readFloats("embeddings.word_embeddings.weight"));
        }
    }

    @Test
    void secondCallReusesTheFolder() throws IOException {
        Map<Path, FileTime> before = mtimes(folder);
        long start = System.nanoTime();
        assertEquals(folder, MiniLmImporter.ensureImported(dataDir));
        long ms = (System.nanoTime() - start) / 1_000_000;
        System.out.printf("onnx import: cached ensureImported took %d ms%n", ms);
        assertEquals(before, mtimes(folder));
        // a reference from the same run, not a fixed number of milliseconds (the suite runs on busy machines)
        long firstMs = firstImportNanos / 1_000_000;
        assertTrue(ms < firstMs, "a cached import took " + ms + " ms, the first import " + firstMs + " ms");
    }

    @Test
    void incompleteFolderIsRebuiltAndAbandonedTempsRemoved() throws IOException {
        Path other = scratch.resolve("data");
        Path first = MiniLmImporter.ensureImported(other);
        FileTime weights = Files.getLastModifiedTime(first.resolve("model.safetensors"));
        // a crashed import of a process that no longer exists, and a folder whose marker is gone
        Path abandoned = first.resolveSibling(".all-minilm-l6-v2.tmp-" + Long.MAX_VALUE + "-1");
        Files.createDirectories(abandoned.resolve("junk"));
        Files.delete(first.resolve(MiniLmImporter.MARKER));
        assertEquals(first, MiniLmImporter.ensureImported(other));
        assertTrue(Files.isRegularFile(first.resolve(MiniLmImporter.MARKER)));
        assertNotEquals(weights, Files.getLastModifiedTime(first.resolve("model.safetensors")), "rewritten");
        assertFalse(Files.exists(abandoned));
    }

    @Test
    void missingTensorsAreNamed() throws IOException {
        Path src = EmbeddedOnnx.extract(scratch);
        OnnxModel onnx = OnnxModel.open(src);
        String keyWeight = node(onnx, "/encoder/layer.4/attention/self/key/MatMul").input(1);
        Path broken = EmbeddedOnnx.withoutInitializers(src, scratch.resolve("broken.onnx"),
                Set.of(keyWeight, "encoder.layer.2.output.LayerNorm.bias"));
        Path out = Files.createDirectories(scratch.resolve("broken-out"));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> MiniLmImporter.convert(broken, out));
        assertTrue(e.getMessage().startsWith(broken.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("missing encoder.layer.4.attention.self.key.weight"), e.getMessage());
        assertTrue(e.getMessage().contains("missing encoder.layer.2.output.LayerNorm.bias"), e.getMessage());
        assertFalse(Files.exists(out.resolve("model.safetensors")));
        Files.delete(broken);
    }

    private static OnnxNode node(OnnxModel onnx, String name) {
        return onnx.nodes().stream().filter(n -> n.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no node " + name));
    }

    private static Map<Path, FileTime> mtimes(Path dir) throws IOException {
        Map<Path, FileTime> m = new LinkedHashMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.sorted().toList()) {
                m.put(p, Files.getLastModifiedTime(p));
            }
        }
        m.put(dir, Files.getLastModifiedTime(dir));
        return m;
    }
}
