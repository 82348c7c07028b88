package io.loragate.service;

import io.smallrye.mutiny.Multi;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * What the transports call for inference: validates a request, resolves the adapter id to an
 * immutable version, holds a lease on its weights for the request's lifetime, and runs it on the
 * engine. Every failure is a {@link io.loragate.model.LoragateException} with a kind the transports map.
 */
@ApplicationScoped
public class InferenceService {

    /** Generates one choice per prompt; completes when all are finished. */
    public CompletableFuture<CompletionResult> complete(String tenant, CompletionCommand command) {
        throw new UnsupportedOperationException("being built");
    }

    /**
     * Streams tokens as they are generated; each choice ends with a chunk carrying its finish reason.
     * Cancelling the subscription (a client that disconnects) removes the request from the engine at
     * its next step and releases its adapter lease.
     */
    public Multi<CompletionChunk> stream(String tenant, CompletionCommand command) {
        throw new UnsupportedOperationException("being built");
    }

    /** Sentence embeddings (encoder bases: mean pooling + L2 normalisation). */
    public CompletableFuture<EmbeddingResult> embed(String tenant, String model, List<String> inputs) {
        throw new UnsupportedOperationException("being built");
    }

    /** Class probabilities from the base's or the adapter's classifier head. */
    public CompletableFuture<ClassificationResult> classify(String tenant, String model, List<String> inputs) {
        throw new UnsupportedOperationException("being built");
    }

    /** The base model and the adapters the tenant may use. */
    public List<ModelEntry> models(String tenant) {
        throw new UnsupportedOperationException("being built");
    }
}
