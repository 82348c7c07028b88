package io.loragate.adapter;

import io.loragate.Fixtures;
import io.loragate.model.LinearShape;
import io.loragate.model.ModelConfig;
import io.loragate.model.ModelFamily;
import io.loragate.model.safetensors.SafetensorsFile;
import io.loragate.model.safetensors.SafetensorsWriter;
import io.loragate.model.safetensors.TensorInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.stream.Stream;

/** The fixtures' adapters and the base shapes derived from their checkpoints (without loading a model). */
final class AdapterFixtures {

    private AdapterFixtures() {
    }

    static Path model(String name) {
        return Fixtures.hf(name);
    }

    static Path adapter(String model, int k) {
        return Fixtures.hf(model).resolve("adapter" + k);
    }

    /** A fixture model's family, from its config.json. */
    static ModelFamily family(String model) {
        return ModelConfig.load(model(model)).family();
    }

    /** Every parameter of a fixture model by checkpoint name, shape as stored. */
    static Map<String, long[]> paramShapes(String model) {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(model(model).resolve("model.safetensors"))) {
            for (TensorInfo t : f.tensors().values()) {
                shapes.put(t.name(), t.shape());
            }
        }
        return shapes;
    }

    /**
     * The linear layers of a fixture model: every 2-D {@code .weight} that is not an embedding,
     * {@code (out, in)} as stored, except GPT-2's Conv1D which stores {@code (in, out)}.
     */
    static Map<String, LinearShape> linears(String model) {
        Map<String, LinearShape> linears = new LinkedHashMap<>();
        paramShapes(model).forEach((name, shape) -> {
            if (!name.endsWith(".weight") || shape.length != 2 || name.contains("embed") || name.endsWith("wte.weight")
                    || name.endsWith("wpe.weight")) {
                return;
            }
            String module = name.substring(0, name.length() - ".weight".length());
            boolean conv1d = module.matches(".*\\.c_(attn|proj|fc)");
            linears.put(module, conv1d ? new LinearShape(module, shape[0], shape[1]) : new LinearShape(module, shape[1], shape[0]));
        });
        return linears;
    }

    /** A copy of an adapter folder to mutate. */
    static Path copy(Path adapter, Path to) {
        try {
            Files.createDirectories(to);
            try (Stream<Path> files = Files.list(adapter)) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    Files.copy(f, to.resolve(f.getFileName()));
                }
            }
            return to;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Rewrites a safetensors file keeping (and possibly renaming/reshaping) tensors; null drops one. */
    static void rewrite(Path file, BiFunction<String, float[], float[]> keep) {
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (TensorInfo t : f.tensors().values()) {
                float[] v = keep.apply(t.name(), f.readFloats(t.name()));
                if (v != null) {
                    w.addFloats(t.name(), t.shape(), v);
                }
            }
        }
        w.write(file);
    }

    static void editConfig(Path folder, String from, String to) {
        Path cfg = folder.resolve("adapter_config.json");
        try {
            String s = Files.readString(cfg);
            if (!s.contains(from)) {
                throw new IllegalArgumentException(cfg + " lacks " + from);
            }
            Files.writeString(cfg, s.replace(from, to));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
