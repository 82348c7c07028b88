package io.loragate.adapter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.loragate.model.LinearShape;
import io.loragate.common.LoragateException;
import io.loragate.common.ModelFormatException;
import io.loragate.model.safetensors.SafetensorsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LoraAdapterTest {

    private static final Device CPU = Device.cpu();

    static LoraAdapter load(Path folder, String model) {
        return LoraAdapter.load(folder, AdapterFixtures.family(model), AdapterFixtures.linears(model),
                AdapterFixtures.paramShapes(model), CPU);
    }

    @ParameterizedTest
    @CsvSource({"tiny-llama,0,14,4", "tiny-llama,1,14,8", "tiny-qwen2,0,8,4", "tiny-qwen2,1,8,8", "tiny-gpt2,0,6,4",
        "tiny-gpt2,1,6,8", "tiny-bert-cls,0,4,4"})
    void loadsEveryFixtureAdapter(String model, int k, int modules, int rank) {
        try (LoraAdapter a = load(AdapterFixtures.adapter(model, k), model)) {
            assertEquals(modules, a.loraModules().size());
            assertEquals(rank, a.rank());
            long expected = 0;
            Map<String, LinearShape> linears = AdapterFixtures.linears(model);
            for (String m : a.loraModules()) {
                LinearShape s = linears.get(m);
                expected += 4L * rank * (s.in() + s.out());
            }
            if (model.equals("tiny-bert-cls")) {
                assertEquals(Set.of("classifier"), a.replacedModules());
                expected += 4L * (3 * 64 + 3);
            }
            assertEquals(expected, a.bytes());
        }
    }

    @Test
    void holdsTransposedAndScaledWeights() {
        Path folder = AdapterFixtures.adapter("tiny-gpt2", 1);
        try (LoraAdapter a = load(folder, "tiny-gpt2");
                SafetensorsFile f = SafetensorsFile.open(folder.resolve("adapter_model.safetensors"))) {
            String m = "transformer.h.0.attn.c_attn";
            LoraAdapter.Lora l = a.lora(m);
            assertArrayEquals(new long[] {64, 8}, l.aT.getShape().getShape());
            assertArrayEquals(new long[] {8, 192}, l.bTScaled.getShape().getShape());
            float[] aFile = f.readFloats("base_model.model." + m + ".lora_A.weight"); // (8, 64)
            float[] bFile = f.readFloats("base_model.model." + m + ".lora_B.weight"); // (192, 8)
            float[] aT = l.aT.toFloatArray();
            float[] bT = l.bTScaled.toFloatArray();
            assertEquals(aFile[3 * 64 + 10], aT[10 * 8 + 3]);
            assertEquals(bFile[100 * 8 + 5] * 4f, bT[5 * 192 + 100], "alpha 32 / r 8");
            assertNull(l.b, "a power-of-two scale needs no unscaled copy");
        }
    }

    @Test
    void aTargetModuleMissingInTheBaseIsReported() {
        Map<String, LinearShape> linears = new LinkedHashMap<>(AdapterFixtures.linears("tiny-llama"));
        linears.remove("model.layers.1.mlp.down_proj");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> LoraAdapter.load(
                AdapterFixtures.adapter("tiny-llama", 0), AdapterFixtures.family("tiny-llama"), linears, AdapterFixtures.paramShapes("tiny-llama"), CPU));
        assertTrue(e.getMessage().contains("target module 'model.layers.1.mlp.down_proj' does not exist in the base"),
                e.getMessage());
    }

    @Test
    void anAdapterForAnotherBaseShapeIsReported() {
        Map<String, LinearShape> linears = new LinkedHashMap<>(AdapterFixtures.linears("tiny-llama"));
        linears.put("model.layers.0.self_attn.k_proj", new LinearShape("model.layers.0.self_attn.k_proj", 64, 64));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> LoraAdapter.load(
                AdapterFixtures.adapter("tiny-llama", 1), AdapterFixtures.family("tiny-llama"), linears, AdapterFixtures.paramShapes("tiny-llama"), CPU));
        assertTrue(e.getMessage().contains("model.layers.0.self_attn.k_proj"), e.getMessage());
        assertTrue(e.getMessage().contains("(in=64, out=32)") && e.getMessage().contains("(in=64, out=64)"), e.getMessage());

        // a GPT-2 adapter on a Llama base
        ModelFormatException other = assertThrows(ModelFormatException.class,
                () -> load(AdapterFixtures.adapter("tiny-gpt2", 0), "tiny-llama"));
        assertTrue(other.getMessage().contains("transformer.h.0.attn.c_attn"), other.getMessage());
    }

    @Test
    void pickleIsNeverLoaded(@TempDir Path dir) throws IOException {
        Files.copy(AdapterFixtures.adapter("tiny-llama", 0).resolve("adapter_config.json"), dir.resolve("adapter_config.json"));
        Files.write(dir.resolve("adapter_model.bin"), new byte[] {(byte) 0x80, 2, 'c', 'o', 's', '\n'});
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> load(dir, "tiny-llama"));
        assertTrue(e.getMessage().contains("adapter_model.bin") && e.getMessage().contains("pickle"), e.getMessage());
    }

    @Test
    void aMissingLoraBIsReported(@TempDir Path dir) {
        Path a = AdapterFixtures.copy(AdapterFixtures.adapter("tiny-llama", 0), dir.resolve("a"));
        AdapterFixtures.rewrite(a.resolve("adapter_model.safetensors"),
                (name, v) -> name.equals("base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight") ? null : v);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> load(a, "tiny-llama"));
        assertTrue(e.getMessage().contains("'model.layers.1.self_attn.v_proj' has lora_A but no lora_B"), e.getMessage());
    }

    @Test
    void aTargetedModuleWithoutWeightsIsReported(@TempDir Path dir) {
        Path a = AdapterFixtures.copy(AdapterFixtures.adapter("tiny-llama", 0), dir.resolve("a"));
        AdapterFixtures.rewrite(a.resolve("adapter_model.safetensors"),
                (name, v) -> name.contains("layers.0.mlp.up_proj") ? null : v);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> load(a, "tiny-llama"));
        assertTrue(e.getMessage().contains("targets 'model.layers.0.mlp.up_proj' but the file has no LoRA weights"),
                e.getMessage());
    }

    @Test
    void weightsForAModuleTheConfigDoesNotTargetAreReported(@TempDir Path dir) {
        Path a = AdapterFixtures.copy(AdapterFixtures.adapter("tiny-qwen2", 0), dir.resolve("a"));
        AdapterFixtures.editConfig(a, "\"o_proj\",", "");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> load(a, "tiny-qwen2"));
        assertTrue(e.getMessage().contains("o_proj") && e.getMessage().contains("does not select"), e.getMessage());
    }

    @Test
    void aRankOtherThanTheConfigsIsReported(@TempDir Path dir) {
        Path a = AdapterFixtures.copy(AdapterFixtures.adapter("tiny-qwen2", 0), dir.resolve("a"));
        AdapterFixtures.editConfig(a, "\"r\": 4", "\"r\": 8");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> load(a, "tiny-qwen2"));
        assertTrue(e.getMessage().contains("has rank 4 but adapter_config.json gives it r=8"), e.getMessage());
    }

    @Test
    void biasOtherThanNoneIsRejected(@TempDir Path dir) {
        Path a = AdapterFixtures.copy(AdapterFixtures.adapter("tiny-qwen2", 0), dir.resolve("a"));
        AdapterFixtures.editConfig(a, "\"bias\": \"none\"", "\"bias\": \"lora_only\"");
        LoragateException e = assertThrows(LoragateException.class, () -> load(a, "tiny-qwen2"));
        assertEquals(LoragateException.Kind.UNIMPLEMENTED, e.kind());
        assertTrue(e.getMessage().contains("lora_only"), e.getMessage());
    }

    @Test
    void modulesToSaveMustMatchTheBase() {
        Map<String, long[]> shapes = new LinkedHashMap<>(AdapterFixtures.paramShapes("tiny-bert-cls"));
        shapes.put("classifier.weight", new long[] {5, 64});
        shapes.put("classifier.bias", new long[] {5});
        Map<String, LinearShape> linears = new LinkedHashMap<>(AdapterFixtures.linears("tiny-bert-cls"));
        linears.put("classifier", new LinearShape("classifier", 64, 5));
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> LoraAdapter.load(AdapterFixtures.adapter("tiny-bert-cls", 0), AdapterFixtures.family("tiny-bert-cls"),
                        linears, shapes, CPU));
        assertTrue(e.getMessage().contains("classifier.") && e.getMessage().contains("[3") && e.getMessage().contains("[5"),
                e.getMessage());

        // a plain BertModel checkpoint (a sentence encoder) has no classifier: the adapter's supplies one
        // when its input is the hidden size, as a classification adapter for a sentence encoder does
        Map<String, long[]> noHead = new LinkedHashMap<>(AdapterFixtures.paramShapes("tiny-bert-cls"));
        noHead.remove("classifier.weight");
        noHead.remove("classifier.bias");
        Map<String, LinearShape> noHeadLinears = new LinkedHashMap<>(AdapterFixtures.linears("tiny-bert-cls"));
        noHeadLinears.remove("classifier");
        try (LoraAdapter a = LoraAdapter.load(AdapterFixtures.adapter("tiny-bert-cls", 0),
                AdapterFixtures.family("tiny-bert-cls"), noHeadLinears, noHead, CPU)) {
            assertEquals(3, a.headLabels("classifier"));
            assertEquals(List.of(), a.labels(3), "no loragate_labels in a PEFT-made config");
        }
    }

    @Test
    void aFileWithForeignTensorsIsRejected(@TempDir Path dir) {
        Path a = AdapterFixtures.copy(AdapterFixtures.adapter("tiny-qwen2", 0), dir.resolve("a"));
        Path file = a.resolve("adapter_model.safetensors");
        io.loragate.model.safetensors.SafetensorsWriter w = new io.loragate.model.safetensors.SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            f.tensors().values().forEach(t -> w.addFloats(t.name(), t.shape(), f.readFloats(t.name())));
        }
        w.addFloats("base_model.model.model.norm.weight", new long[] {64}, new float[64]);
        w.write(file);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> load(a, "tiny-qwen2"));
        assertTrue(e.getMessage().contains("model.norm.weight") && e.getMessage().contains("modules_to_save"), e.getMessage());
    }

    @ParameterizedTest
    @CsvSource({"tiny-llama,0", "tiny-llama,1", "tiny-gpt2,0", "tiny-gpt2,1", "tiny-qwen2,1", "tiny-bert-cls,0"})
    void savesWhatItLoadedBitForBit(String model, int k, @TempDir Path dir) {
        Path original = AdapterFixtures.adapter(model, k);
        try (LoraAdapter a = load(original, model)) {
            a.save(dir);
        }
        assertSameTensors(original.resolve("adapter_model.safetensors"), dir.resolve("adapter_model.safetensors"));
        PeftConfig before = PeftConfig.read(original.resolve("adapter_config.json"));
        PeftConfig after = PeftConfig.read(dir.resolve("adapter_config.json"));
        assertEquals(before, after);
        try (LoraAdapter first = load(original, model); LoraAdapter second = load(dir, model)) {
            assertEquals(first.loraModules(), second.loraModules());
            assertEquals(first.bytes(), second.bytes());
            for (String m : first.loraModules()) {
                assertArrayEquals(first.lora(m).aT.toFloatArray(), second.lora(m).aT.toFloatArray(), m);
                assertArrayEquals(first.lora(m).bTScaled.toFloatArray(), second.lora(m).bTScaled.toFloatArray(), m);
            }
            for (String m : first.replacedModules()) {
                assertArrayEquals(first.replacement(m).wT.toFloatArray(), second.replacement(m).wT.toFloatArray(), m);
                assertArrayEquals(first.replacement(m).bias.toFloatArray(), second.replacement(m).bias.toFloatArray(), m);
            }
        }
    }

    @Test
    void anInexactScaleStillSavesTheOriginalB(@TempDir Path dir) {
        Path a = AdapterFixtures.copy(AdapterFixtures.adapter("tiny-qwen2", 0), dir.resolve("a"));
        AdapterFixtures.editConfig(a, "\"lora_alpha\": 8", "\"lora_alpha\": 0.3");
        try (LoraAdapter adapter = load(a, "tiny-qwen2")) {
            LoraAdapter.Lora l = adapter.lora("model.layers.0.self_attn.q_proj");
            assertNotNull(l.b, "0.3 / 4 does not invert exactly, so B is kept as it was");
            assertEquals(0.075f, l.scale);
            adapter.save(dir.resolve("b"));
        }
        assertSameTensors(a.resolve("adapter_model.safetensors"), dir.resolve("b").resolve("adapter_model.safetensors"));
    }

    static void assertSameTensors(Path expected, Path actual) {
        try (SafetensorsFile e = SafetensorsFile.open(expected); SafetensorsFile a = SafetensorsFile.open(actual)) {
            assertEquals(new TreeSet<>(e.names()), new TreeSet<>(a.names()));
            assertEquals(e.metadata(), a.metadata());
            for (String name : e.names()) {
                assertArrayEquals(e.info(name).shape(), a.info(name).shape(), name);
                assertEquals(e.info(name).dtype(), a.info(name).dtype(), name);
                assertArrayEquals(e.readFloats(name), a.readFloats(name), name);
            }
        }
    }
}
