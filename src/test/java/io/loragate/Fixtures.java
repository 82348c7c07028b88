package io.loragate;

import io.loragate.model.safetensors.SafetensorsFile;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;

/** The Hugging Face parity fixtures copied into test resources (see fixtures/hf/README.md). */
public final class Fixtures {

    private Fixtures() {
    }

    /** A fixture folder, e.g. {@code tiny-llama}. */
    public static Path hf(String name) {
        URL url = Fixtures.class.getResource("/fixtures/hf/" + name + "/config.json");
        if (url == null) {
            throw new IllegalStateException("fixture " + name + " is missing from test resources");
        }
        try {
            return Path.of(url.toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The reference outputs of a fixture. */
    public static SafetensorsFile reference(String name) {
        return SafetensorsFile.open(hf(name).resolve("reference.safetensors"));
    }

    /** Largest absolute difference between two arrays of the same length. */
    public static double maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new AssertionError("lengths differ: " + a.length + " vs " + b.length);
        }
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
