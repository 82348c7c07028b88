package io.loragate.service;

import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import io.loragate.config.LoragateConfig;
import io.loragate.registry.AdapterCache;
import io.loragate.registry.AdapterInfo;
import io.loragate.registry.AdapterRegistry;
import io.loragate.registry.AdapterVersion;
import io.loragate.registry.VersionStatus;
import io.loragate.runtime.ResidentModel;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * What the transports call for adapters (REST {@code /v1/adapters}, gRPC {@code AdapterService},
 * the models listing): the registry's adapters and versions, the device cache's residency, and the
 * console's recent request rate, answered as {@link AdapterView} / {@link AdapterVersionView}.
 * Every call is scoped by the caller's tenant.
 */
@ApplicationScoped
public class AdapterService {

    private final AdapterRegistry registry;
    private final AdapterCache cache;
    private final RecentRequests recent;
    private final ResidentModel resident;
    private final Path staging;

    public AdapterService(AdapterRegistry registry, AdapterCache cache, RecentRequests recent, ResidentModel resident,
            LoragateConfig config) {
        this.registry = registry;
        this.cache = cache;
        this.recent = recent;
        this.resident = resident;
        // on the data volume, next to REST's uploads: adapters can outgrow a small /tmp
        this.staging = config.dataDir().resolve("tmp").resolve("grpc");
    }

    /** Refuses a name the registry would not store (before any upload is read). */
    public static void checkName(String name) {
        AdapterRegistry.checkName(name);
    }

    /** A version number as written in an id or a query: digits only, no leading zeros; throws NumberFormatException. */
    public static int versionNumber(String s) {
        return AdapterRegistry.versionNumber(s);
    }

    public List<AdapterView> list(String tenant) {
        List<AdapterView> out = new ArrayList<>();
        for (AdapterInfo info : registry.list(tenant)) {
            out.add(view(info));
        }
        return out;
    }

    public AdapterView get(String tenant, String name) {
        return view(registry.get(tenant, name));
    }

    /** The version an adapter id ({@code name} or {@code name@version}) resolves to. */
    public AdapterVersionView resolve(String tenant, String adapterId) {
        return versionView(registry.resolve(tenant, adapterId));
    }

    /** Registers {@code adapter_config.json} and {@code adapter_model.safetensors} as the name's next version. */
    public AdapterVersionView register(String tenant, String name, Path config, Path weights) {
        checkName(name);
        return versionView(registry.register(tenant, name, config, weights));
    }

    /**
     * {@link #register(String, String, Path, Path)} for files that arrive as streams: the registry
     * takes paths, so they are written to staging files that the registry copies and validates, and
     * deleted afterwards whatever happened.
     */
    public AdapterVersionView register(String tenant, String name, InputStream config, InputStream weights) {
        checkName(name);
        Path configFile = null;
        Path weightsFile = null;
        try {
            Files.createDirectories(staging);
            configFile = Files.createTempFile(staging, "register-", "-adapter_config.json");
            weightsFile = Files.createTempFile(staging, "register-", "-adapter_model.safetensors");
            Files.copy(config, configFile, StandardCopyOption.REPLACE_EXISTING);
            Files.copy(weights, weightsFile, StandardCopyOption.REPLACE_EXISTING);
            return register(tenant, name, configFile, weightsFile);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot stage the uploaded adapter files under " + staging, e);
        } finally {
            deleteQuietly(configFile);
            deleteQuietly(weightsFile);
        }
    }

    public AdapterVersionView setActive(String tenant, String name, int version) {
        return versionView(registry.setActive(tenant, name, version));
    }

    /** Pins {@code version}, or the alias when it is null. */
    public AdapterVersionView pin(String tenant, String name, Integer version) {
        return versionView(registry.pin(tenant, name, version));
    }

    /** Unpins {@code version}, or the alias when it is null. */
    public AdapterVersionView unpin(String tenant, String name, Integer version) {
        return versionView(registry.unpin(tenant, name, version));
    }

    public void deleteVersion(String tenant, String name, int version) {
        registry.deleteVersion(tenant, name, version);
    }

    /** Loads the version {@code adapterId} resolves to and answers once it is resident, waiting at most {@code wait}. */
    public AdapterVersionView loadAndWait(String tenant, String adapterId, Duration wait) {
        AdapterVersion v = registry.resolve(tenant, adapterId);
        try {
            cache.load(v).get(wait.toSeconds(), TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof LoragateException le ? le
                    : new LoragateException(Kind.INTERNAL, "cannot load adapter " + v.id() + ": " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new LoragateException(Kind.RESOURCE_EXHAUSTED, "adapter " + v.id() + " is still loading").retryAfter(5);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LoragateException(Kind.INTERNAL, "interrupted while loading adapter " + v.id());
        }
        return versionView(v);
    }

    /**
     * Loads the version {@code adapterId} resolves to; the future completes once it is resident, with
     * its view built on {@code answerOn} (the load completes on the cache's loader thread, which must
     * not wait for the database).
     */
    public CompletableFuture<AdapterVersionView> load(String tenant, String adapterId, Executor answerOn) {
        AdapterVersion v = registry.resolve(tenant, adapterId);
        return cache.load(v).thenApplyAsync(ignored -> versionView(v), answerOn);
    }

    /** Drops the version {@code adapterId} resolves to from the cache; running requests keep their weights. */
    public AdapterVersionView unload(String tenant, String adapterId) {
        AdapterVersion v = registry.resolve(tenant, adapterId);
        cache.unload(v);
        return versionView(v);
    }

    /** The base model and the adapters the tenant may use (an adapter by its active version). */
    public List<ModelEntry> models(String tenant) {
        List<ModelEntry> out = new ArrayList<>();
        out.add(new ModelEntry(resident.id(), false, 0, "loragate", 0, resident.id()));
        for (AdapterInfo a : registry.list(tenant)) {
            long created = a.versions().stream().filter(v -> v.version() == a.activeVersion()).findFirst()
                    .map(v -> v.createdAt().getEpochSecond()).orElse(0L);
            out.add(new ModelEntry(a.name(), true, a.activeVersion(), tenant, created, resident.id()));
        }
        return out;
    }

    // ---------------------------------------------------------------------------------------------

    private AdapterView view(AdapterInfo info) {
        Map<Integer, VersionStatus> statuses = registry.statuses(info.tenant(), info.name());
        List<AdapterVersionView> versions = new ArrayList<>();
        for (AdapterVersion v : info.versions()) {
            versions.add(versionView(v, info, statuses.get(v.version())));
        }
        return new AdapterView(info.name(), info.activeVersion(), info.pinned(), versions, recentRequests(info));
    }

    private RecentRequestRate recentRequests(AdapterInfo info) {
        int[] counts = recent.counts(info.tenant(), info.name());
        int total = 0;
        for (int c : counts) {
            total += c;
        }
        double perMinute = total * 60.0 / (RecentRequests.BUCKET_SECONDS * RecentRequests.BUCKETS);
        return new RecentRequestRate(RecentRequests.BUCKET_SECONDS, counts, total, perMinute);
    }

    private AdapterVersionView versionView(AdapterVersion v) {
        AdapterInfo info = registry.get(v.tenant(), v.name());
        return versionView(v, info, registry.statuses(v.tenant(), v.name()).get(v.version()));
    }

    private AdapterVersionView versionView(AdapterVersion v, AdapterInfo info, VersionStatus status) {
        boolean active = info.activeVersion() == v.version();
        boolean versionPinned = status != null && status.pinned();
        return new AdapterVersionView(v.id(), v.name(), v.version(), v.peftType(), v.rank(), v.bytes(), v.sha256(), v.createdAt(),
                active, info.activeVersion(), status == null ? VersionStatus.DELETED : status.state(),
                status == null ? null : status.error(), versionPinned || (info.pinned() && active), versionPinned,
                cache.isResident(v));
    }

    private static void deleteQuietly(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // a leftover staging file is harmless; the registry has its own copy
            }
        }
    }
}
