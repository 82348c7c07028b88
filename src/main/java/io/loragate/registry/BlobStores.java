package io.loragate.registry;

import io.loragate.common.BlobStore;
import io.loragate.common.FileBlobStore;
import io.loragate.config.LoragateConfig;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/** The one {@link BlobStore} of the process, chosen by {@code loragate.store.url} (the data directory by default). */
@ApplicationScoped
public class BlobStores {

    @Produces
    @Singleton
    BlobStore blobStore(LoragateConfig config) {
        return config.store().url()
                .map(url -> BlobStore.fromUrl(url, DataModes::fileAttributes))
                .orElseGet(() -> new FileBlobStore(config.dataDir(), DataModes::fileAttributes));
    }
}
