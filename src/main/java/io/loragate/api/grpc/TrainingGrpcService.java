package io.loragate.api.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.Struct;
import io.loragate.api.grpc.v1.Checkpoint;
import io.loragate.api.grpc.v1.DatasetChunk;
import io.loragate.api.grpc.v1.DeleteDatasetRequest;
import io.loragate.api.grpc.v1.DeleteDatasetResponse;
import io.loragate.api.grpc.v1.DownloadDatasetRequest;
import io.loragate.api.grpc.v1.GetDatasetRequest;
import io.loragate.api.grpc.v1.ListCheckpointsRequest;
import io.loragate.api.grpc.v1.ListCheckpointsResponse;
import io.loragate.api.grpc.v1.ListDatasetsRequest;
import io.loragate.api.grpc.v1.ListDatasetsResponse;
import io.loragate.registry.CheckpointRecord;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import io.loragate.api.grpc.v1.CancelJobRequest;
import io.loragate.api.grpc.v1.CancelSweepRequest;
import io.loragate.api.grpc.v1.CreateSweepRequest;
import io.loragate.api.grpc.v1.GetSweepRequest;
import io.loragate.api.grpc.v1.ListSweepsRequest;
import io.loragate.api.grpc.v1.ListSweepsResponse;
import io.loragate.api.grpc.v1.Recommendation;
import io.loragate.api.grpc.v1.RecommendRequest;
import io.loragate.api.grpc.v1.Sweep;
import io.loragate.api.grpc.v1.CreateJobRequest;
import io.loragate.api.grpc.v1.Dataset;
import io.loragate.api.grpc.v1.DatasetMetadata;
import io.loragate.api.grpc.v1.GetJobRequest;
import io.loragate.api.grpc.v1.Job;
import io.loragate.api.grpc.v1.JobEvent;
import io.loragate.api.grpc.v1.LineError;
import io.loragate.api.grpc.v1.ListJobsRequest;
import io.loragate.api.grpc.v1.ListJobsResponse;
import io.loragate.api.grpc.v1.TokenStats;
import io.loragate.api.grpc.v1.TrainingService;
import io.loragate.api.grpc.v1.UploadDatasetRequest;
import io.loragate.api.grpc.v1.WatchJobRequest;
import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import io.loragate.recommend.Recommendations;
import io.loragate.recommend.Sweeps;
import io.loragate.training.data.DatasetFile;
import io.loragate.training.data.DatasetReport;
import io.loragate.training.data.Datasets;
import io.loragate.training.jobs.FineTuningJobs;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;

/**
 * gRPC {@code loragate.v1.TrainingService}. {@code UploadDataset} streams the chunks straight into the
 * dataset store's staging file on a worker thread (constant memory; a limit is enforced as soon as a
 * chunk crosses it, and the upload is then discarded). The job rpcs are the REST
 * {@code /v1/fine_tuning/jobs} operations; {@code WatchJob} streams the events live. {@code Recommend}
 * and the sweep rpcs are {@code POST /v1/recommendations} and {@code /v1/fine_tuning/sweeps}.
 */
@GrpcService
public class TrainingGrpcService implements TrainingService {

    /** Largest DownloadDataset message payload (gRPC streams do best with messages of tens of KiB). */
    static final int DOWNLOAD_CHUNK = 32 * 1024;

    private final Datasets datasets;
    private final FineTuningJobs jobs;
    private final TenantResolver tenants;
    private final Recommendations recommendations;
    private final Sweeps sweeps;

    public TrainingGrpcService(Datasets datasets, FineTuningJobs jobs, TenantResolver tenants, Recommendations recommendations,
            Sweeps sweeps) {
        this.datasets = datasets;
        this.jobs = jobs;
        this.tenants = tenants;
        this.recommendations = recommendations;
        this.sweeps = sweeps;
    }

    @Override
    public Uni<Recommendation> recommend(RecommendRequest request) {
        String tenant = tenants.tenant();
        return blocking(() -> RecommendationMessages.recommendation(recommendations.recommend(tenant,
                RecommendationMessages.request(request))));
    }

    @Override
    public Uni<Sweep> createSweep(CreateSweepRequest request) {
        String tenant = tenants.tenant();
        return blocking(() -> SweepMessages.sweep(sweeps.create(tenant, SweepMessages.request(request))));
    }

    @Override
    public Uni<Sweep> getSweep(GetSweepRequest request) {
        String tenant = tenants.tenant();
        return blocking(() -> SweepMessages.sweep(sweeps.get(tenant, request.getSweepId())));
    }

    @Override
    public Uni<ListSweepsResponse> listSweeps(ListSweepsRequest request) {
        String tenant = tenants.tenant();
        int limit = request.getLimit() == 0 ? 20 : request.getLimit();
        return blocking(() -> {
            ListSweepsResponse.Builder b = ListSweepsResponse.newBuilder();
            sweeps.list(tenant, limit).forEach(v -> b.addSweeps(SweepMessages.sweep(v)));
            return b.build();
        });
    }

    @Override
    public Uni<Sweep> cancelSweep(CancelSweepRequest request) {
        String tenant = tenants.tenant();
        return blocking(() -> SweepMessages.sweep(sweeps.cancel(tenant, request.getSweepId())));
    }

    @Override
    public Uni<ListDatasetsResponse> listDatasets(ListDatasetsRequest request) {
        String tenant = tenants.tenant();
        return blocking(() -> {
            ListDatasetsResponse.Builder b = ListDatasetsResponse.newBuilder();
            datasets.list(tenant).forEach(f -> b.addDatasets(dataset(f)));
            return b.build();
        });
    }

    @Override
    public Uni<Dataset> getDataset(GetDatasetRequest request) {
        String tenant = tenants.tenant();
        return blocking(() -> {
            String id = request.getDatasetId();
            return dataset(request.hasMaxLength() ? datasets.get(tenant, id, request.getMaxLength()) : datasets.get(tenant, id));
        });
    }

    /** The bytes in chunks of {@value #DOWNLOAD_CHUNK}, read one chunk per request(n) from the client (back-pressure). */
    @Override
    public Multi<DatasetChunk> downloadDataset(DownloadDatasetRequest request) {
        String tenant = tenants.tenant();
        String id = request.getDatasetId();
        return Multi.createFrom().<InputStream, DatasetChunk>resource(() -> datasets.content(tenant, id), in -> Multi.createFrom().<InputStream, DatasetChunk>generator(() -> in, (stream, emitter) -> {
            try {
                byte[] buf = stream.readNBytes(DOWNLOAD_CHUNK);
                if (buf.length == 0) {
                    emitter.complete();
                } else {
                    emitter.emit(DatasetChunk.newBuilder().setChunk(ByteString.copyFrom(buf)).build());
                }
            } catch (IOException e) {
                emitter.fail(new UncheckedIOException(e));
            }
            return stream;
        })).withFinalizer(in -> {
            try {
                in.close();
            } catch (IOException ignored) {
                // read-only stream: nothing to lose
            }
        })
                .runSubscriptionOn(Infrastructure.getDefaultWorkerPool());
    }

    @Override
    public Uni<DeleteDatasetResponse> deleteDataset(DeleteDatasetRequest request) {
        String tenant = tenants.tenant();
        return blocking(() -> {
            datasets.delete(tenant, request.getDatasetId());
            return DeleteDatasetResponse.newBuilder().setId(request.getDatasetId()).setDeleted(true).build();
        });
    }

    @Override
    public Uni<ListCheckpointsResponse> listCheckpoints(ListCheckpointsRequest request) {
        String tenant = tenants.tenant();
        String id = request.getJobId();
        return blocking(() -> {
            ListCheckpointsResponse.Builder b = ListCheckpointsResponse.newBuilder();
            for (CheckpointRecord c : jobs.checkpoints(tenant, id)) {
                Checkpoint.Builder k = Checkpoint.newBuilder().setId(c.publicId())
                        .setCreatedAt(c.created().getEpochSecond()).setJobId(id).setStepNumber(c.step()).setStateKept(c.hasState());
                Struct metrics = JsonStructs.struct(c.metricsJson());
                if (metrics != null) {
                    k.setMetrics(metrics);
                }
                b.addCheckpoints(k);
            }
            return b.build();
        });
    }

    @Override
    public Uni<Dataset> uploadDataset(Multi<UploadDatasetRequest> request) {
        UploadCall call = new UploadCall(tenants.tenant());
        return request
                .emitOn(Infrastructure.getDefaultWorkerPool()) // staging writes and validation block
                .onItem().invoke(call::accept)
                .collect().last()
                .map(last -> dataset(call.commit()))
                .onTermination().invoke(call::close);
    }

    /** One UploadDataset call: metadata first, then chunks. Messages arrive one at a time (Reactive Streams). */
    private final class UploadCall {

        private final String tenant;
        private Datasets.Upload upload;

        UploadCall(String tenant) {
            this.tenant = tenant;
        }

        void accept(UploadDatasetRequest message) {
            if (upload == null) {
                if (!message.hasMetadata()) {
                    throw invalid("the first message must carry the metadata (filename, purpose), not a chunk", "metadata");
                }
                DatasetMetadata m = message.getMetadata();
                upload = datasets.begin(tenant, m.getFilename(), m.getPurpose());
                return;
            }
            if (message.hasMetadata()) {
                throw invalid("metadata comes once, in the first message; later messages carry chunks", "metadata");
            }
            byte[] chunk = message.getChunk().toByteArray();
            upload.write(chunk, 0, chunk.length);
        }

        DatasetFile commit() {
            if (upload == null) {
                throw invalid("the stream was empty: send the metadata, then the file's bytes in chunks", "metadata");
            }
            return upload.commit();
        }

        void close() {
            if (upload != null) {
                upload.close();
            }
        }
    }

    @Override
    public Uni<Job> createJob(CreateJobRequest request) {
        String tenant = tenants.tenant();
        return blocking(() -> JobMessages.job(jobs.create(tenant, JobMessages.request(request))));
    }

    @Override
    public Uni<Job> getJob(GetJobRequest request) {
        String tenant = tenants.tenant();
        return blocking(() -> JobMessages.job(jobs.get(tenant, request.getJobId())));
    }

    @Override
    public Uni<ListJobsResponse> listJobs(ListJobsRequest request) {
        String tenant = tenants.tenant();
        int limit = request.getLimit() == 0 ? 20 : request.getLimit();
        return blocking(() -> {
            FineTuningJobs.Page page = jobs.list(tenant, limit, request.getAfter().isEmpty() ? null : request.getAfter());
            ListJobsResponse.Builder b = ListJobsResponse.newBuilder().setHasMore(page.hasMore());
            page.jobs().forEach(j -> b.addJobs(JobMessages.job(j)));
            return b.build();
        });
    }

    @Override
    public Uni<Job> cancelJob(CancelJobRequest request) {
        String tenant = tenants.tenant();
        return blocking(() -> JobMessages.job(jobs.cancel(tenant, request.getJobId())));
    }

    /** Recorded events first, then live ones, until the job is final; a client that goes away ends the watch. */
    @Override
    public Multi<JobEvent> watchJob(WatchJobRequest request) {
        String tenant = tenants.tenant();
        String id = request.getJobId();
        return Multi.createFrom().<JobEvent>emitter(em -> {
            try {
                long after = FineTuningJobs.eventSeq(id, request.getAfterEventId());
                FineTuningJobs.Watch w = jobs.watch(tenant, id, after, e -> em.emit(JobMessages.event(e)), err -> {
                    if (err == null) {
                        em.complete();
                    } else {
                        em.fail(err);
                    }
                });
                em.onTermination(w::close);
            } catch (RuntimeException e) {
                em.fail(e);
            }
        }).runSubscriptionOn(Infrastructure.getDefaultWorkerPool());
    }

    private static <T> Uni<T> blocking(java.util.function.Supplier<T> body) {
        return Uni.createFrom().item(body).runSubscriptionOn(Infrastructure.getDefaultWorkerPool());
    }

    private static LoragateException invalid(String message, String param) {
        return new LoragateException(Kind.INVALID_ARGUMENT, message).withParam(param);
    }

    static Dataset dataset(DatasetFile f) {
        Dataset.Builder b = Dataset.newBuilder()
                .setId(f.id())
                .setFilename(f.filename())
                .setBytes(f.bytes())
                .setPurpose(f.purpose())
                .setCreatedAt(f.createdAt());
        if (f.report() != null) {
            b.setReport(report(f.report()));
        }
        return b.build();
    }

    static io.loragate.api.grpc.v1.DatasetReport report(DatasetReport r) {
        DatasetReport.TokenStats t = r.tokens();
        io.loragate.api.grpc.v1.DatasetReport.Builder b = io.loragate.api.grpc.v1.DatasetReport.newBuilder()
                .setFormat(r.format() == null ? "" : r.format().wireName())
                .setExamples(r.examples())
                .setTokens(TokenStats.newBuilder().setMin(t.min()).setMax(t.max()).setMean(t.mean()).setP50(t.p50())
                        .setP95(t.p95()).setTotal(t.total()))
                .setTruncated(r.truncated())
                .setDuplicates(r.duplicates())
                .putAllLabelCounts(r.labelCounts())
                .setErrorCount(r.errorCount())
                .setMaxLength(r.maxLength());
        for (DatasetReport.LineError e : r.errors()) {
            b.addErrors(LineError.newBuilder().setLine(e.line()).setReason(e.reason()));
        }
        return b.build();
    }
}
