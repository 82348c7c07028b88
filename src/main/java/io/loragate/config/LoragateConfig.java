package io.loragate.config;

import io.quarkus.runtime.configuration.MemorySize;
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

    /** Adapter registration limits. */
    AdapterSettings adapters();

    /** The device cache of adapter weights. */
    CacheSettings cache();

    interface AdapterSettings {
        /** Largest LoRA rank accepted at registration. */
        @WithDefault("64")
        int maxRank();

        /**
         * Largest adapter upload (all multipart parts together; also the largest weights file accepted).
         * {@code quarkus.http.limits.max-body-size} follows it.
         */
        @WithDefault("512M")
        MemorySize maxUploadBytes();
    }

    interface CacheSettings {
        /** Budget of device bytes for resident adapter weights, pinned ones included. */
        @WithDefault("256M")
        MemorySize maxBytes();

        /** Threads that load cold adapters (never the caller's thread, never the engine's). */
        @WithDefault("2")
        int loaderThreads();
    }
}
