package io.loragate.deployment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.DebianPackages;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The Kubernetes manifests under {@code deployment/}, rendered without a cluster ({@link Kustomize},
 * and {@code kubectl kustomize} as well where kubectl is installed) and checked against each other and
 * against the gateway: references resolve (ConfigMaps, Secrets, claims, Services, named ports), the
 * probe paths and the metrics the router reads are the ones the gateway serves, the ports are
 * {@code quarkus.http.port}, the scale-out overlays run three replicas one per node under a
 * PodDisruptionBudget, HAProxy runs the one {@code deployment/haproxy/haproxy.cfg} (and HAProxy
 * accepts it with the Deployment's environment), and the InferencePool selects the gateway pods.
 */
class KubernetesManifestsTest {

    static final Path DEPLOYMENT = Path.of("deployment");
    /** Every kustomization a user applies, by the name the messages use. */
    static final Map<String, Path> OVERLAYS = Map.of(
            "single", DEPLOYMENT,
            "replicas", DEPLOYMENT.resolve("k8s/overlays/replicas"),
            "inference-pool", DEPLOYMENT.resolve("k8s/overlays/inference-pool"));
    static final Map<String, String> GATEWAY_POD = Map.of("app.kubernetes.io/name", "loragate", "app.kubernetes.io/component", "gateway");

    static List<ObjectNode> render(String overlay) {
        return Kustomize.build(OVERLAYS.get(overlay));
    }

    @Test
    void everyOverlayPassesTheChecksWithThisRenderer() throws Exception {
        for (String overlay : OVERLAYS.keySet()) {
            checkAll(overlay, render(overlay));
        }
    }

    /** kubectl's kustomize (5.x) renders the same objects, and they pass the same checks. */
    @Test
    void kubectlRendersTheSameObjects() throws Exception {
        Path kubectl = Stream.of("/usr/bin/kubectl", "/usr/local/bin/kubectl").map(Path::of).filter(Files::isExecutable)
                .findFirst().orElse(null);
        if (kubectl == null) {
            System.out.println("kubectl is not installed: the manifests were checked with the built-in renderer only");
            return;
        }
        for (String overlay : OVERLAYS.keySet()) {
            Process p = new ProcessBuilder(kubectl.toString(), "kustomize", OVERLAYS.get(overlay).toString())
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String yaml = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "kubectl kustomize took too long");
            assertEquals(0, p.exitValue(), "kubectl kustomize " + OVERLAYS.get(overlay) + " failed");
            List<ObjectNode> theirs = Kustomize.parse(yaml).stream().map(n -> (ObjectNode) n).toList();
            checkAll(overlay, theirs);
            assertEquals(kinds(render(overlay)), kinds(theirs), overlay + ": the same objects from both renderers");
            for (ObjectNode o : theirs) {
                if (o.path("kind").asText().matches("Deployment|StatefulSet")) {
                    ObjectNode ours = Kustomize.find(render(overlay), o.get("kind").asText(), o.at("/metadata/name").asText());
                    assertEquals(withoutHashes(ours.get("spec")), withoutHashes(o.get("spec")),
                            overlay + ": " + o.at("/metadata/name").asText() + " renders alike");
                }
            }
        }
    }

    /** kind/name of each object, generated names without kustomize's hash suffix. */
    static Map<String, Integer> kinds(List<ObjectNode> objects) {
        Map<String, Integer> out = new TreeMap<>();
        for (ObjectNode o : objects) {
            out.merge(o.get("kind").asText() + "/" + unhashed(o.at("/metadata/name").asText()), 1, Integer::sum);
        }
        return out;
    }

    static String unhashed(String name) {
        return name.replaceAll("-[a-z0-9]{10}$", "");
    }

    /** The spec with generated names unhashed, keys sorted and named lists by name (kustomize puts patched items first). */
    static String withoutHashes(JsonNode spec) {
        return canonical(spec).toString().replaceAll("(loragate-[a-z]+)-[a-z0-9]{10}(?![a-z0-9-])", "$1");
    }

    static Object canonical(JsonNode n) {
        if (n.isObject()) {
            Map<String, Object> out = new TreeMap<>();
            n.fields().forEachRemaining(e -> out.put(e.getKey(), canonical(e.getValue())));
            return out;
        }
        if (n.isArray()) {
            List<Object> out = new ArrayList<>();
            n.forEach(e -> out.add(canonical(e)));
            out.sort((a, b) -> String.valueOf(a instanceof Map<?, ?> m ? m.get("mountPath") + "" + m.get("name") : "")
                    .compareTo(String.valueOf(b instanceof Map<?, ?> m ? m.get("mountPath") + "" + m.get("name") : "")));
            return out;
        }
        return n.asText();
    }

    // ---------------------------------------------------------------- the checks

    static void checkAll(String overlay, List<ObjectNode> objects) throws Exception {
        ObjectNode gateway = Kustomize.find(objects, "Deployment", "loragate");
        referencesResolve(overlay, objects);
        gatewayProbesAndPortsAreServed(overlay, objects, gateway);
        secretsAreReferencedNeverShipped(overlay, objects);
        if (!overlay.equals("single")) {
            threeReplicasOnePerNode(overlay, objects, gateway);
            databaseIsTheSharedPostgres(overlay, objects);
            blobsAreTheSharedBucket(overlay, objects, gateway);
        }
        if (overlay.equals("replicas")) {
            haproxyRunsTheShippedConfiguration(objects, gateway);
        }
        if (overlay.equals("inference-pool")) {
            inferencePoolSelectsTheGateway(objects, gateway);
        }
    }

    static Stream<ObjectNode> ofKind(List<ObjectNode> objects, String kind) {
        return objects.stream().filter(o -> o.path("kind").asText().equals(kind));
    }

    static Set<String> names(List<ObjectNode> objects, String kind) {
        Set<String> out = new HashSet<>();
        ofKind(objects, kind).forEach(o -> out.add(o.at("/metadata/name").asText()));
        return out;
    }

    static List<JsonNode> podSpecs(List<ObjectNode> objects) {
        List<JsonNode> out = new ArrayList<>();
        objects.stream().filter(o -> o.at("/spec/template/spec").isObject()).forEach(o -> out.add(o.at("/spec/template/spec")));
        return out;
    }

    static boolean selects(JsonNode selector, JsonNode labels) {
        if (selector.isMissingNode() || selector.size() == 0) {
            return false;
        }
        var it = selector.fields();
        while (it.hasNext()) {
            var e = it.next();
            if (!labels.path(e.getKey()).asText().equals(e.getValue().asText())) {
                return false;
            }
        }
        return true;
    }

    static void referencesResolve(String overlay, List<ObjectNode> objects) {
        Set<String> configMaps = names(objects, "ConfigMap");
        Set<String> claims = names(objects, "PersistentVolumeClaim");
        for (ObjectNode o : objects) {
            JsonNode spec = o.at("/spec/template/spec");
            if (!spec.isObject()) {
                continue;
            }
            String what = overlay + ": " + o.get("kind").asText() + " " + o.at("/metadata/name").asText();
            if (!o.get("kind").asText().equals("Job")) { // a Job's selector is generated
                assertTrue(selects(o.at("/spec/selector/matchLabels"), o.at("/spec/template/metadata/labels")), what + " selects its pods");
            }
            Set<String> templateClaims = new HashSet<>();
            o.at("/spec/volumeClaimTemplates").forEach(t -> templateClaims.add(t.at("/metadata/name").asText()));
            Set<String> volumes = new HashSet<>(templateClaims);
            for (JsonNode v : spec.path("volumes")) {
                volumes.add(v.get("name").asText());
                if (v.has("configMap")) {
                    assertTrue(configMaps.contains(v.at("/configMap/name").asText()), what + ": ConfigMap " + v.at("/configMap/name"));
                }
                if (v.has("persistentVolumeClaim")) {
                    assertTrue(claims.contains(v.at("/persistentVolumeClaim/claimName").asText()), what + ": claim " + v);
                }
            }
            List<JsonNode> containers = new ArrayList<>();
            spec.path("initContainers").forEach(containers::add);
            spec.path("containers").forEach(containers::add);
            for (JsonNode c : containers) {
                for (JsonNode m : c.path("volumeMounts")) {
                    assertTrue(volumes.contains(m.get("name").asText()), what + ": volume " + m.get("name"));
                }
                for (JsonNode e : c.path("envFrom")) {
                    assertTrue(configMaps.contains(e.at("/configMapRef/name").asText()), what + ": envFrom " + e);
                }
                Set<String> ports = new HashSet<>();
                c.path("ports").forEach(p -> ports.add(p.path("name").asText()));
                for (String probe : List.of("startupProbe", "readinessProbe", "livenessProbe")) {
                    JsonNode port = c.path(probe).path("httpGet").path("port");
                    if (port.isTextual()) {
                        assertTrue(ports.contains(port.asText()), what + ": " + probe + " port " + port);
                    }
                }
            }
        }
        for (ObjectNode s : ofKind(objects, "Service").toList()) {
            String what = overlay + ": Service " + s.at("/metadata/name").asText();
            List<JsonNode> pods = new ArrayList<>();
            objects.stream().filter(o -> selects(s.at("/spec/selector"), o.at("/spec/template/metadata/labels")))
                    .forEach(o -> pods.add(o.at("/spec/template/spec")));
            assertFalse(pods.isEmpty(), what + " selects no pods");
            for (JsonNode port : s.at("/spec/ports")) {
                if (port.path("targetPort").isTextual()) {
                    String named = port.get("targetPort").asText();
                    for (JsonNode pod : pods) {
                        boolean found = false;
                        for (JsonNode c : pod.path("containers")) {
                            for (JsonNode p : c.path("ports")) {
                                found |= named.equals(p.path("name").asText());
                            }
                        }
                        assertTrue(found, what + ": targetPort " + named + " is no container port");
                    }
                }
            }
        }
    }

    static Properties applicationProperties() throws IOException {
        Properties p = new Properties();
        try (var in = Files.newInputStream(Path.of("src/main/resources/application.properties"))) {
            p.load(in);
        }
        return p;
    }

    /** The paths ProbeRoutes answers (the health probes and /q/metrics). */
    static Set<String> servedProbePaths() throws IOException {
        String source = Files.readString(Path.of("src/main/java/io/loragate/api/rest/ProbeRoutes.java"));
        Set<String> out = new HashSet<>();
        Matcher m = Pattern.compile("router\\.get\\(\"([^\"]+)\"\\)").matcher(source);
        while (m.find()) {
            out.add(m.group(1));
        }
        assertTrue(out.contains("/q/health/ready"), "ProbeRoutes lists its paths as router.get(\"...\"): " + out);
        return out;
    }

    static void gatewayProbesAndPortsAreServed(String overlay, List<ObjectNode> objects, ObjectNode gateway) throws IOException {
        JsonNode c = gateway.at("/spec/template/spec/containers/0");
        Set<String> served = servedProbePaths();
        assertEquals("/q/health/ready", c.at("/readinessProbe/httpGet/path").asText(), overlay);
        assertEquals("/q/health/live", c.at("/livenessProbe/httpGet/path").asText(), overlay);
        for (String probe : List.of("startupProbe", "readinessProbe", "livenessProbe")) {
            assertTrue(served.contains(c.at("/" + probe + "/httpGet/path").asText()), overlay + ": " + probe + " path is served");
        }
        int httpPort = Integer.parseInt(applicationProperties().getProperty("quarkus.http.port"));
        assertEquals(httpPort, c.at("/ports/0/containerPort").asInt(), overlay + ": the container port is quarkus.http.port");
        assertEquals("http", c.at("/ports/0/name").asText());
        JsonNode podLabels = gateway.at("/spec/template/metadata/labels");
        GATEWAY_POD.forEach((k, v) -> assertEquals(v, podLabels.path(k).asText(), overlay + ": gateway pod label " + k));
    }

    static void secretsAreReferencedNeverShipped(String overlay, List<ObjectNode> objects) {
        assertEquals(0, ofKind(objects, "Secret").count(), overlay + ": no Secret in a kustomization (credentials are created by the user)");
        Map<String, JsonNode> examples = new HashMap<>();
        for (JsonNode s : Kustomize.load(DEPLOYMENT.resolve("k8s/secrets.example.yaml"))) {
            examples.put(s.at("/metadata/name").asText(), s.get("stringData"));
            s.get("stringData").fields().forEachRemaining(e -> {
                if (!e.getKey().equals("username")) {
                    assertEquals("REPLACE-ME", e.getValue().asText(), "secrets.example.yaml holds placeholders only: " + e.getKey());
                }
            });
        }
        for (JsonNode spec : podSpecs(objects)) {
            List<JsonNode> containers = new ArrayList<>();
            spec.path("initContainers").forEach(containers::add);
            spec.path("containers").forEach(containers::add);
            for (JsonNode c : containers) {
                for (JsonNode e : c.path("env")) {
                    JsonNode ref = e.at("/valueFrom/secretKeyRef");
                    if (ref.isObject()) {
                        JsonNode example = examples.get(ref.get("name").asText());
                        assertTrue(example != null && example.has(ref.get("key").asText()),
                                overlay + ": Secret " + ref + " is described in deployment/k8s/secrets.example.yaml");
                    }
                }
            }
        }
    }

    static void threeReplicasOnePerNode(String overlay, List<ObjectNode> objects, ObjectNode gateway) {
        int replicas = gateway.at("/spec/replicas").asInt();
        assertEquals(3, replicas, overlay + ": replicas");
        JsonNode anti = gateway.at("/spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/0");
        assertEquals("kubernetes.io/hostname", anti.path("topologyKey").asText(), overlay + ": one gateway per node");
        assertTrue(selects(anti.at("/labelSelector/matchLabels"), gateway.at("/spec/template/metadata/labels")),
                overlay + ": the anti-affinity selects the gateway's own pods");
        ObjectNode pdb = Kustomize.find(objects, "PodDisruptionBudget", "loragate");
        assertEquals(2, pdb.at("/spec/minAvailable").asInt(), overlay + ": PDB minAvailable");
        assertTrue(selects(pdb.at("/spec/selector/matchLabels"), gateway.at("/spec/template/metadata/labels")), overlay + ": PDB selects the gateway");
        assertEquals(0, gateway.at("/spec/strategy/rollingUpdate/maxSurge").asInt(), overlay + ": no surge pod (one per node)");
        assertTrue(replicas - gateway.at("/spec/strategy/rollingUpdate/maxUnavailable").asInt() >= pdb.at("/spec/minAvailable").asInt(),
                overlay + ": an update keeps the PDB's minimum");
        assertFalse(names(objects, "PersistentVolumeClaim").contains("loragate-data"), overlay + ": no ReadWriteOnce volume shared by replicas");
    }

    static Map<String, String> env(JsonNode container) {
        Map<String, String> out = new HashMap<>();
        container.path("env").forEach(e -> {
            if (e.has("value")) {
                out.put(e.get("name").asText(), e.get("value").asText());
            }
        });
        return out;
    }

    static void databaseIsTheSharedPostgres(String overlay, List<ObjectNode> objects) {
        JsonNode config = Kustomize.find(objects, "ConfigMap", "loragate-config").get("data");
        String url = config.path("QUARKUS_DATASOURCE_JDBC_URL").asText();
        Matcher m = Pattern.compile("jdbc:postgresql://([^:/]+):(\\d+)/(\\w+)").matcher(url);
        assertTrue(m.matches(), overlay + ": " + url);
        ObjectNode service = Kustomize.find(objects, "Service", m.group(1));
        assertEquals(Integer.parseInt(m.group(2)), service.at("/spec/ports/0/port").asInt(), overlay + ": database port");
        ObjectNode db = Kustomize.find(objects, "StatefulSet", "loragate-postgres");
        assertTrue(selects(service.at("/spec/selector"), db.at("/spec/template/metadata/labels")));
        assertEquals(m.group(3), env(db.at("/spec/template/spec/containers/0")).get("POSTGRES_DB"), overlay + ": database name");
        assertEquals(1, db.at("/spec/volumeClaimTemplates").size(), overlay + ": PostgreSQL keeps its data on a volume");
        Kustomize.find(objects, "StatefulSet", "loragate-minio");
    }

    /**
     * Every replica keeps its blobs in the one MinIO bucket: the store URL's bucket is the one the
     * bucket Job creates, at the endpoint of the Service in front of the MinIO StatefulSet, with the
     * credentials MinIO itself uses.
     */
    static void blobsAreTheSharedBucket(String overlay, List<ObjectNode> objects, ObjectNode gateway) {
        JsonNode config = Kustomize.find(objects, "ConfigMap", "loragate-config").get("data");
        Matcher url = Pattern.compile("s3://([a-z0-9.-]+)/[\\w/-]+").matcher(config.path("LORAGATE_STORE_URL").asText());
        assertTrue(url.matches(), overlay + ": LORAGATE_STORE_URL " + config.path("LORAGATE_STORE_URL"));
        assertEquals("true", config.path("LORAGATE_STORE_S3_PATH_STYLE").asText(), overlay + ": MinIO needs path-style");
        Matcher endpoint = Pattern.compile("http://([^:/]+):(\\d+)").matcher(config.path("LORAGATE_STORE_S3_ENDPOINT").asText());
        assertTrue(endpoint.matches(), overlay + ": LORAGATE_STORE_S3_ENDPOINT " + config.path("LORAGATE_STORE_S3_ENDPOINT"));
        ObjectNode service = Kustomize.find(objects, "Service", endpoint.group(1));
        assertEquals(Integer.parseInt(endpoint.group(2)), service.at("/spec/ports/0/port").asInt(), overlay + ": MinIO port");
        ObjectNode minio = Kustomize.find(objects, "StatefulSet", "loragate-minio");
        assertTrue(selects(service.at("/spec/selector"), minio.at("/spec/template/metadata/labels")), overlay + ": endpoint is MinIO");
        ObjectNode job = Kustomize.find(objects, "Job", "loragate-bucket");
        JsonNode args = job.at("/spec/template/spec/containers/0/args");
        assertEquals("store/" + url.group(1), args.get(args.size() - 1).asText(), overlay + ": the Job creates the store's bucket");
        JsonNode alias = job.at("/spec/template/spec/initContainers/0");
        assertEquals("LORAGATE_STORE_S3_ENDPOINT", alias.at("/env/0/valueFrom/configMapKeyRef/key").asText(),
                overlay + ": the Job reaches MinIO at the gateways' endpoint");
        Map<String, String> secretKeys = new HashMap<>();
        for (JsonNode c : List.of(gateway.at("/spec/template/spec/containers/0"), minio.at("/spec/template/spec/containers/0"))) {
            for (JsonNode e : c.path("env")) {
                JsonNode ref = e.at("/valueFrom/secretKeyRef");
                if (ref.isObject()) {
                    secretKeys.put(e.get("name").asText(), ref.get("name").asText() + "/" + ref.get("key").asText());
                }
            }
        }
        assertEquals(secretKeys.get("MINIO_ROOT_USER"), secretKeys.get("AWS_ACCESS_KEY_ID"), overlay + ": access key");
        assertEquals(secretKeys.get("MINIO_ROOT_PASSWORD"), secretKeys.get("AWS_SECRET_ACCESS_KEY"), overlay + ": secret key");
    }

    static void haproxyRunsTheShippedConfiguration(List<ObjectNode> objects, ObjectNode gateway) throws Exception {
        ObjectNode haproxy = Kustomize.find(objects, "Deployment", "loragate-haproxy");
        JsonNode pod = haproxy.at("/spec/template/spec");
        String configMap = null;
        for (JsonNode v : pod.path("volumes")) {
            if (v.has("configMap")) {
                configMap = v.at("/configMap/name").asText();
            }
        }
        ObjectNode cm = Kustomize.find(objects, "ConfigMap", configMap);
        String shipped = Files.readString(DEPLOYMENT.resolve("haproxy/haproxy.cfg"));
        assertEquals(shipped, cm.at("/data/haproxy.cfg").asText(), "the HAProxy ConfigMap is deployment/haproxy/haproxy.cfg");
        JsonNode c = pod.at("/containers/0");
        assertTrue(c.path("args").toString().contains("/usr/local/etc/haproxy/haproxy.cfg"));
        assertEquals("/usr/local/etc/haproxy", c.at("/volumeMounts/0/mountPath").asText());

        Map<String, String> env = env(c);
        env.replaceAll((k, v) -> v.replace("$(POD_NAMESPACE)", "loragate"));
        Matcher dns = Pattern.compile("([a-z0-9-]+)\\.loragate\\.svc\\.cluster\\.local:(\\d+)").matcher(env.get("LORAGATE_REPLICA_DNS"));
        assertTrue(dns.matches(), env.get("LORAGATE_REPLICA_DNS"));
        ObjectNode headless = Kustomize.find(objects, "Service", dns.group(1));
        assertEquals("None", headless.at("/spec/clusterIP").asText(), "HAProxy resolves a headless Service (one record per pod)");
        assertTrue(selects(headless.at("/spec/selector"), gateway.at("/spec/template/metadata/labels")));
        assertEquals(gateway.at("/spec/template/spec/containers/0/ports/0/containerPort").asInt(), Integer.parseInt(dns.group(2)),
                "HAProxy reaches the gateway's port");
        assertTrue(Integer.parseInt(env.get("LORAGATE_REPLICA_SLOTS")) >= gateway.at("/spec/replicas").asInt(),
                "a server slot for every replica");
        JsonNode config = Kustomize.find(objects, "ConfigMap", "loragate-config").get("data");
        String modelId = config.has("LORAGATE_MODEL_ID") ? config.get("LORAGATE_MODEL_ID").asText()
                : Path.of(config.get("LORAGATE_MODEL_PATH").asText()).getFileName().toString();
        assertEquals(modelId, env.get("LORAGATE_BASE_MODEL_ID"), "HAProxy knows the base model's id");

        // HAProxy itself accepts the file with the Deployment's environment (the DNS branch)
        Path bin = DebianPackages.require("haproxy", "haproxy");
        Path cfg = Files.createTempFile(Path.of("target"), "haproxy-k8s-", ".cfg");
        Files.writeString(cfg, cm.at("/data/haproxy.cfg").asText());
        ProcessBuilder pb = new ProcessBuilder(bin.toString(), "-c", "-f", cfg.toString()).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), "haproxy -c with the Kubernetes environment: " + out);
        assertTrue(out.contains("valid"), out);
        Files.delete(cfg);
    }

    static void inferencePoolSelectsTheGateway(List<ObjectNode> objects, ObjectNode gateway) throws IOException {
        ObjectNode pool = ofKind(objects, "InferencePool").findFirst().orElseThrow();
        assertEquals("inference.networking.k8s.io/v1", pool.get("apiVersion").asText());
        assertTrue(selects(pool.at("/spec/selector/matchLabels"), gateway.at("/spec/template/metadata/labels")),
                "the InferencePool selects the gateway pods");
        assertEquals(gateway.at("/spec/template/spec/containers/0/ports/0/containerPort").asInt(), pool.at("/spec/targetPorts/0/number").asInt());
        ObjectNode eppService = Kustomize.find(objects, "Service", pool.at("/spec/endpointPickerRef/name").asText());
        boolean portFound = false;
        for (JsonNode p : eppService.at("/spec/ports")) {
            portFound |= p.path("port").asInt() == pool.at("/spec/endpointPickerRef/port/number").asInt();
        }
        assertTrue(portFound, "the endpoint picker's Service has the pool's port");
        ObjectNode epp = Kustomize.find(objects, "Deployment", "loragate-epp");
        assertTrue(selects(eppService.at("/spec/selector"), epp.at("/spec/template/metadata/labels")));
        List<String> args = new ArrayList<>();
        epp.at("/spec/template/spec/containers/0/args").forEach(a -> args.add(a.asText()));
        assertEquals(pool.at("/metadata/name").asText(), args.get(args.indexOf("--pool-name") + 1));
        assertTrue(servedProbePaths().contains(args.get(args.indexOf("--model-server-metrics-path") + 1)), "the picker scrapes /q/metrics");
        String metricsSource;
        try (Stream<Path> files = Files.walk(Path.of("src/main/java/io/loragate/engine"))) {
            StringBuilder sb = new StringBuilder();
            for (Path f : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                sb.append(Files.readString(f));
            }
            metricsSource = sb.toString();
        }
        for (String flag : List.of("--total-queued-requests-metric", "--kv-cache-usage-percentage-metric", "--lora-info-metric")) {
            String metric = args.get(args.indexOf(flag) + 1);
            assertTrue(metricsSource.contains("\"" + metric + "\""), flag + " " + metric + " is a gauge the gateway serves");
        }
        String account = epp.at("/spec/template/spec/serviceAccountName").asText();
        Kustomize.find(objects, "ServiceAccount", account);
        ObjectNode binding = Kustomize.find(objects, "RoleBinding", "loragate-epp");
        assertEquals(account, binding.at("/subjects/0/name").asText());
        Kustomize.find(objects, "Role", binding.at("/roleRef/name").asText());
        ObjectNode route = ofKind(objects, "HTTPRoute").findFirst().orElseThrow();
        JsonNode backend = route.at("/spec/rules/0/backendRefs/0");
        assertEquals("InferencePool", backend.path("kind").asText());
        assertEquals(pool.at("/metadata/name").asText(), backend.path("name").asText(), "the HTTPRoute sends to the pool");
        if (!pool.at("/spec/endpointPickerRef/failureMode").isMissingNode()) {
            assertTrue(Set.of("FailOpen", "FailClose").contains(pool.at("/spec/endpointPickerRef/failureMode").asText()));
        }
        if (objects.stream().noneMatch(o -> o.at("/metadata/name").asText().startsWith("loragate-epp")
                && o.path("kind").asText().equals("ConfigMap"))) {
            fail("the endpoint picker's configuration ConfigMap is missing");
        }
    }
}
