package io.loragate.cli;

/** A failure the CLI reports as one line (never a stack trace), with the exit code it ends with. */
public class CliException extends RuntimeException {

    private final int exitCode;

    public CliException(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    public int exitCode() {
        return exitCode;
    }

    /** A mistake on the command line (a missing file, a bad value): exit code {@link ExitCodes#USAGE}. */
    public static CliException usage(String message) {
        return new CliException(ExitCodes.USAGE, message);
    }
}
