package io.loragate.model;

import io.loragate.common.LoragateException;
import java.util.Locale;

/**
 * How an encoder reads an input longer than its window (the model's positions, less an adapter's
 * virtual tokens): {@link #TRUNCATE} keeps its first tokens and its closing special token (what
 * training always did), {@link #SLIDING_WINDOW} encodes overlapping windows and averages their
 * vectors weighted by their tokens ({@link InputWindows}). Inputs that fit one window read the same
 * either way.
 */
public enum InputPooling {
    TRUNCATE("truncate"),
    SLIDING_WINDOW("sliding_window");

    /** The {@code adapter_config.json} key (ignored by PEFT) that holds the pooling a classifier was trained with. */
    public static final String CONFIG_KEY = "loragate_pooling";

    private final String wireName;

    InputPooling(String wireName) {
        this.wireName = wireName;
    }

    /** The name in requests, job specs and adapter configs. */
    public String wireName() {
        return wireName;
    }

    /**
     * The pooling named {@code value}, or null when it is null.
     *
     * @param param the request field, named in the error
     */
    public static InputPooling parse(String value, String param) {
        if (value == null) {
            return null;
        }
        for (InputPooling p : values()) {
            if (p.wireName.equals(value.toLowerCase(Locale.ROOT))) {
                return p;
            }
        }
        throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, param + " must be 'truncate' or 'sliding_window', was '"
                + value + "'").withParam(param);
    }
}
