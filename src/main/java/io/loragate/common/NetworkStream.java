package io.loragate.common;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/** A response body whose read failures are told apart from local disk errors: the store went away mid-read. */
final class NetworkStream extends FilterInputStream {

    /** Reading from the store failed. */
    static final class Failure extends IOException {
        Failure(IOException cause) {
            super(cause.getMessage(), cause);
        }
    }

    NetworkStream(InputStream in) {
        super(in);
    }

    @Override
    public int read() throws IOException {
        try {
            return super.read();
        } catch (IOException e) {
            throw new Failure(e);
        }
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        try {
            return super.read(b, off, len);
        } catch (IOException e) {
            throw new Failure(e);
        }
    }
}
