package io.loragate.api.grpc;

import io.grpc.Context;
import io.loragate.api.grpc.v1.ClassificationItem;
import io.loragate.api.grpc.v1.ClassifyRequest;
import io.loragate.api.grpc.v1.ClassifyResponse;
import io.loragate.api.grpc.v1.EmbedRequest;
import io.loragate.api.grpc.v1.EmbedResponse;
import io.loragate.api.grpc.v1.Embedding;
import io.loragate.api.grpc.v1.GenerateRequest;
import io.loragate.api.grpc.v1.GenerateResponse;
import io.loragate.api.grpc.v1.GenerateStreamResponse;
import io.loragate.api.grpc.v1.InferenceService;
import io.loragate.api.grpc.v1.ListModelsRequest;
import io.loragate.api.grpc.v1.ListModelsResponse;
import io.loragate.api.grpc.v1.Model;
import io.loragate.api.grpc.v1.Usage;
import io.loragate.common.LoragateException;
import io.loragate.common.SamplingParams;
import io.loragate.service.AdapterService;
import io.loragate.service.ChatMessage;
import io.loragate.service.ClassificationResult;
import io.loragate.service.CompletionChunk;
import io.loragate.service.CompletionCommand;
import io.loragate.service.CompletionResult;
import io.loragate.service.EmbeddingResult;
import io.loragate.service.GenerationService;
import io.loragate.service.ModelEntry;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * gRPC {@code loragate.v1.InferenceService} over {@link GenerationService}. Maps messages to service
 * calls and back; failures become statuses in {@link GrpcErrorMapper}.
 *
 * <p>Methods are {@link Blocking}: resolving an adapter id reads the registry's database, which must not
 * happen on an event loop. The worker thread only submits the request; the answer arrives when the
 * engine completes it, without holding the thread.
 */
@GrpcService
@Blocking
public class InferenceGrpcService implements InferenceService {

    /** OpenAI's defaults for fields a request leaves unset. */
    static final int DEFAULT_MAX_TOKENS = 16;
    static final double DEFAULT_TEMPERATURE = 1.0;

    private final GenerationService generation;
    private final AdapterService adapters;
    private final TenantResolver tenants;

    public InferenceGrpcService(GenerationService generation, AdapterService adapters, TenantResolver tenants) {
        this.generation = generation;
        this.adapters = adapters;
        this.tenants = tenants;
    }

    @Override
    public Uni<ListModelsResponse> listModels(ListModelsRequest request) {
        String tenant = tenants.tenant();
        return Uni.createFrom().item(() -> {
            ListModelsResponse.Builder b = ListModelsResponse.newBuilder();
            for (ModelEntry m : adapters.models(tenant)) {
                b.addModels(Model.newBuilder().setId(m.id()).setCreated(m.created())
                        .setOwnedBy(m.ownedBy()).setRoot(m.root()).setActiveVersion(m.adapter() ? m.version() : 0)
                        .setAdapter(m.adapter()));
            }
            return b.build();
        });
    }

    @Override
    public Uni<GenerateResponse> generate(GenerateRequest request) {
        return unary(() -> {
            String tenant = tenants.tenant();
            CompletionCommand command = command(request);
            return generation.complete(tenant, command);
        }).map(result -> response(request, result));
    }

    /**
     * Streams the service's chunks. Quarkus cancels the subscription when the client cancels the call
     * (or its deadline passes), which removes the request from the engine at its next step.
     */
    @Override
    public Multi<GenerateStreamResponse> generateStream(GenerateRequest request) {
        return Multi.createFrom().deferred(() -> {
            String tenant = tenants.tenant();
            return generation.stream(tenant, command(request));
        }).map(chunk -> chunk(request, chunk));
    }

    @Override
    public Uni<EmbedResponse> embed(EmbedRequest request) {
        return unary(() -> {
            String tenant = tenants.tenant();
            requireInputs(request.getInputsList());
            return generation.embed(tenant, model(request.getAdapterId()), request.getInputsList(),
                    request.hasPooling() ? request.getPooling() : null);
        }).map(InferenceGrpcService::response);
    }

    @Override
    public Uni<ClassifyResponse> classify(ClassifyRequest request) {
        return unary(() -> {
            String tenant = tenants.tenant();
            requireInputs(request.getInputsList());
            return generation.classify(tenant, model(request.getAdapterId()), request.getInputsList(),
                    request.hasPooling() ? request.getPooling() : null);
        }).map(InferenceGrpcService::response);
    }

    /**
     * A Uni over a service future. A unary call that the client cancels (or whose deadline passes)
     * cancels the future. (GenerationService.complete does not yet stop its engine sequences when its
     * future is cancelled: they end at max_tokens or loragate's request timeout. Streams do stop.)
     */
    private static <T> Uni<T> unary(Supplier<CompletableFuture<T>> call) {
        return Uni.createFrom().deferred(() -> {
            CompletableFuture<T> future = call.get();
            Context context = Context.current();
            if (context.isCancelled()) {
                future.cancel(false);
            } else {
                context.addListener(c -> future.cancel(false), Runnable::run);
            }
            return Uni.createFrom().completionStage(future);
        });
    }

    CompletionCommand command(GenerateRequest r) {
        boolean chat = r.getMessagesCount() > 0;
        if (chat && !r.getPrompt().isEmpty()) {
            throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "give either prompt or messages, not both")
                    .withParam("messages");
        }
        if (!chat && r.getPrompt().isEmpty()) {
            throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "prompt (or messages) must not be empty")
                    .withParam("prompt");
        }
        SamplingParams params = new SamplingParams(
                r.hasMaxTokens() ? r.getMaxTokens() : DEFAULT_MAX_TOKENS,
                r.hasTemperature() ? r.getTemperature() : DEFAULT_TEMPERATURE,
                r.getTopK(),
                r.hasTopP() ? r.getTopP() : 1.0,
                r.hasSeed() ? r.getSeed() : null,
                Set.copyOf(r.getStopTokenIdsList()),
                r.getStopList(),
                false);
        if (chat) {
            List<ChatMessage> messages = r.getMessagesList().stream()
                    .map(m -> new ChatMessage(m.getRole(), m.getContent())).toList();
            return generation.chat(model(r.getAdapterId()), messages, params, r.getLogprobs());
        }
        return new CompletionCommand(model(r.getAdapterId()), List.of(r.getPrompt()), params, r.getLogprobs());
    }

    /** The service's model id for an adapter id: "" means the base model. */
    private String model(String adapterId) {
        return adapterId.isEmpty() ? generation.baseModelId() : adapterId;
    }

    private static void requireInputs(List<String> inputs) {
        if (inputs.isEmpty()) {
            throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT, "inputs must not be empty").withParam("inputs");
        }
    }

    static GenerateResponse response(GenerateRequest request, CompletionResult result) {
        CompletionResult.Choice choice = result.choices().get(0);
        GenerateResponse.Builder b = GenerateResponse.newBuilder()
                .setId(nz(result.id()))
                .setModel(nz(result.model()))
                .setCreated(result.created())
                .setText(nz(choice.text()))
                .setFinishReason(nz(choice.finishReason()))
                .setUsage(usage(result.usage().promptTokens(), result.usage().completionTokens()));
        if (request.getReturnTokenIds()) {
            if (choice.tokenIds() != null) {
                for (long t : choice.tokenIds()) {
                    b.addTokenIds(t);
                }
            }
            if (result.promptTokenIds() != null && !result.promptTokenIds().isEmpty()) {
                for (long t : result.promptTokenIds().get(0)) {
                    b.addPromptTokenIds(t);
                }
            }
        }
        if (request.getLogprobs()) {
            if (choice.logprobs() != null) {
                for (double lp : choice.logprobs()) {
                    b.addLogprobs(lp);
                }
            }
            if (choice.tokens() != null) {
                b.addAllTokens(choice.tokens());
            }
        }
        return b.build();
    }

    static GenerateStreamResponse chunk(GenerateRequest request, CompletionChunk c) {
        GenerateStreamResponse.Builder b = GenerateStreamResponse.newBuilder()
                .setId(nz(c.id()))
                .setModel(nz(c.model()))
                .setText(nz(c.text()));
        if (c.tokenId() >= 0) {
            b.setTokenId(c.tokenId());
            if (request.getLogprobs()) {
                b.setLogprob(c.logprob());
            }
        }
        if (c.finishReason() != null) {
            b.setFinishReason(c.finishReason());
        }
        return b.build();
    }

    static EmbedResponse response(EmbeddingResult result) {
        EmbedResponse.Builder b = EmbedResponse.newBuilder()
                .setModel(nz(result.model()))
                .setUsage(usage(result.promptTokens(), 0));
        for (float[] vector : result.vectors()) {
            Embedding.Builder e = Embedding.newBuilder();
            for (float v : vector) {
                e.addValues(v);
            }
            b.addEmbeddings(e);
        }
        return b.build();
    }

    static ClassifyResponse response(ClassificationResult result) {
        ClassifyResponse.Builder b = ClassifyResponse.newBuilder()
                .setModel(nz(result.model()))
                .setUsage(usage(result.promptTokens(), 0));
        for (ClassificationResult.Item item : result.items()) {
            b.addItems(ClassificationItem.newBuilder()
                    .setIndex(item.index())
                    .setLabel(nz(item.label()))
                    .putAllScores(item.scores()));
        }
        return b.build();
    }

    /** Protobuf strings cannot be null. */
    private static String nz(String s) {
        return s == null ? "" : s;
    }

    private static Usage usage(int prompt, int completion) {
        return Usage.newBuilder().setPromptTokens(prompt).setCompletionTokens(completion)
                .setTotalTokens(prompt + completion).build();
    }
}
