package io.loragate.api.rest;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Strict request objects: a field the server does not know is refused (400 naming it and the
 * nearest known one), never silently ignored — {@code "lr": 0.01} used to train at the default
 * learning rate without a word.
 */
final class KnownFields {

    /** Names users reach for that are spelled differently here. */
    private static final Map<String, String> ALIASES = Map.ofEntries(
            Map.entry("lr", "learning_rate"),
            Map.entry("learningrate", "learning_rate"),
            Map.entry("epoch", "epochs"),
            Map.entry("num_epochs", "epochs"),
            Map.entry("num_train_epochs", "epochs"),
            Map.entry("batchsize", "batch_size"),
            Map.entry("per_device_train_batch_size", "batch_size"),
            Map.entry("rank", "r"),
            Map.entry("lora_r", "r"),
            Map.entry("target_module", "target_modules"),
            Map.entry("warmup", "warmup_steps"),
            Map.entry("lr_scheduler_type", "schedule"),
            Map.entry("max_length", "max_seq_length"),
            Map.entry("validation_file_id", "validation_file"),
            Map.entry("training_file_id", "training_file"));

    private KnownFields() {
    }

    /**
     * Refuses the first field of {@code object} outside {@code known}.
     *
     * @param prefix the object's path for {@code param}, e.g. {@code "method.hyperparameters."} ("" at the top)
     */
    static void check(JsonNode object, String prefix, Set<String> known) {
        for (Iterator<String> it = object.fieldNames(); it.hasNext(); ) {
            String field = it.next();
            if (!known.contains(field)) {
                String where = prefix.isEmpty() ? "the request" : "'" + prefix.substring(0, prefix.length() - 1) + "'";
                String nearest = nearest(field, known);
                throw Requests.bad(prefix + field, "unknown field '" + field + "' in " + where
                        + (nearest == null ? "" : "; did you mean '" + nearest + "'?") + " (known: " + String.join(", ",
                                known.stream().sorted().toList()) + ")");
            }
        }
    }

    /** The known name {@code field} most likely meant: an alias, else the closest by edit distance (at most a third of its length). */
    static String nearest(String field, Set<String> known) {
        String lower = field.toLowerCase(Locale.ROOT);
        String alias = ALIASES.get(lower.replace("-", "_"));
        if (alias != null && known.contains(alias)) {
            return alias;
        }
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String k : known.stream().sorted().toList()) {
            int d = distance(lower, k);
            if (d < bestDistance) {
                best = k;
                bestDistance = d;
            }
        }
        return best != null && bestDistance <= Math.max(1, field.length() / 3) ? best : null;
    }

    /** Levenshtein distance. */
    static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
