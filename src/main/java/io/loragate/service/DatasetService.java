package io.loragate.service;

import io.loragate.training.data.DatasetFile;
import io.loragate.training.data.DatasetReport;
import io.loragate.training.data.Datasets;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Datasets for fine-tuning, as REST {@code /v1/files} and gRPC {@code TrainingService} call them:
 * delegates to the training layer's {@link Datasets} and answers {@link DatasetView}s. Every call is
 * scoped by the caller's tenant.
 */
@ApplicationScoped
public class DatasetService {

    /** A dataset's bytes as uploaded, with what a download header needs. */
    public record Download(String filename, long bytes, InputStream content) {
    }

    private final Datasets datasets;

    public DatasetService(Datasets datasets) {
        this.datasets = datasets;
    }

    /** Stores and validates the dataset in {@code file} (a spooled upload the caller deletes). */
    public DatasetView upload(String tenant, String filename, String purpose, Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return view(datasets.upload(tenant, filename, purpose, in));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Starts an upload that arrives in pieces; purpose and file name are checked before any byte. */
    public DatasetUpload begin(String tenant, String filename, String purpose) {
        Datasets.Upload upload = datasets.begin(tenant, filename, purpose);
        return new DatasetUpload() {
            @Override
            public void write(byte[] b, int off, int len) {
                upload.write(b, off, len);
            }

            @Override
            public DatasetView commit() {
                return view(upload.commit());
            }

            @Override
            public void close() {
                upload.close();
            }
        };
    }

    /** The tenant's datasets, newest first. */
    public List<DatasetView> list(String tenant) {
        return datasets.list(tenant).stream().map(DatasetService::view).toList();
    }

    public DatasetView get(String tenant, String id) {
        return view(datasets.get(tenant, id));
    }

    /** The dataset with its report recounted for {@code maxLength} tokens (INVALID_ARGUMENT below 1). */
    public DatasetView get(String tenant, String id, int maxLength) {
        return view(datasets.get(tenant, id, maxLength));
    }

    public void delete(String tenant, String id) {
        datasets.delete(tenant, id);
    }

    /** The bytes as uploaded; the caller closes the stream. */
    public InputStream content(String tenant, String id) {
        return datasets.content(tenant, id);
    }

    /** The bytes as uploaded with the file's name and size; the caller closes the stream. */
    public Download download(String tenant, String id) {
        DatasetFile f = datasets.get(tenant, id);
        return new Download(f.filename(), f.bytes(), datasets.content(tenant, id));
    }

    static DatasetView view(DatasetFile f) {
        return new DatasetView(f.id(), f.filename(), f.bytes(), f.purpose(), f.createdAt(), f.status(),
                f.report() == null ? null : report(f.report()));
    }

    private static DatasetView.Report report(DatasetReport r) {
        DatasetReport.TokenStats t = r.tokens();
        return new DatasetView.Report(r.format() == null ? null : r.format().wireName(), r.examples(),
                new DatasetView.TokenStats(t.min(), t.max(), t.mean(), t.p50(), t.p95(), t.total()), r.maxLength(), r.truncated(),
                r.duplicates(), r.labelCounts(),
                r.errors().stream().map(e -> new DatasetView.LineError(e.line(), e.reason())).toList(), r.errorCount());
    }
}
