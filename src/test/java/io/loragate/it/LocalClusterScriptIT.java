package io.loragate.it;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.loragate.Fixtures;
import io.loragate.api.grpc.v1.InferenceServiceGrpc;
import io.loragate.api.grpc.v1.ListModelsRequest;
import io.loragate.registry.RegistryFixtures;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code deployment/local-cluster.sh} in one go (on the tiny-llama fixture): PostgreSQL, s3rver, three
 * replicas of the packaged gateway and HAProxy come up; the API answers through HAProxy and on each
 * replica; a dataset uploaded to one replica is listed by another (one shared database); an adapter
 * registered through HAProxy is served by every replica, and its weights and the dataset's content
 * are objects in s3rver's bucket (one shared S3 store); gRPC calls through HAProxy that name an
 * adapter in {@code x-loragate-adapter} all reach one replica; SIGTERM stops every process it started.
 */
class LocalClusterScriptIT {

    /** A base port whose neighbours the script uses (N..N+3, N+10, N+20) are all free. */
    static int freeBase() throws IOException {
        for (int attempt = 0; attempt < 50; attempt++) {
            int base;
            try (ServerSocket s = new ServerSocket(0)) {
                base = s.getLocalPort();
            }
            if (base > 60000) {
                continue;
            }
            boolean free = true;
            for (int offset : List.of(1, 2, 3, 10, 20)) {
                try (ServerSocket s = new ServerSocket(base + offset)) {
                    s.setReuseAddress(true);
                } catch (IOException taken) {
                    free = false;
                }
            }
            if (free) {
                return base;
            }
        }
        throw new IllegalStateException("no free range of ports");
    }

    static boolean listening(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** How many ListModels calls a replica has answered (its gRPC server metrics). */
    static double listModelsServed(int port) {
        String metrics = given().baseUri("http://127.0.0.1").port(port).header("Accept", "text/plain").get("/q/metrics").asString();
        double n = 0;
        for (String line : metrics.split("\n")) {
            if (line.startsWith("grpc_server_processing_duration_seconds_count{") && line.contains("method=\"ListModels\"")) {
                n += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return n;
    }

    /** gRPC through HAProxy (h2c): calls with the x-loragate-adapter header all reach one replica. */
    static void grpcCallsNamingAnAdapterLandOnOneReplica(int base) throws InterruptedException {
        Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("x-loragate-adapter", Metadata.ASCII_STRING_MARSHALLER), "support@2");
        ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", base).usePlaintext().build();
        try {
            var models = InferenceServiceGrpc.newBlockingStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
            for (int i = 0; i < 6; i++) {
                assertTrue(models.listModels(ListModelsRequest.getDefaultInstance()).getModelsCount() >= 1);
            }
        } finally {
            channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
        }
        List<Double> served = List.of(listModelsServed(base + 1), listModelsServed(base + 2), listModelsServed(base + 3));
        assertTrue(served.contains(6.0) && served.stream().filter(n -> n == 0.0).count() == 2,
                "the six calls of one adapter reached one replica: " + served);
    }

    /** s3rver keeps an object {@code key} of the bucket as the file {@code <bucket folder>/<key>._S3rver_object}. */
    static void assertS3Object(Path prefix, String key) {
        Path object = prefix.resolve(key + "._S3rver_object");
        assertTrue(Files.isRegularFile(object), "the blob " + key + " is an object in s3rver's bucket: " + object);
    }

    /** A PEFT folder registered through HAProxy (whichever replica takes it) is an S3 object, and every replica serves it. */
    static void anAdapterRegisteredThroughHaproxyIsServedByEveryReplicaFromS3(int base, Path objects) {
        Path adapter = RegistryFixtures.adapter("tiny-llama", 0);
        given().baseUri("http://127.0.0.1").port(base).multiPart("name", "shared")
                .multiPart("config", RegistryFixtures.config(adapter).toFile(), "application/json")
                .multiPart("weights", RegistryFixtures.weights(adapter).toFile(), "application/octet-stream")
                .post("/v1/adapters").then().statusCode(200);
        assertS3Object(objects, "adapters/default/shared/1/adapter_model.safetensors");
        assertS3Object(objects, "adapters/default/shared/1/adapter_config.json");
        List<String> texts = new java.util.ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            texts.add(given().baseUri("http://127.0.0.1").port(base + i).contentType("application/json")
                    .body("{\"model\": \"shared\", \"prompt\": \"The software\", \"max_tokens\": 4, \"temperature\": 0}")
                    .post("/v1/completions").then().statusCode(200).body("model", equalTo("shared@1"))
                    .extract().path("choices[0].text"));
        }
        assertEquals(1, new java.util.HashSet<>(texts).size(), "one blob, one greedy output on every replica: " + texts);
    }

    @Test
    void theClusterServesThroughHaproxySharesOneDatabaseAndOneBucketAndStopsOnSigterm() throws Exception {
        int base = freeBase();
        Path log = Path.of("target", "local-cluster-it.log");
        Path tmp = Files.createDirectories(Path.of("target", "local-cluster-it").toAbsolutePath());
        ProcessBuilder pb = new ProcessBuilder("bash", "deployment/local-cluster.sh", "--small", "--base-port", String.valueOf(base))
                .redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("LORAGATE_APP", Gateway.app().toAbsolutePath().toString());
        pb.environment().put("TMPDIR", tmp.toString());
        pb.environment().put("LORAGATE_MODEL_PATH", Fixtures.hf("tiny-llama").toAbsolutePath().toString());
        Process script = pb.start();
        try {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
            while (!Files.readString(log, StandardCharsets.UTF_8).contains("ready: http://127.0.0.1:" + base)) {
                assertTrue(script.isAlive(), "the script exited; see " + log);
                assertTrue(System.nanoTime() < deadline, "the cluster did not come up; see " + log);
                Thread.sleep(500);
            }
            String out = Files.readString(log, StandardCharsets.UTF_8);
            Matcher bucket = Pattern.compile("s3rver on http://127\\.0\\.0\\.1:" + (base + 20)
                    + ": the replicas' blob store s3://loragate/cluster \\(objects in (\\S+)\\)").matcher(out);
            assertTrue(bucket.find(), out);
            Path objects = Path.of(bucket.group(1)).resolve("cluster");

            given().baseUri("http://127.0.0.1").port(base).get("/v1/models").then().statusCode(200)
                    .body("data.id", hasItem("tiny-llama"));
            for (int i = 1; i <= 3; i++) {
                given().baseUri("http://127.0.0.1").port(base + i).get("/q/health/ready").then().statusCode(200);
            }
            Path dataset = Files.writeString(tmp.resolve("shared.jsonl"), "{\"text\": \"one database for three replicas\"}\n");
            String id = given().baseUri("http://127.0.0.1").port(base + 1).multiPart("file", dataset.toFile(), "application/jsonl")
                    .multiPart("purpose", "fine-tune").post("/v1/files").then().statusCode(200).extract().path("id");
            given().baseUri("http://127.0.0.1").port(base + 2).get("/v1/files").then().statusCode(200).body("data.id", hasItem(id));
            String sha = io.loragate.common.DurableFiles.sha256(dataset); // the content's key in the store
            assertS3Object(objects, "files/" + sha.substring(0, 2) + "/" + sha);

            anAdapterRegisteredThroughHaproxyIsServedByEveryReplicaFromS3(base, objects);
            grpcCallsNamingAnAdapterLandOnOneReplica(base);

            List<ProcessHandle> started = script.descendants().toList();
            assertTrue(started.size() >= 5, "3 replicas, s3rver and HAProxy run under the script: " + started);
            script.destroy(); // SIGTERM
            assertTrue(script.waitFor(120, TimeUnit.SECONDS), "the script did not stop on SIGTERM; see " + log);
            long gone = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (started.stream().anyMatch(ProcessHandle::isAlive) || listening(base + 10)) {
                assertTrue(System.nanoTime() < gone, "still running after SIGTERM: "
                        + started.stream().filter(ProcessHandle::isAlive).map(p -> p.info().commandLine().orElse("?")).toList()
                        + (listening(base + 10) ? " and PostgreSQL" : ""));
                Thread.sleep(200);
            }
            assertFalse(listening(base), "HAProxy is gone");
        } finally {
            if (script.isAlive()) {
                script.destroy();
                script.waitFor(60, TimeUnit.SECONDS);
            }
            script.descendants().forEach(ProcessHandle::destroyForcibly);
        }
    }
}
