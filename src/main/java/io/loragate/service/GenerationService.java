package io.loragate.service;

import io.loragate.adapter.LoraAdapter;
import io.loragate.adapter.MultiLoraHook;
import io.loragate.config.LoragateConfig;
import io.loragate.runtime.ChatTemplate;
import io.loragate.engine.Engine;
import io.loragate.engine.EngineService;
import io.loragate.engine.Sequence;
import io.loragate.engine.SequenceListener;
import io.loragate.model.AdapterHook;
import io.loragate.model.EncoderBatches;
import io.loragate.model.EncoderModel;
import io.loragate.model.InputPooling;
import io.loragate.model.InputWindows;
import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import io.loragate.common.SamplingParams;
import io.loragate.model.TextTokenizer;
import io.loragate.registry.AdapterCache;
import io.loragate.registry.AdapterLease;
import io.loragate.registry.AdapterRegistry;
import io.loragate.registry.AdapterVersion;
import io.loragate.runtime.ResidentModel;
import io.loragate.training.trainer.ClassificationMetrics;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.subscription.MultiEmitter;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the transports call for inference: validates a request, resolves the adapter id to an
 * immutable version, holds a lease on its weights for the request's lifetime (so a hot swap or an
 * eviction never frees weights a request still uses), and runs it on the engine. Every failure is a
 * {@link LoragateException} with a kind the transports map.
 */
@ApplicationScoped
public class GenerationService {

    private final EngineService engines;
    private final ResidentModel resident;
    private final AdapterRegistry registry;
    private final AdapterCache cache;
    private final LoragateConfig config;
    private final TenantLimits limits;
    private final RecentRequests recent;

    public GenerationService(EngineService engines, ResidentModel resident, AdapterRegistry registry, AdapterCache cache,
            LoragateConfig config, TenantLimits limits, RecentRequests recent) {
        this.limits = limits;
        this.recent = recent;
        this.engines = engines;
        this.resident = resident;
        this.registry = registry;
        this.cache = cache;
        this.config = config;
    }

    /** The adapter a request resolved to: its served id and a lease (null for the base). */
    private record Target(String id, AdapterLease lease) {
        LoraAdapter adapter() {
            return lease == null ? null : lease.adapter();
        }

        void release() {
            if (lease != null) {
                lease.close();
            }
        }
    }

    /**
     * Holds a request's lease until nobody uses the weights: the request itself (while it submits)
     * and every sequence it submitted, each until the engine has ended it. A cancelled request thus
     * keeps its weights alive for the engine step that may still be reading them, and frees them in
     * the step that drops its last sequence.
     */
    private static final class LeaseRefs {
        private final Target target;
        private final AtomicInteger refs = new AtomicInteger(1); // the submitter's

        LeaseRefs(Target target) {
            this.target = target;
        }

        void retain() {
            refs.incrementAndGet();
        }

        void release() {
            if (refs.decrementAndGet() == 0) {
                target.release();
            }
        }

        /** Submits {@code s}, whose end will release one reference; a refused submission holds none. */
        void submit(Engine engine, Sequence s) {
            retain();
            try {
                engine.submit(s);
            } catch (RuntimeException e) {
                release();
                throw e;
            }
        }
    }

    /** Resolves {@code model} (base id, adapter name or name@version) and leases the adapter's weights. */
    private CompletableFuture<Target> target(String tenant, String model) {
        if (model == null || model.isBlank()) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "'model' is required: the base model id ("
                    + resident.id() + ") or an adapter id").withParam("model");
        }
        if (model.equals(resident.id())) {
            return CompletableFuture.completedFuture(new Target(model, null));
        }
        AdapterVersion v = registry.resolve(tenant, model);
        recent.count(tenant, v.name()); // the console's recent request rate
        return cache.acquire(v).thenApply(lease -> new Target(v.id(), lease));
    }

    /**
     * Fails as {@link #target} would for a missing or unknown {@code model}, without leasing anything:
     * the model is resolved before any length check, so an unknown id answers "not found" rather than
     * a context-length error measured against a model the caller does not have.
     */
    private void checkModel(String tenant, String model) {
        if (model == null || model.isBlank()) {
            target(tenant, model); // throws the 'model is required' error
        } else if (!model.equals(resident.id())) {
            registry.resolve(tenant, model);
        }
    }

    /** {@link #target}, after charging {@code tokens} input tokens to the tenant's quota. */
    private CompletableFuture<Target> charged(String tenant, String model, int tokens) {
        CompletableFuture<Target> t = target(tenant, model);
        try {
            limits.chargeTokens(tenant, tokens, "input");
        } catch (RuntimeException e) {
            t.thenAccept(Target::release);
            throw e;
        }
        return t;
    }

    private TextTokenizer tokenizer() {
        return resident.tokenizer();
    }

    private List<long[]> tokenizePrompts(CompletionCommand c) {
        var limits = config.limits();
        if (c.prompts() == null || c.prompts().isEmpty()) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "'prompt' must be a non-empty string or array of strings").withParam("prompt");
        }
        if (c.prompts().size() > limits.maxInputs()) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "at most " + limits.maxInputs() + " prompts per request, got "
                    + c.prompts().size()).withParam("prompt");
        }
        if (c.params().maxTokens() > limits.maxTokens()) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "'max_tokens' is " + c.params().maxTokens() + "; the limit is "
                    + limits.maxTokens()).withParam("max_tokens");
        }
        int positions = resident.model().config().maxPositions();
        List<long[]> ids = new ArrayList<>();
        for (String p : c.prompts()) {
            if (p == null || p.isEmpty()) {
                throw new LoragateException(Kind.INVALID_ARGUMENT, "'prompt' must not be empty").withParam("prompt");
            }
            long[] t = tokenizer().encode(p, c.addSpecialTokens());
            if (t.length == 0) {
                throw new LoragateException(Kind.INVALID_ARGUMENT, "'prompt' encodes to no tokens").withParam("prompt");
            }
            if (t.length > limits.maxPromptTokens()) {
                throw new LoragateException(Kind.INVALID_ARGUMENT, "prompt has " + t.length + " tokens; the limit is "
                        + limits.maxPromptTokens()).withParam("prompt");
            }
            if (t.length + c.params().maxTokens() > positions) {
                throw new LoragateException(Kind.INVALID_ARGUMENT, "prompt (" + t.length + " tokens) + max_tokens ("
                        + c.params().maxTokens() + ") exceeds the model's context of " + positions + " tokens").withParam("max_tokens");
            }
            ids.add(t);
        }
        return ids;
    }

    private Engine generatingEngine() {
        Engine e = engines.engine();
        if (!e.generates()) {
            throw new LoragateException(Kind.FAILED_PRECONDITION, "the base model " + resident.id() + " ("
                    + resident.model().config().architectureName() + ") is an encoder: use /v1/embeddings or /v1/classifications");
        }
        return e;
    }

    private long deadline() {
        return System.nanoTime() + config.limits().requestTimeout().toNanos();
    }

    /**
     * A validated completion request with its token charge reserved: what {@link #complete} and
     * {@link #stream} hand their steps.
     */
    private record Run(Engine engine, String tenant, CompletionCommand command, List<long[]> prompts, TokenCharge charge,
            String id, long created) {
    }

    /**
     * Checks the model id, then tokenizes and checks the prompts: the model is checked first so an
     * unknown id fails (before a stream starts, so the transport can answer with a status) as "not
     * found" rather than as a length error.
     */
    private List<long[]> validatedPrompts(String tenant, CompletionCommand command) {
        checkModel(tenant, command.model());
        return tokenizePrompts(command);
    }

    private static String completionId() {
        return "cmpl-" + UUID.randomUUID();
    }

    private static long nowSeconds() {
        return System.currentTimeMillis() / 1000;
    }

    /**
     * Generates one choice per prompt; completes when all are finished. Cancelling the returned
     * future (a caller that gave up) drops the sequences at the engine's next step.
     */
    public CompletableFuture<CompletionResult> complete(String tenant, CompletionCommand command) {
        Engine engine = generatingEngine();
        List<long[]> prompts = validatedPrompts(tenant, command);
        CompletableFuture<Target> target = target(tenant, command.model());
        TokenCharge charge;
        try {
            charge = TokenCharge.reserve(limits, tenant, prompts, command.params().maxTokens());
        } catch (RuntimeException e) {
            target.thenAccept(Target::release);
            throw e;
        }
        Run run = new Run(engine, tenant, command, prompts, charge, completionId(), nowSeconds());
        CompletableFuture<CompletionResult> result = new CompletableFuture<>();
        List<Sequence> submitted = java.util.Collections.synchronizedList(new ArrayList<>());
        result.whenComplete((r, e) -> {
            if (result.isCancelled()) {
                synchronized (submitted) {
                    submitted.forEach(Sequence::cancel);
                }
            }
        });
        target.thenCompose(t -> {
            try {
                checkVirtualTokensFit(t, prompts, command.params().maxTokens());
            } catch (RuntimeException e) {
                t.release();
                charge.refundUnsubmitted();
                throw e;
            }
            List<CompletableFuture<CompletionResult.Choice>> choices = submitChoices(run, t, result, submitted);
            return CompletableFuture.allOf(choices.toArray(CompletableFuture[]::new)).whenComplete((v, e) -> {
                if (e != null) {
                    submitted.forEach(Sequence::cancel);
                }
            }).thenApply(v -> completionResult(run, t, choices));
        }).whenComplete((r, e) -> {
            if (e != null) {
                charge.refundUnsubmitted(); // e.g. the adapter was not found: nothing ran
                result.completeExceptionally(e instanceof java.util.concurrent.CompletionException ce && ce.getCause() != null
                        ? ce.getCause() : e);
            } else {
                result.complete(r);
            }
        });
        return result;
    }

    /**
     * Submits one sequence per prompt until all are in or the caller gave up ({@code result} done);
     * answers each submitted prompt's choice. A refused submission cancels those already in.
     */
    private List<CompletableFuture<CompletionResult.Choice>> submitChoices(Run run, Target t, CompletableFuture<?> result,
            List<Sequence> submitted) {
        List<CompletableFuture<CompletionResult.Choice>> choices = new ArrayList<>();
        LeaseRefs refs = new LeaseRefs(t);
        try {
            for (int i = 0; i < run.prompts().size() && !result.isDone(); i++) {
                CompletableFuture<CompletionResult.Choice> f = new CompletableFuture<>();
                choices.add(f);
                TokenCollector collector = choiceCollector(run, i, refs, f);
                Sequence s = new Sequence(run.tenant(), run.prompts().get(i), t.id(), t.adapter(), run.command().params(), collector,
                        deadline());
                refs.submit(run.engine(), s);
                run.charge().submitted(i);
                submitted.add(s);
                if (result.isDone()) {
                    s.cancel(); // cancelled while submitting
                }
            }
        } catch (RuntimeException e) {
            submitted.forEach(Sequence::cancel);
            throw e;
        } finally {
            refs.release();
            run.charge().refundUnsubmitted(); // prompts the loop never submitted (refused, or the caller gave up)
        }
        return choices;
    }

    /** Collects prompt {@code index}'s tokens and completes {@code f} with its choice when the sequence ends. */
    private TokenCollector choiceCollector(Run run, int index, LeaseRefs refs, CompletableFuture<CompletionResult.Choice> f) {
        return new TokenCollector(run.command().logprobs()) {
            @Override
            public void onFinish(String reason, String text, RuntimeException error) {
                // the lease goes back before the answer does: a client that has its answer sees no lease held for it
                CompletionResult.Choice choice = null;
                RuntimeException failure = error;
                try {
                    super.onFinish(reason, text, error);
                    if (error == null) {
                        choice = new CompletionResult.Choice(index, this.text.toString(), tokens(), logprobs(),
                                run.command().logprobs() ? tokenStrings(tokenizer()) : null, reason);
                    }
                } catch (RuntimeException e) {
                    failure = e;
                } finally {
                    refs.release();
                    run.charge().settle(index, tokens().length); // before the answer: its headers see the refund
                }
                if (failure != null) {
                    f.completeExceptionally(failure);
                } else {
                    f.complete(choice);
                }
            }
        };
    }

    /** The finished choices, in prompt order, with the request's usage. */
    private static CompletionResult completionResult(Run run, Target t, List<CompletableFuture<CompletionResult.Choice>> choices) {
        List<CompletionResult.Choice> list = choices.stream().map(CompletableFuture::join).toList();
        int completionTokens = list.stream().mapToInt(c -> c.tokenIds().length).sum();
        int promptTokens = run.prompts().stream().mapToInt(p -> p.length).sum();
        return new CompletionResult(run.id(), t.id(), run.created(), list, run.prompts(),
                new CompletionResult.Usage(promptTokens, completionTokens));
    }

    /**
     * Renders a chat with the base model's template into a single-prompt completion command (the
     * adapter shares its base's template).
     */
    public CompletionCommand chat(String model, List<ChatMessage> messages, SamplingParams params, boolean logprobs) {
        if (messages == null || messages.isEmpty()) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "'messages' must be a non-empty array").withParam("messages");
        }
        for (int i = 0; i < messages.size(); i++) {
            String role = messages.get(i).role();
            if (role == null || !ChatTemplate.ROLES.contains(role)) {
                throw new LoragateException(Kind.INVALID_ARGUMENT, "messages[" + i + "].role must be one of " + ChatTemplate.ROLES
                        + ", got " + (role == null ? "none" : "'" + role + "'")).withParam("messages[" + i + "].role");
            }
            if (messages.get(i).content() == null) {
                throw new LoragateException(Kind.INVALID_ARGUMENT, "messages[" + i + "].content must be a string")
                        .withParam("messages[" + i + "].content");
            }
        }
        ChatTemplate template = chatTemplate();
        List<ChatTemplate.Message> turns = messages.stream().map(m -> new ChatTemplate.Message(m.role(), m.content())).toList();
        return new CompletionCommand(model, List.of(template.render(turns)), params, logprobs, !template.fromModel());
    }

    private ChatTemplate chatTemplate() {
        return resident.chatTemplate();
    }

    /**
     * Streams tokens as they are generated; each choice ends with a chunk carrying its finish reason.
     * Cancelling the subscription (a client that disconnects) removes the request from the engine at
     * its next step and releases its adapter lease.
     */
    public Multi<CompletionChunk> stream(String tenant, CompletionCommand command) {
        Engine engine = generatingEngine();
        // unknown ids fail before the stream starts, so the transport can answer with a status
        List<long[]> prompts = validatedPrompts(tenant, command);
        // checked now so that a tenant at its limit gets a status rather than a broken stream; the slot
        // itself is taken on subscription and freed on termination, so a stream nobody reads holds none
        limits.checkStreamRoom(tenant);
        TokenCharge charge = TokenCharge.reserve(limits, tenant, prompts, command.params().maxTokens());
        Run run = new Run(engine, tenant, command, prompts, charge, completionId(), nowSeconds());
        return Multi.createFrom().emitter((MultiEmitter<? super CompletionChunk> em) -> emitStream(run, em));
    }

    /** One subscription: takes a stream slot, leases the adapter, then submits the prompts. */
    private void emitStream(Run run, MultiEmitter<? super CompletionChunk> em) {
        CompletableFuture<Target> target;
        Runnable slot;
        try {
            slot = limits.openStream(run.tenant());
        } catch (RuntimeException e) {
            run.charge().refundUnsubmitted();
            em.fail(e);
            return;
        }
        try {
            target = target(run.tenant(), run.command().model()); // leased only once someone subscribes
        } catch (RuntimeException e) {
            slot.run();
            run.charge().refundUnsubmitted();
            em.fail(e);
            return;
        }
        List<Sequence> submitted = new ArrayList<>();
        boolean[] terminated = {false}; // guarded by submitted
        // The lease is not released here but by the last sequence to end (LeaseRefs): the engine
        // may still read the weights in the step that is running when the client goes away.
        em.onTermination(() -> {
            slot.run();
            synchronized (submitted) {
                terminated[0] = true;
                submitted.forEach(Sequence::cancel);
            }
            run.charge().refundUnsubmitted(); // submitted prompts settle when their sequences end
        });
        target.whenComplete((t, err) -> {
            if (err != null) {
                em.fail(err instanceof java.util.concurrent.CompletionException ce ? ce.getCause() : err);
                return;
            }
            try {
                checkVirtualTokensFit(t, run.prompts(), run.command().params().maxTokens());
            } catch (RuntimeException e) {
                t.release();
                em.fail(e);
                return;
            }
            submitStreamed(run, t, em, submitted, terminated);
        });
    }

    /**
     * Submits one sequence per prompt, each emitting its chunks, until all are in or the client went
     * away ({@code terminated}); a refused submission cancels those already in and fails the stream.
     */
    private void submitStreamed(Run run, Target t, MultiEmitter<? super CompletionChunk> em, List<Sequence> submitted,
            boolean[] terminated) {
        AtomicInteger open = new AtomicInteger(run.prompts().size());
        int[] generated = new int[run.prompts().size()]; // per prompt, written on the engine thread
        LeaseRefs refs = new LeaseRefs(t);
        try {
            for (int i = 0; i < run.prompts().size(); i++) {
                SequenceListener l = chunkListener(run, t, i, em, refs, generated, open);
                Sequence s = new Sequence(run.tenant(), run.prompts().get(i), t.id(), t.adapter(), run.command().params(), l,
                        deadline());
                synchronized (submitted) {
                    if (terminated[0]) {
                        break; // the client went away before its sequences reached the engine
                    }
                    submitted.add(s);
                }
                refs.submit(run.engine(), s);
                run.charge().submitted(i);
            }
        } catch (RuntimeException e) {
            synchronized (submitted) {
                submitted.forEach(Sequence::cancel);
            }
            em.fail(e);
        } finally {
            refs.release();
        }
    }

    /**
     * Emits prompt {@code index}'s tokens as chunks, then its finish chunk; the last prompt to
     * finish ({@code open}) completes the stream.
     */
    private SequenceListener chunkListener(Run run, Target t, int index, MultiEmitter<? super CompletionChunk> em, LeaseRefs refs,
            int[] generated, AtomicInteger open) {
        return new SequenceListener() {
            @Override
            public void onToken(long token, double logprob, String text) {
                generated[index]++;
                em.emit(new CompletionChunk(run.id(), t.id(), run.created(), index, text, token, logprob, null));
            }

            @Override
            public void onFinish(String reason, String text, RuntimeException error) {
                refs.release(); // before the last chunk: a client that has it sees no lease held for it
                run.charge().settle(index, generated[index]);
                if (error != null) {
                    em.fail(error);
                    return;
                }
                em.emit(new CompletionChunk(run.id(), t.id(), run.created(), index, text, -1, 0, reason));
                if (open.decrementAndGet() == 0) {
                    em.complete();
                }
            }
        };
    }

    /**
     * Refuses prompts that no longer fit the context once the adapter's virtual tokens (prompt
     * tuning) are put before them: they take {@code k} positions of the model's context (the engine
     * prepends them, see {@link Sequence}); usage still counts the client's tokens only.
     */
    private void checkVirtualTokensFit(Target t, List<long[]> prompts, int maxTokens) {
        int k = t.adapter() == null ? 0 : t.adapter().virtualTokens();
        if (k == 0) {
            return;
        }
        int positions = resident.model().config().maxPositions();
        for (long[] p : prompts) {
            if (k + p.length + maxTokens > positions) {
                throw new LoragateException(Kind.INVALID_ARGUMENT, "prompt (" + p.length + " tokens) + the adapter's " + k
                        + " virtual tokens (prompt tuning) + max_tokens (" + maxTokens + ") exceeds the model's context of "
                        + positions + " tokens").withParam("max_tokens");
            }
        }
    }

    /**
     * The encoder's (or classifying decoder's) input rows for an adapter: its virtual tokens
     * (prompt tuning) first, refused when they no longer fit the model's positions.
     */
    private List<long[]> withVirtualTokens(Target t, List<long[]> ids) {
        int k = t.adapter() == null ? 0 : t.adapter().virtualTokens();
        if (k == 0) {
            return ids;
        }
        int positions = resident.model().config().maxPositions();
        for (long[] row : ids) {
            if (k + row.length > positions) {
                t.release();
                throw new LoragateException(Kind.INVALID_ARGUMENT, "input has " + row.length + " tokens; with the adapter's "
                        + k + " virtual tokens (prompt tuning) the model takes at most " + (positions - k)).withParam("input");
            }
        }
        return io.loragate.adapter.PromptPart.prepend(ids, k);
    }

    private List<long[]> tokenizeInputs(List<String> inputs) {
        return tokenizeInputs(inputs, true);
    }

    /**
     * The inputs' token ids, at most {@code loragate.limits.max-inputs} of them; with
     * {@code refuseLong}, an input longer than the model's positions is refused (a decoder reads no
     * windows), else it is left to the request's {@link InputPooling}.
     */
    private List<long[]> tokenizeInputs(List<String> inputs, boolean refuseLong) {
        if (inputs == null || inputs.isEmpty()) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "'input' must be a non-empty string or array of strings").withParam("input");
        }
        if (inputs.size() > config.limits().maxInputs()) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "at most " + config.limits().maxInputs() + " inputs per request, got "
                    + inputs.size()).withParam("input");
        }
        int positions = resident.model().config().maxPositions();
        List<long[]> ids = new ArrayList<>();
        for (String s : inputs) {
            if (s == null) {
                throw new LoragateException(Kind.INVALID_ARGUMENT, "'input' items must be strings").withParam("input");
            }
            long[] t = tokenizer().encode(s);
            if (refuseLong && t.length > positions) {
                throw new LoragateException(Kind.INVALID_ARGUMENT, "input has " + t.length + " tokens; the model takes at most "
                        + positions).withParam("input");
            }
            ids.add(t);
        }
        return ids;
    }

    private EncoderModel encoder(String what) {
        if (!(resident.model() instanceof EncoderModel e)) {
            throw new LoragateException(Kind.FAILED_PRECONDITION, "the base model " + resident.id() + " ("
                    + resident.model().config().architectureName() + ") is a decoder; " + what + " needs an encoder base");
        }
        return e;
    }

    private static AdapterHook hook(Target t) {
        return t.adapter() == null ? AdapterHook.NONE : MultiLoraHook.single(t.adapter());
    }

    /**
     * Runs {@code forward} over {@code rows} in micro-batches of at most
     * {@code loragate.engine.encoder-batch-tokens} padded tokens ({@link EncoderBatches}), each as an
     * engine task of its own, and answers the per-row results in input order. A task runs between
     * engine steps, and the next micro-batch is queued only when one ends, so other requests' decode
     * steps and encoder tasks run between the micro-batches of a large request instead of waiting
     * for all of it (one 50 x 512-token request held the engine thread for ~30 s).
     */
    private CompletableFuture<float[][]> inMicroBatches(Engine engine, List<long[]> rows,
            java.util.function.Function<List<long[]>, float[][]> forward) {
        List<int[]> plan = EncoderBatches.plan(rows, config.engine().encoderBatchTokens());
        float[][] out = new float[rows.size()][];
        CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
        for (int[] group : plan) {
            chain = chain.thenCompose(done -> engine.execute(base -> {
                float[][] part = forward.apply(EncoderBatches.rows(rows, group));
                for (int i = 0; i < group.length; i++) {
                    out[group[i]] = part[i];
                }
                return null;
            }));
        }
        return chain.thenApply(done -> out);
    }

    /** Sentence embeddings (encoder bases: mean pooling + L2 normalisation), long inputs truncated. */
    public CompletableFuture<EmbeddingResult> embed(String tenant, String model, List<String> inputs) {
        return embed(tenant, model, inputs, null);
    }

    /**
     * Sentence embeddings (encoder bases: mean pooling + L2 normalisation); an input longer than the
     * model's window is read as {@code pooling} says ({@link InputWindows}; null: the adapter's
     * trained pooling, else truncate).
     */
    public CompletableFuture<EmbeddingResult> embed(String tenant, String model, List<String> inputs, String pooling) {
        EncoderModel encoder = encoder("embeddings");
        InputPooling requested = InputPooling.parse(pooling, "pooling");
        List<long[]> ids = tokenizeInputs(inputs, false);
        Engine engine = engines.engine();
        int tokens = ids.stream().mapToInt(a -> a.length).sum();
        return charged(tenant, model, tokens).thenCompose(t -> {
            InputWindows w = windows(t, ids, EncoderInputs.forEmbeddings(requested, t.adapter()));
            List<long[]> rows = withVirtualTokens(t, w.rows()); // mean pooling then averages over the virtual tokens too, as PEFT's outputs hold them
            return inMicroBatches(engine, rows, group -> encoder.embed(group, EncoderModel.Pooling.MEAN, hook(t))).thenApply(v -> {
                float[][] pooled = EncoderInputs.embeddings(w, v);
                for (float[] row : pooled) {
                    requireFinite(row, t, "embeddings");
                }
                return new EmbeddingResult(t.id(), Arrays.asList(pooled), tokens);
            }).whenComplete((r, e) -> t.release());
        });
    }

    /**
     * The encoder rows of {@code ids} under {@code pooling}, in windows of the model's positions less
     * the adapter's virtual tokens; an input over {@code loragate.limits.max-windows-per-input}
     * windows is refused (and the lease released).
     */
    private InputWindows windows(Target t, List<long[]> ids, InputPooling pooling) {
        int k = t.adapter() == null ? 0 : t.adapter().virtualTokens();
        try {
            return InputWindows.of(ids, pooling, tokenizer().frame(), resident.model().config().maxPositions() - k,
                    config.limits().maxWindowsPerInput());
        } catch (RuntimeException e) {
            t.release();
            throw e;
        }
    }

    /** Class probabilities; long inputs as the adapter was trained to read them, else truncated. */
    public CompletableFuture<ClassificationResult> classify(String tenant, String model, List<String> inputs) {
        return classify(tenant, model, inputs, null);
    }

    /**
     * Class probabilities from the base's or the adapter's classifier head. On a decoder base the
     * adapter must carry a sequence-classification head ({@code score} in modules_to_save), applied
     * to each input's last hidden state. On an encoder, an input longer than the window is read as
     * the adapter was trained to ({@code pooling} may only repeat that), else as {@code pooling} says.
     */
    public CompletableFuture<ClassificationResult> classify(String tenant, String model, List<String> inputs, String pooling) {
        InputPooling requested = InputPooling.parse(pooling, "pooling");
        if (resident.model() instanceof io.loragate.model.CausalModel causal) {
            if (requested == InputPooling.SLIDING_WINDOW) {
                throw new LoragateException(Kind.INVALID_ARGUMENT, "pooling 'sliding_window' needs an encoder base; "
                        + resident.id() + " is a decoder").withParam("pooling");
            }
            return classifyWithDecoder(causal, tenant, model, inputs);
        }
        EncoderModel encoder = encoder("classification");
        List<long[]> ids = tokenizeInputs(inputs, false);
        Engine engine = engines.engine();
        int tokens = ids.stream().mapToInt(a -> a.length).sum();
        return charged(tenant, model, tokens).thenCompose(t -> {
            // a sentence encoder has no head of its own: the adapter's (modules_to_save) reads the mean pool
            int adapterHead = encoder.hasClassifier() || t.adapter() == null ? 0 : t.adapter().headLabels(EncoderModel.HEAD);
            if (!encoder.hasClassifier() && adapterHead == 0) {
                t.release();
                throw new LoragateException(Kind.FAILED_PRECONDITION, "the base model " + resident.id()
                        + " has no classification head" + (t.adapter() == null ? "; use an adapter that carries one"
                        : " and this adapter carries none (modules_to_save: [\"" + EncoderModel.HEAD + "\"])"));
            }
            int headLabels = t.adapter() == null ? 0 : t.adapter().headLabels(EncoderModel.HEAD);
            List<String> adapterLabels = headLabels == 0 ? List.of() : t.adapter().labels(headLabels);
            List<String> labels = !adapterLabels.isEmpty() ? adapterLabels
                    : encoder.hasClassifier() ? encoder.config().labels() : List.of(); // item() names the rest LABEL_k
            InputPooling effective;
            try {
                effective = EncoderInputs.forClassification(requested, t.adapter(), t.id());
            } catch (RuntimeException e) {
                t.release();
                throw e;
            }
            InputWindows w = windows(t, ids, effective);
            return encoderLogits(engine, encoder, t, w, adapterHead).whenComplete((r, e) -> t.release())
                    .thenApply(logits -> {
                        List<ClassificationResult.Item> items = new ArrayList<>();
                        for (int i = 0; i < logits.length; i++) {
                            items.add(item(i, logits[i], labels));
                        }
                        return new ClassificationResult(t.id(), items, tokens);
                    });
        });
    }

    /**
     * Logits per input: each row through the head when every input is one row; else each row's head
     * features (micro-batched), pooled per input, then the head (one more engine task).
     */
    private CompletableFuture<float[][]> encoderLogits(Engine engine, EncoderModel encoder, Target t, InputWindows w,
            int adapterHead) {
        // prompt tuning: the virtual tokens come first, so a BERT classifier's pooler reads the first virtual
        // token's state where [CLS] was (exactly what PEFT does), and mean pooling covers them too
        List<long[]> rows = withVirtualTokens(t, w.rows());
        if (w.oneRowEach()) {
            return inMicroBatches(engine, rows, group -> encoder.classify(group, hook(t), adapterHead));
        }
        return inMicroBatches(engine, rows, group -> encoder.headFeatures(group, hook(t), adapterHead))
                .thenCompose(features -> engine.execute(base -> encoder.classifyFeatures(w.pool(features), hook(t), adapterHead)));
    }

    private CompletableFuture<ClassificationResult> classifyWithDecoder(io.loragate.model.CausalModel causal, String tenant,
            String model, List<String> inputs) {
        List<long[]> ids = tokenizeInputs(inputs);
        Engine engine = engines.engine();
        int tokens = ids.stream().mapToInt(a -> a.length).sum();
        return charged(tenant, model, tokens).thenCompose(t -> {
            int labels = t.adapter() == null ? 0 : t.adapter().sequenceHeadLabels();
            if (labels == 0) {
                t.release();
                throw new LoragateException(Kind.FAILED_PRECONDITION, "the base model " + resident.id() + " ("
                        + resident.model().config().architectureName() + ") is a decoder; classification needs an adapter"
                        + " that carries a classifier head (modules_to_save: [\"" + LoraAdapter.SEQUENCE_HEAD + "\"])");
            }
            List<String> names = t.adapter().labels(labels); // empty: item() names them LABEL_k
            List<long[]> rows = withVirtualTokens(t, ids);
            AdapterHook hook = hook(t);
            return inMicroBatches(engine, rows, group -> {
                try (ai.djl.ndarray.NDManager m = causal.manager().newSubManager()) {
                    ai.djl.ndarray.NDArray h = causal.lastHidden(m, group.toArray(long[][]::new), hook); // (n, hidden)
                    ai.djl.ndarray.NDArray logits = hook.afterLinear(LoraAdapter.SEQUENCE_HEAD, h,
                            m.zeros(new ai.djl.ndarray.types.Shape(group.size(), labels)));        // (n, labels)
                    float[] flat = logits.toFloatArray();
                    float[][] out = new float[group.size()][];
                    for (int i = 0; i < group.size(); i++) {
                        out[i] = Arrays.copyOfRange(flat, i * labels, (i + 1) * labels);
                    }
                    return out;
                }
            }).thenApply(logits -> {
                List<ClassificationResult.Item> items = new ArrayList<>();
                for (int i = 0; i < logits.length; i++) {
                    items.add(item(i, logits[i], names));
                }
                return new ClassificationResult(t.id(), items, tokens);
            }).whenComplete((r, e) -> t.release());
        });
    }

    /** Numbers that would reach JSON as NaN or Infinity end the request with an error instead. */
    private static void requireFinite(float[] v, Target t, String what) {
        for (float x : v) {
            if (!Float.isFinite(x)) {
                throw new LoragateException(Kind.INTERNAL, (t.adapter() == null ? "the base model" : "adapter '" + t.id() + "'")
                        + " produced non-finite " + what + " (NaN or infinity)");
            }
        }
    }

    static ClassificationResult.Item item(int index, float[] logits, List<String> labels) {
        for (float x : logits) {
            if (!Float.isFinite(x)) {
                throw new LoragateException(Kind.INTERNAL, "the classifier produced non-finite logits (NaN or infinity) for input "
                        + index);
            }
        }
        double[] p = ClassificationMetrics.softmax(logits);
        Map<String, Double> scores = new LinkedHashMap<>();
        int best = 0;
        for (int k = 0; k < logits.length; k++) {
            scores.put(k < labels.size() ? labels.get(k) : "LABEL_" + k, p[k]);
            if (p[k] > p[best]) {
                best = k;
            }
        }
        return new ClassificationResult.Item(index, best < labels.size() ? labels.get(best) : "LABEL_" + best, scores);
    }

    /** The id of the resident base model (what an empty adapter id means). */
    public String baseModelId() {
        return resident.id();
    }
}
