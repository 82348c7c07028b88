package io.loragate.api.grpc;

import io.loragate.api.grpc.v1.Adapter;
import io.loragate.api.grpc.v1.AdapterRef;
import io.loragate.api.grpc.v1.AdapterService;
import io.loragate.api.grpc.v1.DeleteVersionResponse;
import io.loragate.api.grpc.v1.GetAdapterRequest;
import io.loragate.api.grpc.v1.ListAdaptersRequest;
import io.loragate.api.grpc.v1.ListAdaptersResponse;
import io.loragate.api.grpc.v1.RegisterAdapterRequest;
import io.loragate.api.grpc.v1.SetActiveVersionRequest;
import io.loragate.model.LoragateException;
import io.loragate.registry.AdapterCache;
import io.loragate.registry.AdapterInfo;
import io.loragate.registry.AdapterRegistry;
import io.loragate.registry.AdapterVersion;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Uni;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * gRPC {@code loragate.v1.AdapterService} over the adapter registry and the device cache of adapter
 * weights. Blocking: every method reads or writes the registry's database or files.
 */
@GrpcService
@Blocking
public class AdapterGrpcService implements AdapterService {

    private final AdapterRegistry registry;
    private final AdapterCache cache;
    private final TenantResolver tenants;

    public AdapterGrpcService(AdapterRegistry registry, AdapterCache cache, TenantResolver tenants) {
        this.registry = registry;
        this.cache = cache;
        this.tenants = tenants;
    }

    @Override
    public Uni<ListAdaptersResponse> list(ListAdaptersRequest request) {
        return call(() -> {
            ListAdaptersResponse.Builder b = ListAdaptersResponse.newBuilder();
            for (AdapterInfo info : registry.list(tenants.current())) {
                b.addAdapters(adapter(info));
            }
            return b.build();
        });
    }

    @Override
    public Uni<Adapter> get(GetAdapterRequest request) {
        return call(() -> adapter(registry.get(tenants.current(), required(request.getName(), "name"))));
    }

    /**
     * The two files travel as bytes; the registry takes paths, so they are written to temporary files
     * that the registry copies and validates, and deleted here afterwards whatever happened.
     */
    @Override
    public Uni<io.loragate.api.grpc.v1.AdapterVersion> register(RegisterAdapterRequest request) {
        return call(() -> {
            String tenant = tenants.current();
            String name = required(request.getName(), "name");
            if (request.getAdapterConfigJson().isEmpty()) {
                throw invalid("adapter_config_json must not be empty", "adapter_config_json");
            }
            if (request.getAdapterModelSafetensors().isEmpty()) {
                throw invalid("adapter_model_safetensors must not be empty", "adapter_model_safetensors");
            }
            Path config = null;
            Path weights = null;
            try {
                config = Files.createTempFile("loragate-grpc-", "-adapter_config.json");
                weights = Files.createTempFile("loragate-grpc-", "-adapter_model.safetensors");
                try (var out = Files.newOutputStream(config)) {
                    request.getAdapterConfigJson().writeTo(out);
                }
                try (var out = Files.newOutputStream(weights)) {
                    request.getAdapterModelSafetensors().writeTo(out);
                }
                AdapterVersion v = registry.register(tenant, name, config, weights);
                return version(tenant, v);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot stage the uploaded adapter files", e);
            } finally {
                deleteQuietly(config);
                deleteQuietly(weights);
            }
        });
    }

    @Override
    public Uni<io.loragate.api.grpc.v1.AdapterVersion> setActiveVersion(SetActiveVersionRequest request) {
        return call(() -> {
            String tenant = tenants.current();
            String name = required(request.getName(), "name");
            if (request.getVersion() < 1) {
                throw invalid("version must be at least 1, got " + request.getVersion(), "version");
            }
            return version(registry.setActive(tenant, name, request.getVersion()), true);
        });
    }

    @Override
    public Uni<io.loragate.api.grpc.v1.AdapterVersion> load(AdapterRef request) {
        return Uni.createFrom().deferred(() -> {
            String tenant = tenants.current();
            AdapterVersion v = resolve(tenant, request);
            return Uni.createFrom().completionStage(() -> cache.load(v)).map(ignored -> version(tenant, v));
        });
    }

    @Override
    public Uni<io.loragate.api.grpc.v1.AdapterVersion> unload(AdapterRef request) {
        return call(() -> {
            String tenant = tenants.current();
            AdapterVersion v = resolve(tenant, request);
            cache.unload(v);
            return version(tenant, v);
        });
    }

    @Override
    public Uni<io.loragate.api.grpc.v1.AdapterVersion> pin(AdapterRef request) {
        return call(() -> {
            String tenant = tenants.current();
            AdapterVersion v = resolve(tenant, request);
            cache.pin(v);
            return version(tenant, v);
        });
    }

    @Override
    public Uni<io.loragate.api.grpc.v1.AdapterVersion> unpin(AdapterRef request) {
        return call(() -> {
            String tenant = tenants.current();
            AdapterVersion v = resolve(tenant, request);
            cache.unpin(v);
            return version(tenant, v);
        });
    }

    /** Only an explicit {@code name@version} is deleted: a bare name would silently mean "the active one". */
    @Override
    public Uni<DeleteVersionResponse> deleteVersion(AdapterRef request) {
        return call(() -> {
            String tenant = tenants.current();
            String id = required(request.getAdapterId(), "adapter_id");
            if (id.indexOf('@') < 0) {
                throw invalid("adapter_id must name a version, as name@version, got '" + id + "'", "adapter_id");
            }
            AdapterVersion v = registry.resolve(tenant, id);
            registry.deleteVersion(tenant, v.name(), v.version());
            return DeleteVersionResponse.newBuilder().setId(v.id()).build();
        });
    }

    private AdapterVersion resolve(String tenant, AdapterRef ref) {
        return registry.resolve(tenant, required(ref.getAdapterId(), "adapter_id"));
    }

    /** A version message with {@code active} filled from the registry's current alias. */
    private io.loragate.api.grpc.v1.AdapterVersion version(String tenant, AdapterVersion v) {
        return version(v, registry.get(tenant, v.name()).activeVersion() == v.version());
    }

    static io.loragate.api.grpc.v1.AdapterVersion version(AdapterVersion v, boolean active) {
        return io.loragate.api.grpc.v1.AdapterVersion.newBuilder()
                .setId(v.id())
                .setName(v.name())
                .setVersion(v.version())
                .setPeftType(v.peftType() == null ? "" : v.peftType())
                .setRank(v.rank())
                .setBytes(v.bytes())
                .setSha256(v.sha256() == null ? "" : v.sha256())
                .setCreatedAtMs(v.createdAt() == null ? 0 : v.createdAt().toEpochMilli())
                .setActive(active)
                .build();
    }

    static Adapter adapter(AdapterInfo info) {
        Adapter.Builder b = Adapter.newBuilder()
                .setName(info.name())
                .setId(info.name() + "@" + info.activeVersion())
                .setActiveVersion(info.activeVersion())
                .setPinned(info.pinned());
        for (AdapterVersion v : info.versions()) {
            b.addVersions(version(v, v.version() == info.activeVersion()));
        }
        return b.build();
    }

    private static <T> Uni<T> call(Supplier<T> body) {
        return Uni.createFrom().item(body);
    }

    private static String required(String value, String field) {
        if (value.isEmpty()) {
            throw invalid(field + " must not be empty", field);
        }
        return value;
    }

    private static LoragateException invalid(String message, String field) {
        return new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, message).withParam(field);
    }

    private static void deleteQuietly(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // a leftover temp file is harmless; the registry has its own copy
            }
        }
    }
}
