package io.loragate.model.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.common.ModelFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Regression tests for the header checks the fuzzer drove (and the format's reference rules). */
class SafetensorsHeaderTest {

    @TempDir
    Path tmp;

    private Path file(String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path f = Files.createTempFile(tmp, "h", ".safetensors");
        Files.write(f, b.array());
        return f;
    }

    private String refused(String header, int dataBytes) throws IOException {
        Path f = file(header, dataBytes);
        return assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(f).close()).getMessage();
    }

    @Test
    void aValidHeaderOpensInAnyOrder() throws IOException {
        Path f = file("{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[16,16]},\"__metadata__\":{\"format\":\"pt\"}}", 16);
        try (SafetensorsFile st = SafetensorsFile.open(f)) {
            assertEquals(3, st.tensors().size());
            assertEquals("pt", st.metadata().get("format"));
        }
    }

    /** Found by the fuzzer: a dimension times the ones before it overflowed a long (ArithmeticException escaped). */
    @Test
    void anOverflowingShapeIsAFormatError() throws IOException {
        String msg = refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[3,4611686018427387904],\"data_offsets\":[0,8]}}", 8);
        assertTrue(msg.contains("invalid dimension"), msg);
        msg = refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[65536,65536,65536],\"data_offsets\":[0,8]}}", 8);
        assertTrue(msg.contains("needs more bytes"), msg);
    }

    /** Found by the fuzzer: two tensors sharing bytes were accepted. */
    @Test
    void overlappingGapsAndTrailingBytesAreRefused() throws IOException {
        String msg = refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
        assertTrue(msg.contains("overlap those of 'a'"), msg);
        msg = refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8);
        assertTrue(msg.contains("gap"), msg);
        msg = refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8);
        assertTrue(msg.contains("trailing bytes"), msg);
    }

    @Test
    void duplicateKeysFractionalDimsAndBadMetadataAreRefused() throws IOException {
        String t = "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}";
        assertTrue(refused("{\"a\":" + t + ",\"a\":" + t + "}", 4).contains("Duplicate field 'a'"));
        assertTrue(refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", 4).contains("invalid dimension"));
        assertTrue(refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4.5]}}", 4).contains("data_offsets"));
        assertTrue(refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4).contains("invalid dimension"));
        assertTrue(refused("{\"__metadata__\":[1],\"a\":" + t + "}", 4).contains("__metadata__ must be an object"));
        assertTrue(refused("{\"__metadata__\":{\"k\":1},\"a\":" + t + "}", 4).contains("entry 'k' must be a string"));
        assertTrue(refused("[" + t + "]", 4).contains("not a JSON object"));
        assertTrue(refused("{\"a\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4).contains("unknown dtype"));
    }

    @Test
    void deepNestingAndHugeNamesFailWithShortMessages() throws IOException {
        String msg = refused("{\"a\":" + "[".repeat(5000) + "]".repeat(5000) + "}", 0);
        assertTrue(msg.contains("not valid JSON"), msg);
        msg = refused("{\"" + "n".repeat(10_000) + "\":{\"dtype\":\"X\"}}", 0);
        assertTrue(msg.length() < 1000 && msg.contains("10000 chars"), msg);
    }
}
