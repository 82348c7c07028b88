package io.loragate.common;

import java.nio.file.Path;

/** A model or adapter file is missing, malformed, or does not match what it must be. */
public class ModelFormatException extends LoragateException {

    public ModelFormatException(Path file, String problem) {
        super(Kind.INVALID_ARGUMENT, file + ": " + problem);
    }

    public ModelFormatException(Path file, String problem, Throwable cause) {
        super(Kind.INVALID_ARGUMENT, file + ": " + problem, cause);
    }
}
