package io.loragate.model;

import java.util.List;

/**
 * Modules named the way PEFT's {@code target_modules} names them: a list of module-name suffixes,
 * or (when the names are ambiguous, as BERT's {@code output.dense}) one full-path regular expression.
 *
 * @param names suffixes; empty when {@code regex} is set
 * @param regex a full-match regular expression, or null
 */
public record ModuleSelection(List<String> names, String regex) {

    public static ModuleSelection of(String... names) {
        return new ModuleSelection(List.of(names), null);
    }

    public static ModuleSelection regex(String regex) {
        return new ModuleSelection(List.of(), regex);
    }
}
