package io.loragate.deployment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The part of kustomize that the manifests under {@code deployment/} use, so that they can be checked
 * without a kustomize binary: {@code resources} (files and folders), {@code configMapGenerator}
 * ({@code files}, no hash suffix), {@code patches} (strategic-merge patch files, {@code $patch: delete}),
 * {@code replicas}, {@code images} and {@code labels} (metadata only). Any other kustomization field
 * fails the build, so a manifest cannot quietly use a feature this renderer would ignore.
 * {@link KubernetesManifestsTest} compares it with {@code kubectl kustomize} where kubectl exists.
 */
final class Kustomize {

    static final YAMLMapper YAML = new YAMLMapper();
    static final Set<String> SUPPORTED = Set.of("apiVersion", "kind", "resources", "configMapGenerator", "patches", "replicas",
            "images", "labels");
    /** Strategic-merge keys of the lists the patches touch; other lists of objects merge by name. */
    static final Map<String, String> MERGE_KEYS = Map.of("volumeMounts", "mountPath", "ports", "containerPort");

    private Kustomize() {
    }

    /** Every object the kustomization in {@code dir} renders. */
    static List<ObjectNode> build(Path dir) {
        ObjectNode k = (ObjectNode) load(dir.resolve("kustomization.yaml")).get(0);
        k.fieldNames().forEachRemaining(f -> {
            if (!SUPPORTED.contains(f)) {
                throw new IllegalArgumentException(dir + "/kustomization.yaml uses '" + f + "', which this renderer does not know");
            }
        });
        List<ObjectNode> out = new ArrayList<>();
        for (JsonNode r : k.path("resources")) {
            Path p = dir.resolve(r.asText()).normalize();
            if (Files.isDirectory(p)) {
                out.addAll(build(p));
            } else {
                load(p).forEach(d -> out.add((ObjectNode) d));
            }
        }
        for (JsonNode g : k.path("configMapGenerator")) {
            ObjectNode cm = YAML.createObjectNode().put("apiVersion", "v1").put("kind", "ConfigMap");
            cm.putObject("metadata").put("name", g.get("name").asText());
            ObjectNode data = cm.putObject("data");
            for (JsonNode f : g.path("files")) {
                Path file = dir.resolve(f.asText()).normalize();
                data.put(file.getFileName().toString(), read(file));
            }
            out.add(cm);
        }
        for (JsonNode p : k.path("patches")) {
            for (JsonNode patch : load(dir.resolve(p.get("path").asText()))) {
                ObjectNode target = find(out, patch.get("kind").asText(), patch.at("/metadata/name").asText());
                if ("delete".equals(patch.path("$patch").asText())) {
                    out.remove(target);
                } else {
                    merge(target, (ObjectNode) patch);
                }
            }
        }
        for (JsonNode r : k.path("replicas")) {
            out.stream().filter(o -> o.at("/metadata/name").asText().equals(r.get("name").asText()) && o.at("/spec").has("template"))
                    .forEach(o -> ((ObjectNode) o.get("spec")).put("replicas", r.get("count").asInt()));
        }
        for (JsonNode l : k.path("labels")) {
            if (l.path("includeSelectors").asBoolean(false)) {
                throw new IllegalArgumentException("labels with includeSelectors are not supported");
            }
            for (ObjectNode o : out) {
                ObjectNode metadata = (ObjectNode) o.get("metadata");
                if (!metadata.has("labels")) {
                    metadata.putObject("labels");
                }
                ((ObjectNode) metadata.get("labels")).setAll((ObjectNode) l.get("pairs"));
            }
        }
        for (JsonNode i : k.path("images")) {
            for (ObjectNode o : out) {
                for (JsonNode c : o.at("/spec/template/spec/containers")) {
                    if (c.path("image").asText().equals(i.get("name").asText())) {
                        ((ObjectNode) c).put("image", i.get("newName").asText() + ":" + i.get("newTag").asText());
                    }
                }
            }
        }
        return out;
    }

    static ObjectNode find(List<ObjectNode> objects, String kind, String name) {
        return objects.stream().filter(o -> o.path("kind").asText().equals(kind) && o.at("/metadata/name").asText().equals(name))
                .findFirst().orElseThrow(() -> new IllegalArgumentException("no " + kind + " " + name + " to patch"));
    }

    /** Strategic merge: null removes a field, objects merge, lists of objects merge by their key, the rest replaces. */
    static void merge(ObjectNode target, ObjectNode patch) {
        Iterator<Map.Entry<String, JsonNode>> fields = patch.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> f = fields.next();
            JsonNode old = target.get(f.getKey());
            JsonNode value = f.getValue();
            if (value.isNull()) {
                target.remove(f.getKey());
            } else if (old instanceof ObjectNode o && value instanceof ObjectNode v) {
                merge(o, v);
            } else if (old instanceof ArrayNode o && value instanceof ArrayNode v && v.size() > 0 && v.get(0).isObject()) {
                mergeList(o, v, MERGE_KEYS.getOrDefault(f.getKey(), "name"));
            } else {
                target.set(f.getKey(), value.deepCopy());
            }
        }
    }

    static void mergeList(ArrayNode target, ArrayNode patch, String key) {
        for (JsonNode p : patch) {
            JsonNode match = null;
            for (JsonNode t : target) {
                if (t.path(key).equals(p.path(key))) {
                    match = t;
                }
            }
            if (match == null) {
                target.add(p.deepCopy());
            } else {
                merge((ObjectNode) match, (ObjectNode) p);
            }
        }
    }

    /** Every YAML document of a file (or of a multi-document string), empty ones left out. */
    static List<JsonNode> load(Path file) {
        return parse(read(file));
    }

    static List<JsonNode> parse(String yaml) {
        try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(yaml)) {
            List<JsonNode> out = new ArrayList<>();
            while (it.hasNext()) {
                JsonNode d = it.next();
                if (d != null && d.isObject()) {
                    out.add(d);
                }
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }
}
