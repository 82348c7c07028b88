package io.loragate.cli;

/** The CLI's exit codes, so scripts can tell a mistake of theirs from a server in trouble. */
public final class ExitCodes {

    /** Done. */
    public static final int OK = 0;
    /** The command ran but what it waited for did not succeed (a watched job failed or was cancelled). */
    public static final int FAILED = 1;
    /** A usage error: unknown command or option, bad value, missing local file (picocli's own code). */
    public static final int USAGE = 2;
    /** The server refused the request (HTTP 4xx): a bad request, unknown id, bad key, quota. */
    public static final int CLIENT_ERROR = 3;
    /** The server failed (HTTP 5xx) or answered something that is not the API. */
    public static final int SERVER_ERROR = 4;
    /** The server could not be reached (connection refused, unknown host, timeout). */
    public static final int UNREACHABLE = 5;

    private ExitCodes() {
    }
}
