package io.loragate.service;

/**
 * A dataset upload that arrives in pieces (a gRPC stream): write the bytes, then {@link #commit};
 * closing an uncommitted upload discards it.
 */
public interface DatasetUpload extends AutoCloseable {

    /** Appends bytes; over a limit the upload is discarded and this throws. */
    void write(byte[] b, int off, int len);

    /** Validates the complete file and stores it with its report. */
    DatasetView commit();

    @Override
    void close();
}
