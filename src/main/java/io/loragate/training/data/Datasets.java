package io.loragate.training.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.loragate.config.LoragateConfig;
import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import io.loragate.registry.DatasetStore;
import io.loragate.registry.StoredFile;
import io.loragate.runtime.ResidentModel;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * Datasets of tenants, as the transports see them: upload (stored by {@link DatasetStore}, validated
 * by {@link DatasetParser} against the resident base's tokenizer and chat template), list, get,
 * delete, content, and the parsed examples for training. Every call is scoped by tenant; another
 * tenant's id is NOT_FOUND exactly like an unknown one.
 *
 * <p>A file without a single valid example is refused at upload (INVALID_ARGUMENT, param {@code file})
 * with its likely cause ({@link NoExampleDiagnosis}) and nothing is stored. Files stored before that
 * rule may still have none: {@link #examples} refuses them, so a job on one fails validation.
 */
@ApplicationScoped
public class Datasets {

    private static final Logger LOG = Logger.getLogger(Datasets.class);

    /** The only purpose accepted. */
    public static final String PURPOSE = "fine-tune";
    /** File names are kept for display, cut to this many characters. */
    static final int MAX_FILENAME = 255;
    private static final long BASE_WAIT_SECONDS = 60;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final DatasetStore store;
    private final ResidentModel resident;
    private final LoragateConfig config;
    private final DatasetParser.LineLimits lineLimits;
    private final ValidationGate validations;

    public Datasets(DatasetStore store, ResidentModel resident, LoragateConfig config) {
        this.store = store;
        this.resident = resident;
        this.config = config;
        LoragateConfig.FileSettings f = config.files();
        this.lineLimits = new DatasetParser.LineLimits(f.maxMessagesPerLine(), f.maxLineDepth(), f.maxLabels());
        this.validations = new ValidationGate(f.maxConcurrentValidations());
    }

    /** The bound on validations running at once ({@code loragate.files.max-concurrent-validations}). */
    public ValidationGate validationGate() {
        return validations;
    }

    /**
     * Stores and validates a dataset streamed from {@code content} (constant memory). Over
     * {@code loragate.files.max-bytes} or {@code loragate.files.max-lines} it is refused
     * (INVALID_ARGUMENT, param {@code file}) and nothing is stored.
     */
    public DatasetFile upload(String tenant, String filename, String purpose, InputStream content) {
        try (Upload u = begin(tenant, filename, purpose)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = content.read(buf)) > 0; ) {
                u.write(buf, 0, n);
            }
            return u.commit();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the upload: " + e.getMessage(), e);
        }
    }

    /**
     * Starts an upload that arrives in pieces (a gRPC stream): write the bytes, then {@link Upload#commit};
     * closing an uncommitted upload discards it. Purpose and file name are checked before any byte.
     */
    public Upload begin(String tenant, String filename, String purpose) {
        checkPurpose(purpose);
        return new Upload(tenant, displayName(filename), store.stage());
    }

    /** One upload in progress: its bytes go to a staging file, checked against the limits as they come. */
    public final class Upload implements AutoCloseable {

        private final String tenant;
        private final String filename;
        private final DatasetStore.Staging staging;

        private Upload(String tenant, String filename, DatasetStore.Staging staging) {
            this.tenant = tenant;
            this.filename = filename;
            this.staging = staging;
        }

        /** Appends bytes; over a limit the upload is discarded and this throws. */
        public void write(byte[] b, int off, int len) {
            staging.write(b, off, len);
        }

        /** Validates the complete file and stores it with its report. */
        public DatasetFile commit() {
            staging.finish();
            DatasetReport report = validations.run(() -> parser().validate(staging.path(), defaultMaxLength()));
            String why = NoExampleDiagnosis.refusal(staging.path(), report);
            if (why != null) { // nothing to train on: refused with the likely cause, nothing stored
                LOG.infof("refused dataset upload %s/%s (%d bytes): %s", tenant, filename, staging.bytes(), why);
                throw new LoragateException(Kind.INVALID_ARGUMENT, why).withParam("file");
            }
            StoredFile f = store.publish(tenant, staging, filename, PURPOSE, toJson(report));
            LOG.infof("stored dataset %s/%s (%s, %d bytes, %s, %d examples, %d bad lines)", tenant, f.id(), filename,
                    f.bytes(), report.format(), report.examples(), report.errorCount());
            return view(f, report);
        }

        /** Discards the upload unless it was committed. */
        @Override
        public void close() {
            staging.close();
        }
    }

    /** The tenant's datasets, newest first. */
    public List<DatasetFile> list(String tenant) {
        return store.list(tenant).stream().map(f -> view(f, fromJson(f))).toList();
    }

    public DatasetFile get(String tenant, String id) {
        StoredFile f = store.get(tenant, id);
        return view(f, fromJson(f));
    }

    /** The dataset with its report recounted for {@code maxLength} tokens (INVALID_ARGUMENT below 1). */
    public DatasetFile get(String tenant, String id, int maxLength) {
        if (maxLength < 1) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "max_length must be a positive integer, got " + maxLength)
                    .withParam("max_length");
        }
        DatasetFile f = get(tenant, id);
        return new DatasetFile(f.id(), f.filename(), f.bytes(), f.purpose(), f.createdAt(), f.status(), report(tenant, id, maxLength));
    }

    /** Deletes the dataset; its content goes once no other file (of any tenant) has the same bytes. */
    public void delete(String tenant, String id) {
        store.delete(tenant, id);
    }

    /** The file's bytes as uploaded. */
    public InputStream content(String tenant, String id) {
        return store.open(tenant, id);
    }

    /**
     * The valid examples of the dataset's format, in file order, for training. A dataset without any
     * is refused (FAILED_PRECONDITION) with the first bad lines.
     */
    public List<DatasetExample> examples(String tenant, String id) {
        StoredFile f = store.get(tenant, id);
        List<DatasetExample> examples = readable(id, () -> parser().examples(store.blob(f)));
        if (examples.isEmpty()) {
            DatasetReport r = fromJson(f);
            String first = r == null || r.errors().isEmpty() ? "" : "; " + String.join("; ",
                    r.errors().stream().limit(3).map(DatasetReport.LineError::toString).toList());
            throw new LoragateException(Kind.FAILED_PRECONDITION, "file '" + id + "' has no valid example ("
                    + (r == null ? 0 : r.errorCount()) + " bad lines" + first + ")").withParam("training_file");
        }
        return examples;
    }

    /** The report for another max length (the stored one is for {@link #defaultMaxLength()}). */
    public DatasetReport report(String tenant, String id, int maxLength) {
        StoredFile f = store.get(tenant, id);
        DatasetReport stored = fromJson(f);
        if (stored != null && stored.maxLength() == maxLength) {
            return stored;
        }
        return readable(id, () -> validations.run(() -> parser().validate(store.blob(f), maxLength)));
    }

    /** {@code loragate.limits.max-windows-per-input}: the windows a sliding_window example is read in at most. */
    public int maxWindowsPerInput() {
        return config.limits().maxWindowsPerInput();
    }

    /** {@code loragate.training.max-seq-length}: the length stored reports count truncation at. */
    public int defaultMaxLength() {
        return config.training().maxSeqLength();
    }

    // ---------------------------------------------------------------------------------------------

    private DatasetParser parser() {
        resident.awaitModel(BASE_WAIT_SECONDS);
        return new DatasetParser(resident.tokenizer(), resident.chatTemplate(), lineLimits);
    }

    /** A file deleted while it is being read is simply not found. */
    private static <T> T readable(String id, java.util.function.Supplier<T> read) {
        try {
            return read.get();
        } catch (UncheckedIOException e) {
            if (e.getCause() instanceof NoSuchFileException) {
                throw new LoragateException(Kind.NOT_FOUND, "file '" + id + "' not found");
            }
            throw e;
        }
    }

    private static void checkPurpose(String purpose) {
        if (purpose == null || purpose.isBlank()) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "purpose is missing: it must be '" + PURPOSE + "'")
                    .withParam("purpose");
        }
        if (!PURPOSE.equals(purpose)) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "purpose must be '" + PURPOSE + "', got '" + purpose + "'")
                    .withParam("purpose");
        }
    }

    /** The client's file name without directories, cut to {@value #MAX_FILENAME} characters. */
    static String displayName(String filename) {
        String name = filename == null ? "" : filename.substring(Math.max(filename.lastIndexOf('/'), filename.lastIndexOf('\\')) + 1);
        name = name.replaceAll("\\p{Cntrl}", "").strip();
        if (name.isEmpty()) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "the file has no name").withParam("file");
        }
        return name.length() <= MAX_FILENAME ? name : name.substring(0, MAX_FILENAME);
    }

    private static DatasetFile view(StoredFile f, DatasetReport report) {
        return new DatasetFile(f.id(), f.filename(), f.bytes(), f.purpose(), f.createdAt().getEpochSecond(), f.status(),
                report);
    }

    private static String toJson(DatasetReport report) {
        try {
            return JSON.writeValueAsString(report);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static DatasetReport fromJson(StoredFile f) {
        if (f.report() == null) {
            return null;
        }
        try {
            return JSON.readValue(f.report(), DatasetReport.class);
        } catch (JsonProcessingException e) {
            throw new LoragateException(Kind.DATA_LOSS, "file '" + f.id() + "': stored report is unreadable: "
                    + e.getOriginalMessage());
        }
    }
}
