package io.loragate.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Typed configuration under {@code loragate.*}. Every key has a documented default so that the
 * gateway starts with no configuration at all (on the embedded MiniLM, on CPU, data in ./data).
 */
@ConfigMapping(prefix = "loragate")
public interface LoragateConfig {

    /** Directory for blobs: converted models, adapters, datasets, checkpoints, the metadata database. */
    @WithDefault("data")
    Path dataDir();

    /** Where the engine runs: {@code cpu}, {@code gpu} (fails if none), or {@code auto} (gpu when DJL sees one). */
    @WithDefault("auto")
    String device();

    /** The base model. */
    ModelSettings model();

    interface ModelSettings {
        /**
         * A Hugging Face model folder (config.json, *.safetensors, tokenizer.json). Unset: the embedded
         * all-MiniLM-L6-v2, converted from its ONNX file into the data directory on first start.
         */
        Optional<Path> path();

        /** The id under which the base model is listed and addressed (default: the folder name). */
        Optional<String> id();
    }
}
