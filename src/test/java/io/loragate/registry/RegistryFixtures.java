package io.loragate.registry;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.loragate.adapter.LoraWriter;
import io.loragate.adapter.PeftConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/** Adapter folders for registry tests: the fixtures, and bad ones made on the fly. */
public final class RegistryFixtures {

    static final Path HF = Path.of("src/test/resources/fixtures/hf");
    private static final String RUN = Long.toString(System.currentTimeMillis() % 1_000_000_000L, 36);
    private static final AtomicInteger COUNTER = new AtomicInteger();

    private RegistryFixtures() {
    }

    /** A fixture adapter folder, e.g. {@code adapter("tiny-llama", 0)}. */
    public static Path adapter(String model, int k) {
        return HF.resolve(model).resolve("adapter" + k);
    }

    public static Path config(Path folder) {
        return folder.resolve(PeftConfig.FILE_NAME);
    }

    public static Path weights(Path folder) {
        return folder.resolve("adapter_model.safetensors");
    }

    /** A name no other test (or earlier run against the same data directory) uses. */
    public static String uniqueName(String prefix) {
        return prefix + "-" + RUN + "-" + COUNTER.incrementAndGet();
    }

    /** A LoRA on tiny-llama's q_proj whose A expects inputs of 32 features where the base has 64. */
    public static Path wrongShapeAdapter(Path dir) {
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            LoraWriter w = new LoraWriter(PeftConfig.lora(4, 8, List.of("q_proj"), "CAUSAL_LM"));
            for (int layer = 0; layer < 2; layer++) {
                NDArray a = m.ones(new Shape(4, 32)); // (r, in) with the wrong in
                NDArray b = m.ones(new Shape(64, 4)); // (out, r)
                w.lora("model.layers." + layer + ".self_attn.q_proj", a, b);
            }
            w.write(dir);
        }
        return dir;
    }

    /** A file that starts like Python's pickle protocol 4 (what torch.save's legacy format writes). */
    public static Path pickleFile(Path dir) {
        return write(dir.resolve("adapter_model.bin"), new byte[] {(byte) 0x80, 0x04, (byte) 0x95, 0, 0, 0, 0, 0, 0, 0, '}', '.'});
    }

    /** A copy of tiny-llama's adapter0 config with another rank. */
    public static Path configWithRank(Path dir, int r) {
        try {
            String json = Files.readString(config(adapter("tiny-llama", 0))).replace("\"r\": 4", "\"r\": " + r);
            if (!json.contains("\"r\": " + r)) {
                throw new IllegalStateException("fixture config changed: no \"r\": 4");
            }
            return write(dir.resolve("adapter_config.json"), json.getBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Path write(Path file, byte[] bytes) {
        try {
            Files.createDirectories(file.getParent());
            return Files.write(file, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
