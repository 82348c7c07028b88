package io.loragate.api.rest;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.loragate.Fixtures;
import io.loragate.TinyLlamaProfile;
import io.loragate.adapter.PoisonedAdapters;
import io.loragate.api.grpc.v1.AdapterServiceGrpc;
import io.loragate.api.grpc.v1.ListAdaptersRequest;
import io.loragate.api.grpc.v1.RegisterAdapterRequest;
import io.loragate.model.BaseModel;
import io.loragate.runtime.ResidentModel;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The door: an adapter of any kind with a NaN, an infinity or an out-of-bound number in any tensor
 * or config scalar is refused at registration over REST (400, OpenAI-shaped, naming the tensor) and
 * gRPC (INVALID_ARGUMENT naming it), and nothing is stored under its name.
 */
@QuarkusTest
@TestProfile(TinyLlamaProfile.class)
class AdapterNumbersRestGrpcTest {

    @Inject
    ResidentModel resident;

    @GrpcClient("loragate")
    AdapterServiceGrpc.AdapterServiceBlockingStub adapters;

    @TempDir
    Path tmp;

    @BeforeEach
    void baseLoaded() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
    }

    @Test
    void everyKindOfPoisonedAdapterIsRefusedOverRestAndGrpcAndNothingIsStored() throws Exception {
        String run = Long.toString(System.nanoTime(), 36);
        List<PoisonedAdapters.Case> cases;
        try (BaseModel llama = BaseModel.load(Fixtures.hf("tiny-llama"), Device.cpu())) {
            cases = PoisonedAdapters.tinyLlama(llama, tmp);
        }
        assertEquals(10, cases.size());
        int i = 0;
        for (PoisonedAdapters.Case c : cases) {
            String name = "poison-" + run + "-" + i++;
            Path cfg = c.folder().resolve("adapter_config.json");
            Path weights = c.folder().resolve("adapter_model.safetensors");
            String param = c.named().contains("alpha") ? "config" : "weights";
            given().multiPart("name", name).multiPart("config", cfg.toFile(), "application/json")
                    .multiPart("weights", weights.toFile(), "application/octet-stream")
                    .post("/v1/adapters").then().statusCode(400)
                    .body("error.type", equalTo("invalid_request_error"))
                    .body("error.param", equalTo(param))
                    .body("error.message", containsString(c.named()))
                    .body("error.message", not(containsString(tmp.toString())))
                    .body("error.message", not(containsString("Exception")));
            given().get("/v1/adapters/" + name).then().statusCode(404);

            RegisterAdapterRequest req = RegisterAdapterRequest.newBuilder().setName(name)
                    .setAdapterConfigJson(ByteString.copyFrom(Files.readAllBytes(cfg)))
                    .setAdapterModelSafetensors(ByteString.copyFrom(Files.readAllBytes(weights))).build();
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> adapters.withDeadlineAfter(60, TimeUnit.SECONDS).register(req), c.kind());
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), c.kind());
            String description = String.valueOf(e.getStatus().getDescription());
            assertTrue(description.contains(c.named()), c.kind() + ": " + description);
            assertFalse(description.contains(tmp.toString()), description);
            assertFalse(adapters.list(ListAdaptersRequest.getDefaultInstance()).getAdaptersList().stream()
                    .anyMatch(a -> a.getName().equals(name)), c.kind() + " was stored");
        }
    }
}
