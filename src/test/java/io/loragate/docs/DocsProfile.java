package io.loragate.docs;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;

/**
 * The gateway as a fresh start of the README's first command serves it: the embedded
 * all-MiniLM-L6-v2, every default, and a data directory of its own that no other test writes (the
 * build empties {@code target/test-data*} before every test run), so the tutorial's adapter starts
 * at version 1.
 */
public class DocsProfile implements QuarkusTestProfile {

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("loragate.data-dir", "target/test-data-docs");
    }
}
