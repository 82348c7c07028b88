package io.loragate.registry;

import io.loragate.common.BlobStore;
import io.loragate.common.FileBlobStore;
import io.loragate.common.S3Settings;
import io.loragate.config.LoragateConfig;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.net.URI;
import java.time.Duration;

/** The one {@link BlobStore} of the process, chosen by {@code loragate.store.url} (the data directory by default). */
@ApplicationScoped
public class BlobStores {

    /** A copy handed out this recently is not evicted from the S3 store's cache: its reader may not have opened it yet. */
    static final Duration CACHE_MIN_AGE = Duration.ofMinutes(2);

    @Produces
    @Singleton
    BlobStore blobStore(LoragateConfig config) {
        return config.store().url()
                .map(url -> BlobStore.fromUrl(url, DataModes::fileAttributes, s3(config)))
                .orElseGet(() -> new FileBlobStore(config.dataDir(), DataModes::fileAttributes));
    }

    void close(@Disposes BlobStore store) throws Exception {
        if (store instanceof AutoCloseable c) {
            c.close();
        }
    }

    static S3Settings s3(LoragateConfig config) {
        LoragateConfig.StoreSettings.S3 s3 = config.store().s3();
        return new S3Settings(s3.endpoint().map(URI::create), s3.region(), s3.pathStyle(), s3.partSize().asLongValue(),
                config.dataDir().resolve("store-cache"), config.dataDir().resolve(AdapterRegistry.TMP_DIR).resolve("store-staging"),
                config.store().cacheMaxBytes().asLongValue(), CACHE_MIN_AGE, DataModes::fileAttributes);
    }
}
