package io.loragate.model;

import io.loragate.common.LoragateException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.loragate.Fixtures;
import io.loragate.model.safetensors.SafetensorsFile;
import io.loragate.model.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every broken model folder fails with a specific message naming the file and the problem. */
class BadModelInputTest {

    @TempDir
    Path tmp;

    /** A writable copy of a fixture model folder (without its adapters and references). */
    Path copy(String fixture) throws IOException {
        Path dst = tmp.resolve(fixture);
        Files.createDirectories(dst);
        try (Stream<Path> s = Files.list(Fixtures.hf(fixture))) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                Files.copy(p, dst.resolve(p.getFileName()));
            }
        }
        return dst;
    }

    static LoragateException load(Path folder) {
        return assertThrows(LoragateException.class, () -> BaseModel.load(folder, Device.cpu()).close());
    }

    static void assertMessage(LoragateException e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "message '" + e.getMessage() + "' should mention '" + p + "'");
        }
    }

    @Test
    void missingOrMalformedConfig() throws IOException {
        Path m = copy("tiny-llama");
        Files.delete(m.resolve("config.json"));
        assertMessage(load(m), "config.json", "not found");
        Files.writeString(m.resolve("config.json"), "{\"architectures\": [\"LlamaForCausalLM\"], ");
        assertMessage(load(m), "config.json", "malformed JSON");
        Files.writeString(m.resolve("config.json"), "{\"hidden_size\": 64}");
        assertMessage(load(m), "config.json", "architectures");
        Files.writeString(m.resolve("config.json"), "{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 384}");
        assertMessage(load(m), "config.json", "hidden_size");
    }

    @Test
    void unsupportedArchitectureNamesItAndTheSupportedList() throws IOException {
        Path m = copy("tiny-llama");
        String cfg = Files.readString(m.resolve("config.json")).replace("LlamaForCausalLM", "FalconForCausalLM");
        Files.writeString(m.resolve("config.json"), cfg);
        LoragateException e = load(m);
        assertEquals(LoragateException.Kind.UNIMPLEMENTED, e.kind());
        assertMessage(e, "FalconForCausalLM", "LlamaForCausalLM", "GPT2LMHeadModel", "BertForSequenceClassification");
    }

    @Test
    void pickleWeightsAreRefused() throws IOException {
        Path m = copy("tiny-llama");
        Files.move(m.resolve("model.safetensors"), m.resolve("pytorch_model.bin"));
        assertMessage(load(m), "pytorch_model.bin", "pickle", "safetensors");
        LoragateException direct = assertThrows(LoragateException.class, () -> SafetensorsFile.open(m.resolve("pytorch_model.bin")));
        assertMessage(direct, "pytorch_model.bin", "pickle");
    }

    @Test
    void headerThatLiesAboutOffsetsOrSizes() throws IOException {
        Path m = copy("tiny-llama");
        Path file = m.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        // grow one tensor's end offset past the data section
        String lying = header.replaceFirst("\"data_offsets\":\\[(\\d+),(\\d+)\\]", "\"data_offsets\":[$1,99999999]");
        Files.write(file, withHeader(lying, bytes, n));
        assertMessage(load(m), "model.safetensors", "data_offsets", "outside the data section");
        // a shape that needs more bytes than its range
        String wrongSize = header.replaceFirst("\"shape\":\\[(\\d+)", "\"shape\":[7$1");
        Files.write(file, withHeader(wrongSize, bytes, n));
        assertMessage(load(m), "model.safetensors", "bytes");
        // a header length larger than the file
        byte[] huge = bytes.clone();
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 1L << 40);
        Files.write(file, huge);
        assertMessage(load(m), "model.safetensors", "header length");
        // truncated file
        Files.write(file, java.util.Arrays.copyOf(bytes, 5));
        assertMessage(load(m), "model.safetensors", "8-byte");
        // header that is not JSON
        Files.write(file, withHeader("x".repeat((int) n), bytes, n));
        assertMessage(load(m), "model.safetensors", "JSON");
    }

    static byte[] withHeader(String header, byte[] original, long oldLen) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + (int) (original.length - 8 - oldLen)).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(original, (int) (8 + oldLen), (int) (original.length - 8 - oldLen));
        return b.array();
    }

    @Test
    void missingTensorAndShapeMismatch() throws IOException {
        Path m = copy("tiny-llama");
        Path file = m.resolve("model.safetensors");
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(Fixtures.hf("tiny-llama").resolve("model.safetensors"))) {
            for (String name : f.names()) {
                if (!name.equals("model.layers.1.mlp.up_proj.weight")) {
                    w.addFloats(name, f.info(name).shape(), f.readFloats(name));
                }
            }
        }
        w.write(file);
        assertMessage(load(m), "model.safetensors", "missing tensor", "model.layers.1.mlp.up_proj.weight");

        Path m2 = copy("tiny-qwen2");
        String cfg = Files.readString(m2.resolve("config.json")).replace("\"intermediate_size\": 160", "\"intermediate_size\": 128");
        Files.writeString(m2.resolve("config.json"), cfg);
        assertMessage(load(m2), "model.safetensors", "shape", "[160, 64]", "[128, 64]");
    }

    @Test
    void bf16AndF16WeightsAreWidenedToFloat32() throws IOException {
        Path m = copy("tiny-llama");
        Path file = m.resolve("model.safetensors");
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(Fixtures.hf("tiny-llama").resolve("model.safetensors"))) {
            int i = 0;
            for (String name : f.names()) {
                float[] v = f.readFloats(name);
                ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
                boolean bf16 = i++ % 2 == 0;
                for (float x : v) {
                    b.putShort(bf16 ? (short) (Float.floatToIntBits(x) >>> 16) : halfOf(x));
                }
                b.flip();
                w.add(name, bf16 ? io.loragate.model.safetensors.Dtype.BF16 : io.loragate.model.safetensors.Dtype.F16, f.info(name).shape(), b);
            }
        }
        w.write(file);
        try (SafetensorsFile half = SafetensorsFile.open(file);
                SafetensorsFile full = SafetensorsFile.open(Fixtures.hf("tiny-llama").resolve("model.safetensors"))) {
            for (String name : full.names()) {
                double diff = Fixtures.maxAbsDiff(full.readFloats(name), half.readFloats(name));
                assertTrue(diff < 0.02, name + " widened within half precision: " + diff);
            }
        }
        try (CausalModel model = (CausalModel) BaseModel.load(m, Device.cpu())) {
            assertEquals(384, model.config().vocabSize());
            assertTrue(Float.isFinite(model.logits(model.manager(), new long[] {1, 5, 9}, AdapterHook.NONE).sum().getFloat()));
        }
    }

    /** Round-to-nearest float → IEEE half, enough for the test's normal-range weights. */
    static short halfOf(float f) {
        int bits = Float.floatToIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int exp = ((bits >>> 23) & 0xff) - 127 + 15;
        int mant = bits & 0x7fffff;
        if (exp <= 0) {
            return (short) sign;
        }
        int half = sign | (exp << 10) | (mant >>> 13);
        if ((mant & 0x1000) != 0) {
            half++;
        }
        return (short) half;
    }

    @Test
    void shardedCheckpointLoadsLikeASingleFile() throws IOException {
        Path m = copy("tiny-gpt2");
        Path file = m.resolve("model.safetensors");
        SafetensorsWriter a = new SafetensorsWriter();
        SafetensorsWriter b = new SafetensorsWriter();
        StringBuilder index = new StringBuilder("{\"metadata\": {}, \"weight_map\": {");
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            int i = 0;
            for (String name : f.names()) {
                boolean first = i++ % 2 == 0;
                (first ? a : b).addFloats(name, f.info(name).shape(), f.readFloats(name));
                index.append(i > 1 ? "," : "").append('"').append(name).append("\": \"model-0000")
                        .append(first ? 1 : 2).append("-of-00002.safetensors\"");
            }
        }
        a.write(m.resolve("model-00001-of-00002.safetensors"));
        b.write(m.resolve("model-00002-of-00002.safetensors"));
        Files.writeString(m.resolve("model.safetensors.index.json"), index.append("}}").toString());
        Files.delete(file);
        try (CausalModel sharded = (CausalModel) BaseModel.load(m, Device.cpu());
                CausalModel single = (CausalModel) BaseModel.load(Fixtures.hf("tiny-gpt2"), Device.cpu())) {
            long[] ids = {1, 20, 30, 40};
            assertEquals(0.0, Fixtures.maxAbsDiff(single.logits(single.manager(), ids, AdapterHook.NONE).toFloatArray(),
                    sharded.logits(sharded.manager(), ids, AdapterHook.NONE).toFloatArray()));
        }
        Files.writeString(m.resolve("model.safetensors.index.json"), "{\"weight_map\": {\"wte.weight\": \"../../etc/passwd\"}}");
        assertMessage(load(m), "model.safetensors.index.json", "plain file name");
    }
}
