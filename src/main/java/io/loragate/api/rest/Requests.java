package io.loragate.api.rest;

import com.fasterxml.jackson.databind.JsonNode;
import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import io.loragate.common.SamplingParams;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * Reads OpenAI-style request bodies field by field, so that every bad value gets an error naming
 * the field ({@code param}) and what was expected.
 */
final class Requests {

    private Requests() {
    }

    static JsonNode object(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw bad(null, "the request body must be a JSON object");
        }
        return body;
    }

    static LoragateException bad(String param, String message) {
        return new LoragateException(Kind.INVALID_ARGUMENT, message).withParam(param);
    }

    static String string(JsonNode body, String field, boolean required) {
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            if (required) {
                throw bad(field, "'" + field + "' is required");
            }
            return null;
        }
        if (!n.isTextual()) {
            throw bad(field, "'" + field + "' must be a string");
        }
        return n.asText();
    }

    /** A string or an array of strings. */
    static List<String> strings(JsonNode body, String field, boolean required) {
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            if (required) {
                throw bad(field, "'" + field + "' is required");
            }
            return List.of();
        }
        List<String> out = new ArrayList<>();
        if (n.isTextual()) {
            out.add(n.asText());
        } else if (n.isArray()) {
            for (JsonNode e : n) {
                if (!e.isTextual()) {
                    throw bad(field, "'" + field + "' must be a string or an array of strings (token-id arrays are not supported)");
                }
                out.add(e.asText());
            }
        } else {
            throw bad(field, "'" + field + "' must be a string or an array of strings");
        }
        return out;
    }

    static int integer(JsonNode body, String field, int dflt) {
        Integer n = optionalInt(body, field);
        return n == null ? dflt : n;
    }

    /** An integer field, or null when absent or null. */
    static Integer optionalInt(JsonNode body, String field) {
        return optionalInt(body, "", field);
    }

    /**
     * An integer field of a nested object, or null when absent or null; {@code prefix} is the
     * object's path ({@code "hyperparameters."}), so that the error names the full field.
     */
    static Integer optionalInt(JsonNode body, String prefix, String field) {
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw bad(prefix + field, "'" + field + "' must be an integer, got " + n);
        }
        return n.asInt();
    }

    static Long optionalLong(JsonNode body, String field) {
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isIntegralNumber() || !n.canConvertToLong()) {
            throw bad(field, "'" + field + "' must be an integer, got " + n);
        }
        return n.asLong();
    }

    static double number(JsonNode body, String field, double dflt) {
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isNumber()) {
            throw bad(field, "'" + field + "' must be a number, got " + n);
        }
        return n.asDouble();
    }

    static boolean bool(JsonNode body, String field) {
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            return false;
        }
        if (!n.isBoolean()) {
            throw bad(field, "'" + field + "' must be true or false, got " + n);
        }
        return n.asBoolean();
    }

    /** Sampling fields shared by completions and chat completions. */
    static SamplingParams sampling(JsonNode body, String maxTokensField, int defaultMaxTokens) {
        int maxTokens = integer(body, maxTokensField, defaultMaxTokens);
        if (maxTokens < 1) {
            throw bad(maxTokensField, "'" + maxTokensField + "' must be at least 1, got " + maxTokens);
        }
        double temperature = number(body, "temperature", 1.0);
        if (temperature < 0) {
            throw bad("temperature", "'temperature' must be >= 0 (0 = greedy), got " + temperature);
        }
        double topP = number(body, "top_p", 1.0);
        if (!(topP > 0 && topP <= 1)) {
            throw bad("top_p", "'top_p' must be in (0, 1], got " + topP);
        }
        int topK = integer(body, "top_k", 0);
        if (topK < 0 && topK != -1) {
            throw bad("top_k", "'top_k' must be >= 0 (or -1 for all), got " + topK);
        }
        int n = integer(body, "n", 1);
        if (n != 1) {
            throw bad("n", "only n = 1 is supported; send several prompts instead");
        }
        List<String> stop = strings(body, "stop", false);
        if (stop.size() > 16) {
            throw bad("stop", "at most 16 stop strings");
        }
        return new SamplingParams(maxTokens, temperature, Math.max(topK, 0), topP, optionalLong(body, "seed"),
                new LinkedHashSet<>(), stop, bool(body, "ignore_eos"));
    }
}
