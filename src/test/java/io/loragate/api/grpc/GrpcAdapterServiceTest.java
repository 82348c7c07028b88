package io.loragate.api.grpc;

import static io.loragate.api.grpc.GrpcTestSupport.assertGreedy;
import static io.loragate.api.grpc.GrpcTestSupport.assertStatus;
import static io.loragate.api.grpc.GrpcTestSupport.registration;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.loragate.api.grpc.v1.Adapter;
import io.loragate.api.grpc.v1.AdapterRef;
import io.loragate.api.grpc.v1.AdapterServiceGrpc;
import io.loragate.api.grpc.v1.AdapterVersion;
import io.loragate.api.grpc.v1.GenerateResponse;
import io.loragate.api.grpc.v1.GetAdapterRequest;
import io.loragate.api.grpc.v1.InferenceServiceGrpc;
import io.loragate.api.grpc.v1.ListAdaptersRequest;
import io.loragate.api.grpc.v1.SetActiveVersionRequest;
import io.loragate.runtime.ResidentModel;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.loragate.TinyLlamaProfile;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** AdapterService over a real gRPC channel: versions, the alias, the cache operations and bad uploads. */
@QuarkusTest
@TestProfile(TinyLlamaProfile.class)
class GrpcAdapterServiceTest {

    @GrpcClient("loragate")
    AdapterServiceGrpc.AdapterServiceBlockingStub adapters;

    @GrpcClient("loragate")
    InferenceServiceGrpc.InferenceServiceBlockingStub inference;

    @Inject
    ResidentModel resident;

    @BeforeEach
    void baseLoaded() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
    }

    private AdapterServiceGrpc.AdapterServiceBlockingStub adapters() {
        return adapters.withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    private static AdapterRef ref(String id) {
        return AdapterRef.newBuilder().setAdapterId(id).build();
    }

    @Test
    void versionsAliasSwitchAndDelete() {
        String name = "swap-" + GrpcTestSupport.RUN;
        AdapterVersion v1 = adapters().register(registration(name, "adapter0"));
        assertEquals(name + "@1", v1.getId());
        assertEquals(name, v1.getName());
        assertEquals(1, v1.getVersion());
        assertEquals("LORA", v1.getPeftType());
        assertEquals(4, v1.getRank());
        assertEquals("ready", v1.getState());
        assertTrue(v1.getBytes() > 0 && v1.getSha256().length() == 64 && v1.getCreatedAt() > 0, v1.toString());
        assertTrue(v1.getActive(), "the first version of a name becomes active");

        AdapterVersion v2 = adapters().register(registration(name, "adapter1"));
        assertEquals(name + "@2", v2.getId());
        assertEquals(8, v2.getRank());
        assertFalse(v2.getActive(), "later versions wait for SetActiveVersion");
        assertEquals(1, v2.getActiveVersion());

        Adapter listed = adapters().list(ListAdaptersRequest.getDefaultInstance()).getAdaptersList().stream()
                .filter(a -> a.getName().equals(name)).findFirst().orElseThrow();
        assertEquals(1, listed.getActiveVersion());
        assertEquals(name + "@1", listed.getActiveId());
        assertEquals(2, listed.getVersionsCount());

        // the alias follows the switch; name@version keeps meaning the same weights
        assertServes(name, "p0.adapter0.greedy");
        AdapterVersion active = adapters().setActiveVersion(SetActiveVersionRequest.newBuilder().setName(name).setVersion(2).build());
        assertEquals(name + "@2", active.getId());
        assertTrue(active.getActive());
        assertEquals(2, adapters().get(GetAdapterRequest.newBuilder().setName(name).build()).getActiveVersion());
        assertServes(name, "p0.adapter1.greedy");
        assertServes(name + "@1", "p0.adapter0.greedy");

        assertStatus(Status.Code.INVALID_ARGUMENT, () -> adapters().deleteVersion(ref(name)));
        assertStatus(Status.Code.NOT_FOUND, () -> adapters().setActiveVersion(
                SetActiveVersionRequest.newBuilder().setName(name).setVersion(7).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> adapters().setActiveVersion(
                SetActiveVersionRequest.newBuilder().setName(name).build()));
        assertStatus(Status.Code.FAILED_PRECONDITION, () -> adapters().deleteVersion(ref(name + "@2")));
        assertEquals(name + "@1", adapters().deleteVersion(ref(name + "@1")).getId());
        Adapter after = adapters().get(GetAdapterRequest.newBuilder().setName(name).build());
        assertEquals(1, after.getVersionsCount());
        assertEquals(2, after.getVersions(0).getVersion());
        assertStatus(Status.Code.NOT_FOUND, () -> inference.withDeadlineAfter(60, TimeUnit.SECONDS)
                .generate(GrpcInferenceTest.greedy(name + "@1")));
    }

    private void assertServes(String adapterId, String reference) {
        GenerateResponse r = inference.withDeadlineAfter(120, TimeUnit.SECONDS).generate(GrpcInferenceTest.greedy(adapterId));
        assertGreedy(GrpcInferenceTest.expected(reference), GrpcInferenceTest.longs(r.getTokenIdsList()), r.getFinishReason(),
                adapterId + " serves " + reference);
    }

    @Test
    void loadPinUnpinUnload() {
        String name = "cached-" + GrpcTestSupport.RUN;
        adapters().register(registration(name, "adapter1"));
        AdapterVersion loaded = adapters().load(ref(name));
        assertEquals(name + "@1", loaded.getId());
        assertTrue(loaded.getLoaded(), "Load answers once resident");

        // a version's own pin
        AdapterVersion pinned = adapters().pin(ref(name + "@1"));
        assertTrue(pinned.getPinned());
        assertStatus(Status.Code.FAILED_PRECONDITION, () -> adapters().unload(ref(name + "@1")));
        assertFalse(adapters().unpin(ref(name + "@1")).getPinned());
        assertFalse(adapters().unload(ref(name)).getLoaded());

        // the alias pin
        assertEquals(name + "@1", adapters().pin(ref(name)).getId());
        assertTrue(adapters().get(GetAdapterRequest.newBuilder().setName(name).build()).getPinned());
        assertEquals(name + "@1", adapters().unpin(ref(name)).getId());
        assertFalse(adapters().get(GetAdapterRequest.newBuilder().setName(name).build()).getPinned());

        assertStatus(Status.Code.NOT_FOUND, () -> adapters().pin(ref(name + "@5")));
        assertStatus(Status.Code.NOT_FOUND, () -> adapters().load(ref("nothing-here")));
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> adapters().load(ref("")));
    }

    @Test
    void unknownAdapterIsNotFound() {
        assertStatus(Status.Code.NOT_FOUND, () -> adapters().get(GetAdapterRequest.newBuilder().setName("ghost").build()));
    }

    @Test
    void badUploadsAreInvalidAndNothingIsPublished() {
        ByteString pickle = ByteString.copyFrom(new byte[] {(byte) 0x80, 0x02, 'c', 't', 'o', 'r', 'c', 'h', '\n'});
        assertStatus(Status.Code.INVALID_ARGUMENT,
                () -> adapters().register(registration("bad", "adapter0").toBuilder().setAdapterModelSafetensors(pickle).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> adapters().register(registration("bad", "adapter0").toBuilder()
                .setAdapterConfigJson(ByteString.copyFrom("{not json", StandardCharsets.UTF_8)).build()));
        // larger than the single server's default message limit (256 KiB): reaches validation, which refuses it
        ByteString junk = ByteString.copyFrom(new byte[3 << 20]);
        assertStatus(Status.Code.INVALID_ARGUMENT,
                () -> adapters().register(registration("bad", "adapter0").toBuilder().setAdapterModelSafetensors(junk).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> adapters().register(registration("../escape", "adapter0")));
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> adapters().register(registration("", "adapter0")));
        assertStatus(Status.Code.INVALID_ARGUMENT,
                () -> adapters().register(registration("bad", "adapter0").toBuilder().clearAdapterModelSafetensors().build()));
        assertTrue(adapters().list(ListAdaptersRequest.getDefaultInstance()).getAdaptersList().stream()
                .noneMatch(a -> a.getName().equals("bad") || a.getName().contains("escape")), "nothing was published");
    }
}
