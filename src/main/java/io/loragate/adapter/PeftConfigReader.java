package io.loragate.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import io.loragate.common.ModelFormatException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Typed access to the fields of one {@code adapter_config.json}, for {@link PeftConfig} and each
 * {@link PeftSection}; every error names the file and the field.
 */
record PeftConfigReader(Path file, JsonNode root) {

    private ModelFormatException wrong(String field, String expected) {
        return new ModelFormatException(file, "field '" + field + "' must be " + expected + ", got " + PeftConfig.quote(root.get(field)));
    }

    private JsonNode get(String field) {
        JsonNode v = root.get(field);
        return v == null || v.isNull() ? null : v;
    }

    String string(String field, String absent) {
        JsonNode v = get(field);
        if (v == null) {
            return absent;
        }
        if (!v.isTextual()) {
            throw wrong(field, "a string");
        }
        return v.textValue();
    }

    boolean bool(String field, boolean absent) {
        JsonNode v = get(field);
        if (v == null) {
            return absent;
        }
        if (!v.isBoolean()) {
            throw wrong(field, "true or false");
        }
        return v.booleanValue();
    }

    double number(String field, double absent) {
        JsonNode v = get(field);
        if (v == null) {
            return absent;
        }
        if (!v.isNumber()) {
            throw wrong(field, "a number");
        }
        double d = v.doubleValue();
        if (!Double.isFinite(d)) {
            throw wrong(field, "a finite number");
        }
        return d;
    }

    int positiveInt(String field, int absent) {
        JsonNode v = get(field);
        if (v == null) {
            return absent;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw wrong(field, "an integer");
        }
        if (v.intValue() <= 0) {
            throw wrong(field, "a positive integer");
        }
        return v.intValue();
    }

    PeftConfig.Modules modules(String field) {
        JsonNode v = get(field);
        if (v == null) {
            return null;
        }
        if (v.isTextual()) {
            try {
                return PeftConfig.Modules.regex(v.textValue());
            } catch (PatternSyntaxException e) {
                throw new ModelFormatException(file, "field '" + field + "' is not a valid regular expression: "
                        + e.getDescription());
            }
        }
        return PeftConfig.Modules.list(strings(field, v));
    }

    private List<String> strings(String field, JsonNode v) {
        if (!v.isArray()) {
            throw wrong(field, "a string or a list of strings");
        }
        Set<String> out = new LinkedHashSet<>(); // a list of 100k names must not take quadratic time
        for (JsonNode e : v) {
            if (!e.isTextual()) {
                throw wrong(field, "a string or a list of strings");
            }
            out.add(e.textValue());
        }
        return new ArrayList<>(out);
    }

    List<String> stringOrStringList(String field) {
        JsonNode v = get(field);
        if (v == null) {
            return List.of();
        }
        return v.isTextual() ? List.of(v.textValue()) : strings(field, v);
    }

    List<Integer> intOrIntList(String field) {
        JsonNode v = get(field);
        if (v == null) {
            return List.of();
        }
        List<Integer> out = new ArrayList<>();
        if (v.isIntegralNumber() && v.canConvertToInt()) {
            out.add(v.intValue());
            return out;
        }
        if (!v.isArray()) {
            throw wrong(field, "an integer or a list of integers");
        }
        for (JsonNode e : v) {
            if (!e.isIntegralNumber() || !e.canConvertToInt()) {
                throw wrong(field, "an integer or a list of integers");
            }
            out.add(e.intValue());
        }
        return out;
    }

    Map<String, Integer> rankPattern() {
        Map<String, Integer> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : patternEntries("rank_pattern")) {
            JsonNode v = e.getValue();
            if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() <= 0) {
                throw new ModelFormatException(file, "field 'rank_pattern' maps '" + PeftConfig.quote(e.getKey())
                        + "' to " + PeftConfig.quote(v) + "; ranks must be positive integers");
            }
            out.put(e.getKey(), v.intValue());
        }
        return out;
    }

    Map<String, Double> alphaPattern() {
        Map<String, Double> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : patternEntries("alpha_pattern")) {
            JsonNode v = e.getValue();
            if (!v.isNumber() || !Double.isFinite(v.doubleValue())) {
                throw new ModelFormatException(file, "field 'alpha_pattern' maps '" + PeftConfig.quote(e.getKey()) + "' to " + PeftConfig.quote(v)
                        + "; alphas must be numbers");
            }
            out.put(e.getKey(), v.doubleValue());
        }
        return out;
    }

    private List<Map.Entry<String, JsonNode>> patternEntries(String field) {
        JsonNode v = get(field);
        if (v == null) {
            return List.of();
        }
        if (!v.isObject()) {
            throw wrong(field, "an object");
        }
        List<Map.Entry<String, JsonNode>> out = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            try {
                Pattern.compile("(.*\\.)?(" + e.getKey() + ")");
            } catch (PatternSyntaxException ex) {
                throw new ModelFormatException(file, "field '" + field + "' key '" + PeftConfig.quote(e.getKey())
                        + "' is not a valid regular expression: " + ex.getDescription());
            }
            out.add(e);
        }
        return out;
    }

    /** {@code modules_to_save}, each entry checked to compile as PEFT's module pattern. */
    List<String> modulesToSave() {
        List<String> modules = stringOrStringList("modules_to_save");
        checkPatterns("modules_to_save", modules, m -> "(^|.*\\.)" + m + "($|\\..*)");
        return modules;
    }

    /** {@code layers_pattern}, each entry checked to compile as PEFT's layer pattern. */
    List<String> layersPattern() {
        List<String> patterns = stringOrStringList("layers_pattern");
        checkPatterns("layers_pattern", patterns, p -> ".*\\." + p + "\\.(\\d+)\\.");
        return patterns;
    }

    /** Refuses an entry of {@code field} whose regular expression, as {@code asRegex} builds it, does not compile. */
    private void checkPatterns(String field, List<String> entries, UnaryOperator<String> asRegex) {
        for (String e : entries) {
            try {
                Pattern.compile(asRegex.apply(e));
            } catch (PatternSyntaxException ex) {
                throw new ModelFormatException(file, "field '" + field + "' entry '" + PeftConfig.quote(e)
                        + "' is not a valid regular expression: " + ex.getDescription());
            }
        }
    }

    /** Every key of the file but {@code modelled}, in file order: the config's extras, kept verbatim. */
    Map<String, JsonNode> extrasExcept(Set<String> modelled) {
        Map<String, JsonNode> extras = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!modelled.contains(e.getKey())) {
                extras.put(e.getKey(), e.getValue().deepCopy());
            }
        }
        return extras;
    }
}
