package io.loragate.common;


import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataPathsTest {

    @TempDir
    Path tmp;

    @Test
    void plainSegmentsResolveUnderTheRoot() {
        Path root = tmp.resolve("data");
        assertEquals(root.resolve("adapters/default/support/3"), DataPaths.under(root, "adapters", "default",
                "support", "3"));
    }

    @Test
    void traversalSeparatorsAndOddNamesAreRefused() {
        Path root = tmp.resolve("data");
        for (String bad : new String[] {"..", ".", "", "../x", "a/b", "a\\b", "/etc", "x".repeat(129), "\uff41", "a\u0000",
            ".hidden", "%2e%2e", null}) {
            LoragateException e = assertThrows(LoragateException.class, () -> DataPaths.under(root, "files", bad), String.valueOf(bad));
            assertEquals(LoragateException.Kind.INVALID_ARGUMENT, e.kind());
        }
    }

    @Test
    void aLinkBelowTheRootIsRefusedTheRootItselfMayBeOne() throws IOException {
        Path real = Files.createDirectories(tmp.resolve("real"));
        Path root = Files.createSymbolicLink(tmp.resolve("data"), real); // the operator's choice
        Path outside = Files.createDirectories(tmp.resolve("outside"));
        Files.createDirectories(root.resolve("adapters/default"));
        assertTrue(DataPaths.under(root, "adapters", "default", "a").startsWith(root));
        Files.createSymbolicLink(root.resolve("adapters/default/evil"), outside);
        LoragateException e = assertThrows(LoragateException.class, () -> DataPaths.under(root, "adapters", "default", "evil", "1"));
        assertEquals(LoragateException.Kind.DATA_LOSS, e.kind());
        assertTrue(e.getMessage().contains("symbolic link"), e.getMessage());
        Files.writeString(outside.resolve("f"), "x");
        Files.createDirectories(root.resolve("files/ab"));
        Files.createSymbolicLink(root.resolve("files/ab/blob"), outside.resolve("f"));
        assertThrows(LoragateException.class, () -> DataPaths.under(root, "files", "ab", "blob"));
        assertThrows(LoragateException.class, () -> DataPaths.refuseLinks(root, root.resolve("files/ab/blob")));
        assertThrows(LoragateException.class, () -> DataPaths.refuseLinks(root, tmp.resolve("outside/f")));
    }
}
