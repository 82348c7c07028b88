package io.loragate.model;

import io.loragate.common.ModelFormatException;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import io.loragate.model.safetensors.SafetensorsFile;
import io.loragate.model.safetensors.TensorInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The weights of a model folder: {@code model.safetensors}, or the shards listed in
 * {@code model.safetensors.index.json}. Files are memory-mapped; tensors are read one at a time.
 */
public final class Checkpoint implements AutoCloseable {

    private final Path folder;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> byName;

    private Checkpoint(Path folder, List<SafetensorsFile> files, Map<String, SafetensorsFile> byName) {
        this.folder = folder;
        this.files = files;
        this.byName = byName;
    }

    public static Checkpoint open(Path folder) {
        Path single = folder.resolve("model.safetensors");
        Path index = folder.resolve("model.safetensors.index.json");
        List<SafetensorsFile> files = new ArrayList<>();
        Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
        try {
            if (Files.isRegularFile(single)) {
                SafetensorsFile f = SafetensorsFile.open(single);
                files.add(f);
                f.names().forEach(n -> byName.put(n, f));
            } else if (Files.isRegularFile(index)) {
                JsonNode map = ModelConfig.readJson(index, true).path("weight_map");
                if (!map.isObject() || map.isEmpty()) {
                    throw new ModelFormatException(index, "missing 'weight_map'");
                }
                Map<String, SafetensorsFile> shards = new HashMap<>();
                for (var it = map.fields(); it.hasNext(); ) {
                    var e = it.next();
                    String shard = e.getValue().asText();
                    if (shard.contains("/") || shard.contains("\\") || shard.startsWith(".")) {
                        throw new ModelFormatException(index, "shard name '" + shard + "' must be a plain file name");
                    }
                    SafetensorsFile f = shards.computeIfAbsent(shard, s -> {
                        SafetensorsFile opened = SafetensorsFile.open(folder.resolve(s));
                        files.add(opened);
                        return opened;
                    });
                    if (!f.contains(e.getKey())) {
                        throw new ModelFormatException(f.path(), "index lists tensor '" + e.getKey() + "' but the shard lacks it");
                    }
                    byName.put(e.getKey(), f);
                }
            } else {
                String found = describeFolder(folder);
                if (found.contains(".bin")) {
                    throw new ModelFormatException(folder, "only pickle weights (" + found
                            + ") found; loragate reads safetensors only (convert with safetensors.torch.save_file)");
                }
                throw new ModelFormatException(folder, "no model.safetensors or model.safetensors.index.json (found: " + found + ")");
            }
        } catch (RuntimeException e) {
            files.forEach(SafetensorsFile::close);
            throw e;
        }
        return new Checkpoint(folder, files, byName);
    }

    private static String describeFolder(Path folder) {
        try (var s = Files.list(folder)) {
            return String.join(", ", s.map(p -> p.getFileName().toString()).sorted().toList());
        } catch (Exception e) {
            return "unreadable folder";
        }
    }

    public Path folder() {
        return folder;
    }

    public Set<String> names() {
        return byName.keySet();
    }

    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    private SafetensorsFile fileOf(String name) {
        SafetensorsFile f = byName.get(name);
        if (f == null) {
            throw new ModelFormatException(files.isEmpty() ? folder : files.get(0).path(), "missing tensor '" + name + "'");
        }
        return f;
    }

    public TensorInfo info(String name) {
        return fileOf(name).info(name);
    }

    /** Reads a tensor, checking that its shape is the one the config implies. */
    public NDArray read(String name, NDManager manager, long... expectedShape) {
        SafetensorsFile f = fileOf(name);
        long[] shape = f.info(name).shape();
        if (expectedShape.length > 0 && !Arrays.equals(shape, expectedShape)) {
            throw new ModelFormatException(f.path(), "tensor '" + name + "' has shape " + Arrays.toString(shape)
                    + " but config.json implies " + Arrays.toString(expectedShape));
        }
        return f.read(name, manager);
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }
}
