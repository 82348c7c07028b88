package io.loragate.service;

import io.loragate.adapter.LoraAdapter;
import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import io.loragate.model.InputPooling;

/**
 * Which {@link InputPooling} an embeddings or classification request runs with, and the vector
 * arithmetic around pooled windows.
 */
final class EncoderInputs {

    private EncoderInputs() {
    }

    /** Embeddings: the request's pooling, else the one the adapter was trained with, else truncate. */
    static InputPooling forEmbeddings(InputPooling requested, LoraAdapter adapter) {
        InputPooling trained = adapter == null ? null : adapter.pooling();
        return requested != null ? requested : trained != null ? trained : InputPooling.TRUNCATE;
    }

    /**
     * Classification: the pooling the adapter's head was trained with (so serving reads long inputs
     * as training did); a request naming another one is refused. Without a trained one: the
     * request's, else truncate.
     */
    static InputPooling forClassification(InputPooling requested, LoraAdapter adapter, String id) {
        InputPooling trained = adapter == null ? null : adapter.pooling();
        if (requested != null && trained != null && requested != trained) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "adapter '" + id + "' was trained with pooling '"
                    + trained.wireName() + "'; leave pooling out or name the same").withParam("pooling");
        }
        return requested != null ? requested : trained != null ? trained : InputPooling.TRUNCATE;
    }

    /**
     * The inputs' embeddings from their windows' unit vectors: the token-weighted average, scaled to
     * unit length again; an input of one window keeps its window's vector as it is.
     */
    static float[][] embeddings(io.loragate.model.InputWindows windows, float[][] rowVectors) {
        float[][] pooled = windows.pool(rowVectors);
        float[][] out = new float[pooled.length][];
        for (int r = 0; r < pooled.length; r++) {
            out[r] = windows.single(r) ? pooled[r] : unit(pooled[r]);
        }
        return out;
    }

    private static float[] unit(float[] v) {
        double norm = 0;
        for (float x : v) {
            norm += (double) x * x;
        }
        double scale = 1.0 / Math.max(Math.sqrt(norm), 1e-12);
        float[] out = new float[v.length];
        for (int k = 0; k < v.length; k++) {
            out[k] = (float) (v[k] * scale);
        }
        return out;
    }
}
