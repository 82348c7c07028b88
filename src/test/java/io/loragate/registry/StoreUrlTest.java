package io.loragate.registry;

import static io.loragate.registry.RegistryFixtures.adapter;
import static io.loragate.registry.RegistryFixtures.config;
import static io.loragate.registry.RegistryFixtures.uniqueName;
import static io.loragate.registry.RegistryFixtures.weights;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.common.BlobStore;
import io.loragate.common.DurableFiles;
import io.loragate.common.FileBlobStore;
import io.loragate.config.LoragateConfig;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** {@code loragate.store.url} names a folder other than the data directory: adapters and datasets are kept there. */
@QuarkusTest
@TestProfile(StoreUrlTest.Profile.class)
class StoreUrlTest {

    static final Path STORE = Path.of("target/test-data-store-blobs");

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "loragate.model.path", "src/test/resources/fixtures/hf/tiny-llama",
                    "loragate.model.id", "tiny-llama",
                    "loragate.device", "cpu",
                    "loragate.data-dir", "target/test-data-store",
                    "loragate.store.url", "file:" + STORE);
        }
    }

    @Inject
    BlobStore blobs;
    @Inject
    LoragateConfig config;
    @Inject
    AdapterRegistry registry;
    @Inject
    DatasetStore datasets;

    @Test
    void theUrlChoosesTheFolder() {
        assertEquals(STORE, ((FileBlobStore) blobs).root());
    }

    @Test
    void anAdapterVersionIsPublishedToTheStoreAndDeletedFromIt() {
        String name = uniqueName("stored");
        Path folder = adapter("tiny-llama", 0);
        AdapterVersion v = registry.register("default", name, config(folder), weights(folder));
        Path published = STORE.resolve("adapters/default/" + name + "/1");
        assertEquals(published, registry.folder(v));
        assertEquals(v.sha256(), DurableFiles.sha256(published.resolve("adapter_model.safetensors")));
        assertFalse(Files.exists(config.dataDir().resolve("adapters/default/" + name)), "nothing in the data directory");
        registry.deleteVersion("default", name, 1);
        assertFalse(Files.exists(published));
    }

    @Test
    void aDatasetIsStoredInTheStore() {
        byte[] content = ("{\"text\": \"" + UUID.randomUUID() + "\"}\n").getBytes(StandardCharsets.UTF_8);
        StoredFile f;
        try (DatasetStore.Staging s = datasets.stage(new ByteArrayInputStream(content))) {
            f = datasets.publish("default", s, "d.jsonl", "fine-tune", "{}");
        }
        Path blob = STORE.resolve("files/" + f.sha256().substring(0, 2) + "/" + f.sha256());
        assertEquals(blob, datasets.blob(f));
        assertTrue(Files.isRegularFile(blob));
        assertFalse(Files.exists(config.dataDir().resolve("files/" + f.sha256().substring(0, 2) + "/" + f.sha256())));
        datasets.delete("default", f.id());
        assertFalse(Files.exists(blob));
    }
}
