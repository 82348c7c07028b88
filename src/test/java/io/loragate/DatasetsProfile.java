package io.loragate;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;

/**
 * The gateway on the tiny-llama fixture with small dataset limits (64 KiB, 300 lines) and a max
 * sequence length of 48 tokens, two fine-tuning jobs at once, in its own data directory: the dataset
 * tests of every layer share it.
 */
public class DatasetsProfile implements QuarkusTestProfile {

    public static final long MAX_BYTES = 64 * 1024;
    public static final long MAX_LINES = 300;
    public static final int MAX_SEQ_LENGTH = 48;

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of(
                "loragate.model.path", "src/test/resources/fixtures/hf/tiny-llama",
                "loragate.model.id", "tiny-llama",
                "loragate.device", "cpu",
                "loragate.data-dir", "target/test-data-datasets",
                "loragate.files.max-bytes", "64K",
                "loragate.files.max-lines", Long.toString(MAX_LINES),
                "loragate.training.max-seq-length", Integer.toString(MAX_SEQ_LENGTH),
                "loragate.jobs.max-concurrent", "2");
    }
}
