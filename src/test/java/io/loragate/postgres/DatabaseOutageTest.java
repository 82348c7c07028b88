package io.loragate.postgres;

import static io.loragate.registry.RegistryFixtures.adapter;
import static io.loragate.registry.RegistryFixtures.config;
import static io.loragate.registry.RegistryFixtures.uniqueName;
import static io.loragate.registry.RegistryFixtures.weights;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.loragate.api.grpc.v1.AdapterServiceGrpc;
import io.loragate.api.grpc.v1.ListAdaptersRequest;
import io.loragate.registry.AdapterCache;
import io.loragate.registry.AdapterRegistry;
import io.loragate.registry.AdapterVersion;
import io.loragate.registry.ReplicaSync;
import io.loragate.runtime.ResidentModel;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;

/**
 * PostgreSQL goes down under a running gateway and comes back: requests that need the database fail
 * fast with 503 (gRPC UNAVAILABLE) saying "database unavailable", completions on an adapter whose
 * weights are resident keep being served, and everything works again once the database is back,
 * without a restart.
 */
@QuarkusTest
@TestProfile(PostgresProfiles.Registry.class)
class DatabaseOutageTest {

    /** A ceiling for waits that normally end quickly; only a failure waits this long. */
    static final Duration PATIENCE = Duration.ofSeconds(120);

    @GrpcClient("loragate")
    AdapterServiceGrpc.AdapterServiceBlockingStub adapters;

    @Inject
    AdapterRegistry registry;
    @Inject
    AdapterCache cache;
    @Inject
    ResidentModel resident;
    @Inject
    ReplicaSync sync;

    AdapterVersion register(String name, int fixture) {
        Path folder = adapter("tiny-llama", fixture);
        return registry.register("default", name, config(folder), weights(folder));
    }

    static Response complete(String model) {
        return given().contentType(ContentType.JSON)
                .body("{\"model\": \"" + model + "\", \"prompt\": \"Q: violin\\nA:\", \"max_tokens\": 2, \"temperature\": 0}")
                .when().post("/v1/completions");
    }

    /** The pool's wait for a connection: "fail fast" means well before it. */
    static Duration acquisitionTimeout() {
        return ConfigProvider.getConfig().getValue("quarkus.datasource.jdbc.acquisition-timeout", Duration.class);
    }

    /** Polls until {@code response} answers {@code status}; answers that response. */
    static Response awaitStatus(int status, Supplier<Response> response) throws InterruptedException {
        long start = System.nanoTime();
        while (true) {
            Response r = response.get();
            if (r.statusCode() == status) {
                return r;
            }
            if (System.nanoTime() - start > PATIENCE.toNanos()) {
                throw new AssertionError("no " + status + " within " + PATIENCE + "; last: " + r.statusCode() + " " + r.asString());
            }
            Thread.sleep(100);
        }
    }

    @Test
    void requestsThatNeedTheDatabaseFailFastWhileResidentAdaptersServeAndAllRecovers() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
        AdapterVersion warm = register(uniqueName("outage-warm"), 0);
        AdapterVersion cold = register(uniqueName("outage-cold"), 1);
        cache.load(warm).get(120, TimeUnit.SECONDS);
        assertTrue(cache.isResident(warm));
        assertFalse(cache.isResident(cold));
        assertEquals(warm.id(), complete(warm.name()).then().statusCode(200).extract().path("model"));
        long listening = sync.listener().connections();

        PostgresServer server = PostgresServer.shared();
        server.stop(PostgresServer.Shutdown.FAST);
        try {
            long start = System.nanoTime();
            Response list = given().get("/v1/adapters");
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertEquals(503, list.statusCode(), list.asString());
            assertTrue(list.jsonPath().getString("error.message").startsWith("database unavailable"), list.asString());
            assertTrue(Integer.parseInt(list.header("Retry-After")) >= 1);
            assertTrue(took.compareTo(acquisitionTimeout()) < 0, "answered in " + took + ", before the pool's acquisition"
                    + " timeout (" + acquisitionTimeout() + "): it did not wait for a connection that cannot come");
            System.out.printf("during the outage: GET /v1/adapters answered 503 in %d ms%n", took.toMillis());

            StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
                    () -> adapters.withDeadlineAfter(60, TimeUnit.SECONDS).list(ListAdaptersRequest.newBuilder().build()));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
            assertTrue(e.getStatus().getDescription().startsWith("database unavailable"), e.toString());

            Response served = complete(warm.name());
            assertEquals(200, served.statusCode(), "a resident adapter is served during the outage: " + served.asString());
            assertEquals(warm.id(), served.jsonPath().getString("model"));
            Response refused = complete(cold.name());
            assertEquals(503, refused.statusCode(), "an adapter that is not resident needs the database: " + refused.asString());
            assertTrue(refused.jsonPath().getString("error.message").startsWith("database unavailable"), refused.asString());
        } finally {
            server.restart();
        }

        long back = System.nanoTime();
        awaitStatus(200, () -> given().get("/v1/adapters"));
        System.out.printf("after the outage: GET /v1/adapters answered 200 again after %d ms%n",
                Duration.ofNanos(System.nanoTime() - back).toMillis());
        assertEquals(cold.id(), complete(cold.name()).then().statusCode(200).extract().path("model"),
                "the adapter that could not be loaded during the outage loads now");
        assertEquals(200, adapters.withDeadlineAfter(60, TimeUnit.SECONDS).list(ListAdaptersRequest.newBuilder().build())
                .getAdaptersCount() > 0 ? 200 : 500);
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (sync.listener().connections() == listening && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertTrue(sync.listener().connections() > listening, "the change listener connected again");
    }
}
