package io.loragate.api.grpc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.loragate.Fixtures;
import io.loragate.api.grpc.v1.AdapterServiceGrpc;
import io.loragate.api.grpc.v1.AdapterVersion;
import io.loragate.api.grpc.v1.RegisterAdapterRequest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.function.Executable;

/** Helpers shared by the gRPC transport tests. */
final class GrpcTestSupport {

    /** Suffix of the adapter names of this run: the test data directory outlives a run. */
    static final String RUN = Long.toString(System.currentTimeMillis() % 1_000_000_000L, 36);

    /** The tiny-llama tokenizer's EOS; transformers pads the rest of a finished row with 0. */
    static final long EOS = 2;

    private GrpcTestSupport() {
    }

    /** A PEFT folder's two files as a Register request. */
    static RegisterAdapterRequest registration(String name, String fixtureAdapter) {
        Path folder = Fixtures.hf("tiny-llama").resolve(fixtureAdapter);
        return RegisterAdapterRequest.newBuilder()
                .setName(name)
                .setAdapterConfigJson(bytes(folder.resolve("adapter_config.json")))
                .setAdapterModelSafetensors(bytes(folder.resolve("adapter_model.safetensors")))
                .build();
    }

    /** Registers the fixture adapter under {@code name} (first version) unless this run already did. */
    static void ensureRegistered(AdapterServiceGrpc.AdapterServiceBlockingStub adapters, String name, String fixtureAdapter) {
        boolean present = adapters.list(io.loragate.api.grpc.v1.ListAdaptersRequest.getDefaultInstance())
                .getAdaptersList().stream().anyMatch(a -> a.getName().equals(name));
        if (!present) {
            AdapterVersion v = adapters.register(registration(name, fixtureAdapter));
            assertEquals(name + "@1", v.getId());
        }
    }

    static ByteString bytes(Path p) {
        try {
            return ByteString.copyFrom(Files.readAllBytes(p));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Compares our tokens with transformers' greedy {@code generate} output, which keeps the EOS it
     * stopped at and pads the rest with 0: both sides are compared up to and including the first EOS
     * (ours may stop at EOS with or without listing it).
     */
    static void assertGreedy(long[] expected, long[] got, String finishReason, String what) {
        long[] want = upToEos(expected);
        long[] have = upToEos(got);
        if ("stop".equals(finishReason) && (have.length == 0 || have[have.length - 1] != EOS)) {
            have = Arrays.copyOf(have, have.length + 1);
            have[have.length - 1] = EOS;
        }
        assertArrayEquals(want, have, what + ": expected " + Arrays.toString(want) + " got " + Arrays.toString(have)
                + " (finish_reason " + finishReason + ")");
    }

    private static long[] upToEos(long[] tokens) {
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] == EOS) {
                return Arrays.copyOf(tokens, i + 1);
            }
        }
        return tokens;
    }

    /** Runs a call that must fail with {@code code}; answers the status for further checks. */
    static Status assertStatus(Status.Code code, Executable call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
        assertEquals(code, e.getStatus().getCode(), "status of a failed call: " + e.getStatus());
        String description = e.getStatus().getDescription();
        assertTrue(description != null && !description.isBlank(), "a failed call explains itself");
        assertTrue(!description.contains("\tat ") && !description.contains("Exception:"), "no stack trace in " + description);
        return e.getStatus();
    }
}
