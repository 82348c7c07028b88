package io.loragate.adapter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.loragate.Fixtures;
import io.loragate.model.BaseModel;
import io.loragate.model.LinearShape;
import io.loragate.common.ModelFormatException;
import io.loragate.model.safetensors.SafetensorsFile;
import io.loragate.model.safetensors.TensorInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The number check at load ({@link AdapterNumbers}): an adapter of any kind with a NaN, an
 * infinity, or a value beyond {@code loragate.adapters.max-abs-value} in any stored tensor or config
 * scalar is refused naming it; every fixture adapter and its unpoisoned twins still load.
 */
class AdapterNumbersTest {

    private static BaseModel llama;
    private static Path dir;
    private static List<PoisonedAdapters.Case> cases;

    @BeforeAll
    static void load() throws Exception {
        llama = BaseModel.load(Fixtures.hf("tiny-llama"), Device.cpu());
        dir = Files.createTempDirectory("poisoned");
        cases = PoisonedAdapters.tinyLlama(llama, dir);
    }

    @AfterAll
    static void close() throws Exception {
        llama.close();
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Test
    void everyKindOfPoisonedAdapterIsRefusedNamingTheTensor() {
        List<String> kinds = new ArrayList<>();
        for (PoisonedAdapters.Case c : cases) {
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> LoraAdapter.load(c.folder(), llama),
                    c.kind() + " was accepted");
            String msg = e.getMessage();
            assertTrue(msg.contains(c.named()), c.kind() + ": " + msg);
            boolean nonFinite = msg.contains("NaN") || msg.contains("Infinity");
            assertTrue(nonFinite || msg.contains(AdapterNumbers.MAX_ABS_KEY), c.kind() + ": " + msg);
            kinds.add(c.kind());
        }
        assertEquals(10, kinds.size(), kinds.toString());
    }

    @Test
    void theSameAdaptersWithFiniteNumbersLoad(@TempDir Path tmp) {
        // proves that each refusal above is about the number, not about the folder
        for (PoisonedAdapters.Case c : cases) {
            if (c.named().contains("alpha")) {
                continue; // config fields: the fixture itself is the clean twin
            }
            Path clean = AdapterFixtures.copy(c.folder(), tmp.resolve(c.folder().getFileName()));
            PoisonedAdapters.poison(clean, c.named(), 0.5f);
            try (LoraAdapter a = LoraAdapter.load(clean, llama)) {
                assertTrue(a.bytes() > 0, c.kind());
            }
        }
    }

    @Test
    void everyFixtureAdapterIsWellWithinTheBound() {
        double max = 0;
        for (String model : List.of("tiny-llama", "tiny-qwen2", "tiny-gpt2", "tiny-bert-cls")) {
            for (int k = 0; k < 2; k++) {
                Path folder = AdapterFixtures.adapter(model, k);
                if (!Files.isDirectory(folder)) {
                    continue;
                }
                try (SafetensorsFile f = SafetensorsFile.open(folder.resolve(LoraAdapter.WEIGHTS_FILE))) {
                    for (TensorInfo t : f.tensors().values()) {
                        for (float v : f.readFloats(t.name())) {
                            max = Math.max(max, Math.abs(v));
                        }
                    }
                }
                try (LoraAdapter a = LoraAdapter.load(folder, AdapterFixtures.family(model), AdapterFixtures.linears(model), AdapterFixtures.paramShapes(model),
                        Device.cpu())) {
                    assertTrue(a.bytes() > 0);
                }
            }
        }
        assertTrue(max < AdapterNumbers.DEFAULT_MAX_ABS / 100, "largest fixture weight " + max);
    }

    @Test
    void aClassifierHeadIsChecked(@TempDir Path tmp) {
        Path a = AdapterFixtures.copy(AdapterFixtures.adapter("tiny-bert-cls", 0), tmp.resolve("cls"));
        String head;
        try (SafetensorsFile f = SafetensorsFile.open(a.resolve(LoraAdapter.WEIGHTS_FILE))) {
            head = f.names().stream().filter(n -> n.contains("classifier") && n.endsWith("weight")).findFirst().orElseThrow();
        }
        PoisonedAdapters.poison(a, head, Float.NaN);
        Map<String, LinearShape> linears = AdapterFixtures.linears("tiny-bert-cls");
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> LoraAdapter.load(a, AdapterFixtures.family("tiny-bert-cls"), linears, AdapterFixtures.paramShapes("tiny-bert-cls"),
                        Device.cpu()));
        assertTrue(e.getMessage().contains(head) && e.getMessage().contains("NaN"), e.getMessage());
    }

    @Test
    void theBoundIsConfigurableAndTheSwitchTurnsTheCheckOff() {
        Path fixture = AdapterFixtures.adapter("tiny-llama", 0);
        System.setProperty(AdapterNumbers.MAX_ABS_KEY, "0.001");
        try {
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> LoraAdapter.load(fixture, llama));
            assertTrue(e.getMessage().contains(AdapterNumbers.MAX_ABS_KEY) && e.getMessage().contains("0.001"), e.getMessage());
        } finally {
            System.clearProperty(AdapterNumbers.MAX_ABS_KEY);
        }
        PoisonedAdapters.Case nan = cases.get(0);
        System.setProperty(AdapterNumbers.CHECK_KEY, "false");
        try (LoraAdapter a = LoraAdapter.load(nan.folder(), llama)) {
            assertTrue(a.bytes() > 0, "with the check off the poisoned adapter loads (only containment tests do this)");
        } finally {
            System.clearProperty(AdapterNumbers.CHECK_KEY);
        }
    }
}
