package io.loragate.api.grpc;

import com.google.protobuf.Struct;
import io.loragate.api.grpc.v1.Adapter;
import io.loragate.api.grpc.v1.AdapterRef;
import io.loragate.api.grpc.v1.AdapterVersion;
import io.loragate.api.grpc.v1.DeleteVersionResponse;
import io.loragate.api.grpc.v1.DiagnoseRequest;
import io.loragate.api.grpc.v1.GetAdapterRequest;
import io.loragate.api.grpc.v1.ListAdaptersRequest;
import io.loragate.api.grpc.v1.ListAdaptersResponse;
import io.loragate.api.grpc.v1.RegisterAdapterRequest;
import io.loragate.api.grpc.v1.SetActiveVersionRequest;
import io.loragate.common.LoragateException;
import io.loragate.service.AdapterDiagnosticsService;
import io.loragate.service.AdapterService;
import io.loragate.service.AdapterVersionView;
import io.loragate.service.AdapterView;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import java.util.function.Supplier;

/**
 * gRPC {@code loragate.v1.AdapterService} over {@link AdapterService} (the adapter registry and the
 * device cache of adapter weights); the same operations and answers as REST {@code /v1/adapters}, and {@code Diagnose} is
 * {@code POST /v1/adapters/{id}/diagnostics}. Blocking: every method reads
 * or writes the registry's database or files.
 */
@GrpcService
@Blocking
public class AdapterGrpcService implements io.loragate.api.grpc.v1.AdapterService {

    private final AdapterService adapters;
    private final TenantResolver tenants;
    private final AdapterDiagnosticsService diagnostics;

    public AdapterGrpcService(AdapterService adapters, TenantResolver tenants, AdapterDiagnosticsService diagnostics) {
        this.adapters = adapters;
        this.tenants = tenants;
        this.diagnostics = diagnostics;
    }

    @Override
    public Uni<ListAdaptersResponse> list(ListAdaptersRequest request) {
        return call(() -> {
            ListAdaptersResponse.Builder b = ListAdaptersResponse.newBuilder();
            for (AdapterView adapter : adapters.list(tenants.tenant())) {
                b.addAdapters(adapter(adapter));
            }
            return b.build();
        });
    }

    @Override
    public Uni<Adapter> get(GetAdapterRequest request) {
        return call(() -> adapter(adapters.get(tenants.tenant(), required(request.getName(), "name"))));
    }

    /** The two files travel as bytes; the service stages them for the registry. */
    @Override
    public Uni<AdapterVersion> register(RegisterAdapterRequest request) {
        return call(() -> {
            String tenant = tenants.tenant();
            AdapterService.checkName(request.getName());
            if (request.getAdapterConfigJson().isEmpty()) {
                throw invalid("adapter_config_json (adapter_config.json) is missing", "adapter_config_json");
            }
            if (request.getAdapterModelSafetensors().isEmpty()) {
                throw invalid("adapter_model_safetensors (adapter_model.safetensors) is missing", "adapter_model_safetensors");
            }
            return version(adapters.register(tenant, request.getName(), request.getAdapterConfigJson().newInput(),
                    request.getAdapterModelSafetensors().newInput()));
        });
    }

    @Override
    public Uni<AdapterVersion> setActiveVersion(SetActiveVersionRequest request) {
        return call(() -> {
            String name = required(request.getName(), "name");
            if (request.getVersion() < 1) {
                throw invalid("version must be a positive integer, got " + request.getVersion(), "version");
            }
            return version(adapters.setActive(tenants.tenant(), name, request.getVersion()));
        });
    }

    /** Answers once the weights are resident; the client's deadline bounds the wait. */
    @Override
    public Uni<AdapterVersion> load(AdapterRef request) {
        return Uni.createFrom().deferred(() -> {
            String id = required(request.getAdapterId(), "adapter_id");
            // the load completes on the cache's loader thread: answer from a worker, not from there
            return Uni.createFrom().completionStage(() -> adapters.load(tenants.tenant(), id, Infrastructure.getDefaultWorkerPool()))
                    .emitOn(Infrastructure.getDefaultWorkerPool())
                    .map(AdapterGrpcService::version);
        });
    }

    @Override
    public Uni<AdapterVersion> unload(AdapterRef request) {
        return call(() -> version(adapters.unload(tenants.tenant(), required(request.getAdapterId(), "adapter_id"))));
    }

    @Override
    public Uni<AdapterVersion> pin(AdapterRef request) {
        return call(() -> {
            AdapterVersionView v = resolve(request);
            return version(adapters.pin(tenants.tenant(), v.name(), explicitVersion(request, v)));
        });
    }

    @Override
    public Uni<AdapterVersion> unpin(AdapterRef request) {
        return call(() -> {
            AdapterVersionView v = resolve(request);
            return version(adapters.unpin(tenants.tenant(), v.name(), explicitVersion(request, v)));
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
            AdapterVersionView v = resolve(request);
            adapters.deleteVersion(tenants.tenant(), v.name(), v.version());
            return DeleteVersionResponse.newBuilder().setId(v.id()).build();
        });
    }

    @Override
    public Uni<Struct> diagnose(DiagnoseRequest request) {
        return call(() -> JsonStructs.struct(diagnostics.report(tenants.tenant(), required(request.getAdapterId(), "adapter_id"),
                new AdapterDiagnosticsService.Request(request.getFile(), request.getLayersCount() == 0 ? null : request.getLayersList(),
                        request.hasMaxExamples() ? request.getMaxExamples() : null,
                        request.getReferenceFile().isEmpty() ? null : request.getReferenceFile()))));
    }

    private AdapterVersionView resolve(AdapterRef ref) {
        return adapters.resolve(tenants.tenant(), required(ref.getAdapterId(), "adapter_id"));
    }

    /** {@code name@version} addresses that version; a bare {@code name} the alias (null). */
    private static Integer explicitVersion(AdapterRef ref, AdapterVersionView resolved) {
        return ref.getAdapterId().lastIndexOf('@') < 0 ? null : resolved.version();
    }

    private static AdapterVersion version(AdapterVersionView v) {
        return AdapterVersion.newBuilder()
                .setId(v.id())
                .setName(v.name())
                .setVersion(v.version())
                .setPeftType(nz(v.peftType()))
                .setRank(v.rank())
                .setBytes(v.bytes())
                .setSha256(nz(v.sha256()))
                .setCreatedAt(v.createdAt() == null ? 0 : v.createdAt().getEpochSecond())
                .setActive(v.active())
                .setActiveVersion(v.activeVersion())
                .setState(v.state())
                .setError(nz(v.error()))
                .setPinned(v.pinned())
                .setLoaded(v.loaded())
                .build();
    }

    private static Adapter adapter(AdapterView adapter) {
        Adapter.Builder b = Adapter.newBuilder()
                .setName(adapter.name())
                .setActiveId(adapter.activeId())
                .setActiveVersion(adapter.activeVersion())
                .setPinned(adapter.pinned());
        for (AdapterVersionView v : adapter.versions()) {
            b.addVersions(version(v));
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
}
