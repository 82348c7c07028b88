package io.loragate.api.grpc;

import com.google.protobuf.Struct;
import io.loragate.api.grpc.v1.Adapter;
import io.loragate.api.grpc.v1.AdapterRef;
import io.loragate.api.grpc.v1.AdapterService;
import io.loragate.api.grpc.v1.DeleteVersionResponse;
import io.loragate.api.grpc.v1.DiagnoseRequest;
import io.loragate.api.grpc.v1.GetAdapterRequest;
import io.loragate.api.grpc.v1.ListAdaptersRequest;
import io.loragate.api.grpc.v1.ListAdaptersResponse;
import io.loragate.api.grpc.v1.RegisterAdapterRequest;
import io.loragate.api.grpc.v1.SetActiveVersionRequest;
import io.loragate.config.LoragateConfig;
import io.loragate.diagnostics.DiagnosticsService;
import io.loragate.common.LoragateException;
import io.loragate.registry.AdapterCache;
import io.loragate.registry.AdapterInfo;
import io.loragate.registry.AdapterRegistry;
import io.loragate.registry.AdapterVersion;
import io.loragate.registry.VersionStatus;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Supplier;

/**
 * gRPC {@code loragate.v1.AdapterService} over the adapter registry and the device cache of adapter
 * weights; the same operations and answers as REST {@code /v1/adapters}, and {@code Diagnose} is
 * {@code POST /v1/adapters/{id}/diagnostics}. Blocking: every method reads
 * or writes the registry's database or files.
 */
@GrpcService
@Blocking
public class AdapterGrpcService implements AdapterService {

    private final AdapterRegistry registry;
    private final AdapterCache cache;
    private final TenantResolver tenants;
    private final DiagnosticsService diagnostics;
    private final Path staging;

    public AdapterGrpcService(AdapterRegistry registry, AdapterCache cache, TenantResolver tenants, DiagnosticsService diagnostics,
            LoragateConfig config) {
        this.registry = registry;
        this.cache = cache;
        this.tenants = tenants;
        this.diagnostics = diagnostics;
        // on the data volume, next to REST's uploads: adapters can outgrow a small /tmp
        this.staging = config.dataDir().resolve("tmp").resolve("grpc");
    }

    @Override
    public Uni<ListAdaptersResponse> list(ListAdaptersRequest request) {
        return call(() -> {
            ListAdaptersResponse.Builder b = ListAdaptersResponse.newBuilder();
            for (AdapterInfo info : registry.list(tenants.tenant())) {
                b.addAdapters(adapter(info));
            }
            return b.build();
        });
    }

    @Override
    public Uni<Adapter> get(GetAdapterRequest request) {
        return call(() -> adapter(registry.get(tenants.tenant(), required(request.getName(), "name"))));
    }

    /**
     * The two files travel as bytes; the registry takes paths, so they are written to staging files
     * that the registry copies and validates, and deleted here afterwards whatever happened.
     */
    @Override
    public Uni<io.loragate.api.grpc.v1.AdapterVersion> register(RegisterAdapterRequest request) {
        return call(() -> {
            String tenant = tenants.tenant();
            AdapterRegistry.checkName(request.getName());
            if (request.getAdapterConfigJson().isEmpty()) {
                throw invalid("adapter_config_json (adapter_config.json) is missing", "adapter_config_json");
            }
            if (request.getAdapterModelSafetensors().isEmpty()) {
                throw invalid("adapter_model_safetensors (adapter_model.safetensors) is missing", "adapter_model_safetensors");
            }
            Path config = null;
            Path weights = null;
            try {
                Files.createDirectories(staging);
                config = Files.createTempFile(staging, "register-", "-adapter_config.json");
                weights = Files.createTempFile(staging, "register-", "-adapter_model.safetensors");
                try (OutputStream out = Files.newOutputStream(config)) {
                    request.getAdapterConfigJson().writeTo(out);
                }
                try (OutputStream out = Files.newOutputStream(weights)) {
                    request.getAdapterModelSafetensors().writeTo(out);
                }
                return version(registry.register(tenant, request.getName(), config, weights));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot stage the uploaded adapter files under " + staging, e);
            } finally {
                deleteQuietly(config);
                deleteQuietly(weights);
            }
        });
    }

    @Override
    public Uni<io.loragate.api.grpc.v1.AdapterVersion> setActiveVersion(SetActiveVersionRequest request) {
        return call(() -> {
            String name = required(request.getName(), "name");
            if (request.getVersion() < 1) {
                throw invalid("version must be a positive integer, got " + request.getVersion(), "version");
            }
            return version(registry.setActive(tenants.tenant(), name, request.getVersion()));
        });
    }

    /** Answers once the weights are resident; the client's deadline bounds the wait. */
    @Override
    public Uni<io.loragate.api.grpc.v1.AdapterVersion> load(AdapterRef request) {
        return Uni.createFrom().deferred(() -> {
            AdapterVersion v = resolve(request);
            // the load completes on the cache's loader thread: answer from a worker, not from there
            return Uni.createFrom().completionStage(() -> cache.load(v))
                    .emitOn(Infrastructure.getDefaultWorkerPool())
                    .map(ignored -> version(v));
        });
    }

    @Override
    public Uni<io.loragate.api.grpc.v1.AdapterVersion> unload(AdapterRef request) {
        return call(() -> {
            AdapterVersion v = resolve(request);
            cache.unload(v);
            return version(v);
        });
    }

    @Override
    public Uni<io.loragate.api.grpc.v1.AdapterVersion> pin(AdapterRef request) {
        return call(() -> {
            AdapterVersion v = resolve(request);
            return version(registry.pin(tenants.tenant(), v.name(), explicitVersion(request, v)));
        });
    }

    @Override
    public Uni<io.loragate.api.grpc.v1.AdapterVersion> unpin(AdapterRef request) {
        return call(() -> {
            AdapterVersion v = resolve(request);
            return version(registry.unpin(tenants.tenant(), v.name(), explicitVersion(request, v)));
        });
    }

    /** Only an explicit {@code name@version} is deleted: a bare name would silently mean "the active one". */
    @Override
    public Uni<DeleteVersionResponse> deleteVersion(AdapterRef request) {
        return call(() -> {
            String id = required(request.getAdapterId(), "adapter_id");
            if (id.lastIndexOf('@') < 0) {
                throw invalid("'" + id + "' names no version; delete one version at a time: " + id + "@<version>", "adapter_id");
            }
            AdapterVersion v = resolve(request);
            registry.deleteVersion(tenants.tenant(), v.name(), v.version());
            return DeleteVersionResponse.newBuilder().setId(v.id()).build();
        });
    }

    @Override
    public Uni<Struct> diagnose(DiagnoseRequest request) {
        return call(() -> JsonStructs.struct(diagnostics.report(tenants.tenant(), required(request.getAdapterId(), "adapter_id"),
                new DiagnosticsService.Request(request.getFile(), request.getLayersCount() == 0 ? null : request.getLayersList(),
                        request.hasMaxExamples() ? request.getMaxExamples() : null,
                        request.getReferenceFile().isEmpty() ? null : request.getReferenceFile()))));
    }

    private AdapterVersion resolve(AdapterRef ref) {
        return registry.resolve(tenants.tenant(), required(ref.getAdapterId(), "adapter_id"));
    }

    /** {@code name@version} addresses that version; a bare {@code name} the alias (null). */
    private static Integer explicitVersion(AdapterRef ref, AdapterVersion resolved) {
        return ref.getAdapterId().lastIndexOf('@') < 0 ? null : resolved.version();
    }

    private io.loragate.api.grpc.v1.AdapterVersion version(AdapterVersion v) {
        AdapterInfo info = registry.get(v.tenant(), v.name());
        return version(v, info, registry.statuses(v.tenant(), v.name()));
    }

    private io.loragate.api.grpc.v1.AdapterVersion version(AdapterVersion v, AdapterInfo info, Map<Integer, VersionStatus> statuses) {
        boolean active = info.activeVersion() == v.version();
        VersionStatus status = statuses.get(v.version());
        return io.loragate.api.grpc.v1.AdapterVersion.newBuilder()
                .setId(v.id())
                .setName(v.name())
                .setVersion(v.version())
                .setPeftType(nz(v.peftType()))
                .setRank(v.rank())
                .setBytes(v.bytes())
                .setSha256(nz(v.sha256()))
                .setCreatedAt(v.createdAt() == null ? 0 : v.createdAt().getEpochSecond())
                .setActive(active)
                .setActiveVersion(info.activeVersion())
                .setState(status == null ? VersionStatus.DELETED : status.state())
                .setError(status == null ? "" : nz(status.error()))
                .setPinned((status != null && status.pinned()) || (info.pinned() && active))
                .setLoaded(cache.isResident(v))
                .build();
    }

    private Adapter adapter(AdapterInfo info) {
        Map<Integer, VersionStatus> statuses = registry.statuses(info.tenant(), info.name());
        Adapter.Builder b = Adapter.newBuilder()
                .setName(info.name())
                .setActiveId(info.name() + "@" + info.activeVersion())
                .setActiveVersion(info.activeVersion())
                .setPinned(info.pinned());
        for (AdapterVersion v : info.versions()) {
            b.addVersions(version(v, info, statuses));
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

    private static String nz(String s) {
        return s == null ? "" : s;
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
