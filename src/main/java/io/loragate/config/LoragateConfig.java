package io.loragate.config;

import io.quarkus.runtime.configuration.MemorySize;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Typed configuration under {@code loragate.*}. Every key has a documented default so that the
 * gateway starts with no configuration at all (on the embedded MiniLM, on CPU, data in ./data).
 */
@ConfigMapping(prefix = "loragate")
public interface LoragateConfig {

    /** Directory for blobs: converted models, adapters, datasets, checkpoints, the metadata database. */
    @WithDefault("data")
    Path dataDir();

    /**
     * This process's name among the replicas sharing one database: the owner of the jobs it runs.
     * Unset: host name, process id and a random suffix (a new identity at every start). Set it to a
     * stable name (a StatefulSet pod's) and a restarted replica takes its own running jobs back at
     * once instead of after their leases expire. Two live processes must never share one.
     */
    Optional<String> replicaId();

    /** Where the engine runs: {@code cpu}, {@code gpu} (fails if none), or {@code auto} (gpu when DJL sees one). */
    @WithDefault("auto")
    String device();

    /** The base model. */
    ModelSettings model();

    interface ModelSettings {
        /**
         * A Hugging Face model folder (config.json, *.safetensors, tokenizer.json). Unset: the embedded
         * all-MiniLM-L6-v2, converted from its ONNX file into the data directory on first start.
         */
        Optional<Path> path();

        /** The id under which the base model is listed and addressed (default: the folder name). */
        Optional<String> id();

        /**
         * How a Llama-family base holds its linear weights and embedding table: {@code float32}
         * (exact), {@code float16} or {@code int8} (per-channel scales); computed in float32 either way,
         * adapters stay float32. See docs/weight-formats.md for the accuracy and speed measured.
         */
        @WithDefault("float32")
        String weightFormat();
    }

    /** Adapter registration limits. */
    AdapterSettings adapters();

    /** The device cache of adapter weights. */
    CacheSettings cache();

    interface AdapterSettings {
        /** Largest LoRA rank accepted at registration. */
        @WithDefault("64")
        int maxRank();

        /**
         * Largest adapter upload (all multipart parts together; also the largest weights file accepted).
         * {@code quarkus.http.limits.max-body-size} follows it.
         */
        @WithDefault("512M")
        MemorySize maxUploadBytes();

        /**
         * Largest absolute value of any stored adapter weight and of lora_alpha / alpha_pattern / the
         * LoRA scales; every such number must also be finite (see {@code AdapterNumbers}).
         */
        @WithDefault("1e4")
        double maxAbsValue();

        /** Tests only: false loads adapters without the number check, to prove the engine contains them. Never disable in production. */
        @WithDefault("true")
        boolean checkNumbers();
    }

    interface CacheSettings {
        /** Budget of device bytes for resident adapter weights, pinned ones included. */
        @WithDefault("256M")
        MemorySize maxBytes();

        /** Threads that load cold adapters (never the caller's thread, never the engine's). */
        @WithDefault("2")
        int loaderThreads();
    }

    /** Dataset uploads ({@code /v1/files}, gRPC {@code UploadDataset}). */
    FileSettings files();

    /** Training defaults. */
    TrainingSettings training();

    interface FileSettings {
        /**
         * Largest dataset file accepted. Keep it within {@code quarkus.http.limits.max-body-size}
         * (which follows {@code loragate.adapters.max-upload-bytes}, 512M) so that REST uploads over it
         * get this limit's error rather than the HTTP layer's.
         */
        @WithDefault("256M")
        MemorySize maxBytes();

        /** Most lines (blank ones included) a dataset file may have. */
        @WithDefault("1000000")
        long maxLines();

        /** Most chat messages in one dataset line; a longer chat is a bad line naming this key. */
        @WithDefault("1000")
        int maxMessagesPerLine();

        /** Deepest nesting of arrays and objects in one dataset line (a chat line nests 3 deep); deeper is a bad line. */
        @WithDefault("16")
        int maxLineDepth();

        /** Most distinct classification labels in one dataset file; a line bringing one more is a bad line. */
        @WithDefault("1000")
        int maxLabels();

        /**
         * Dataset validations (uploads, reports recounted for another max_length) running at once in
         * this process; one more is refused with 429 / RESOURCE_EXHAUSTED and {@code Retry-After}.
         */
        @WithDefault("2")
        int maxConcurrentValidations();
    }

    /** How uploads (multipart {@code /v1/adapters}, {@code /v1/files}) are read: streamed on the event loop, never on a worker. */
    UploadSettings uploads();

    interface UploadSettings {
        /** An upload that receives no byte for this long is answered 408 and its partial files are deleted. */
        @WithDefault("30s")
        java.time.Duration idleTimeout();

        /** Uploads one tenant may have in flight at once; beyond it 429 with {@code Retry-After}, before any byte is read. */
        @WithDefault("4")
        int maxConcurrentPerTenant();

        /**
         * Slowest upload kept: one that delivers fewer bytes than this per second over an idle-timeout
         * window is answered 408 (0: only the idle timeout applies). A trickle of a byte now and then
         * would otherwise hold its slot for as long as the client likes.
         */
        @WithDefault("1024")
        long minBytesPerSecond();
    }

    interface TrainingSettings {
        /** Longest training example in tokens; longer ones are truncated (dataset reports count them). */
        @WithDefault("512")
        int maxSeqLength();

        /**
         * A job with {@code epochs: "auto"} trains at least this many optimizer steps (more epochs on
         * small data, at most {@code JobSpec.AUTO_MAX_EPOCHS}), with early stopping on validation loss.
         */
        @WithDefault("60")
        int autoMinSteps();
    }

    /** Adapter diagnostics (job reports and {@code POST /v1/adapters/{id}/diagnostics}). */
    DiagnosticsSettings diagnostics();

    interface DiagnosticsSettings {
        /**
         * A UTF-8 text file of general prose, one passage per line, whose causal-LM loss measures
         * forgetting (base vs adapter). Unset: the built-in reference ({@code diagnostics/reference.txt}).
         * A job's {@code diagnostics.reference_file} (a dataset id) overrides it.
         */
        java.util.Optional<Path> referenceFile();

        /** Most examples of each set (validation, probe training, reference) the diagnostics use. */
        @WithDefault("64")
        int maxExamples();

        /** Most layers analysed (CKA, probes); more are thinned evenly. */
        @WithDefault("48")
        int maxLayers();
    }

    /** The engine thread and its batching limits. */
    EngineSettings engine();

    /** Per-request limits, checked before a request reaches the engine. */
    LimitSettings limits();

    interface EngineSettings {
        /** Sequences decoded together at most (KV-cache rows). */
        @WithDefault("32")
        int maxBatch();

        /** Generation requests of one tenant waiting for admission at most; beyond it they get 429 / RESOURCE_EXHAUSTED. */
        @WithDefault("256")
        int maxQueue();

        /** Prompt tokens prefilled in one engine step at most. */
        @WithDefault("4096")
        int maxPrefillTokens();

        /** Embedding and classification batches waiting at most. */
        @WithDefault("256")
        int maxTasks();

        /**
         * Padded tokens (rows × longest row) one encoder forward of an embeddings or classification
         * request holds at most; a larger request runs in several micro-batches, longest rows first
         * (a single row longer than this runs alone).
         */
        @WithDefault("4096")
        int encoderBatchTokens();

        /** A step running longer than this marks the engine stuck (liveness DOWN). */
        @WithDefault("60s")
        java.time.Duration stuckTimeout();

        /** On shutdown, how long running requests may take to finish before they are failed. */
        @WithDefault("20s")
        java.time.Duration drainTimeout();
    }

    interface LimitSettings {
        /** Prompt tokens accepted at most (also bounded by the model's positions). */
        @WithDefault("4096")
        int maxPromptTokens();

        /** {@code max_tokens} accepted at most. */
        @WithDefault("2048")
        int maxTokens();

        /** Prompts or inputs in one request at most. */
        @WithDefault("64")
        int maxInputs();

        /**
         * Windows one input may take with pooling {@code sliding_window} (embeddings, classifications,
         * classification jobs): a request with a longer input is refused with 400; a training example
         * keeps its first windows (and the job's report counts it as cut).
         */
        @WithDefault("16")
        int maxWindowsPerInput();

        /** A request still unfinished after this is dropped by the engine. */
        @WithDefault("300s")
        java.time.Duration requestTimeout();

        /**
         * Largest JSON request body (every endpoint but the multipart uploads): a larger
         * Content-Length gets 413 before the body is read; a chunked body over it fails to parse (400).
         */
        @WithDefault("16M")
        MemorySize maxJsonBytes();

        /** Deepest nesting of arrays and objects in a JSON request body. */
        @WithDefault("64")
        int maxJsonDepth();
    }

    /** Fine-tuning jobs. */
    JobSettings jobs();

    interface JobSettings {
        /** Jobs that train at the same time; the rest wait in the persistent queue (their steps take turns). */
        @WithDefault("1")
        int maxConcurrent();

        /** Checkpoints whose state files are kept per job (older ones keep their row and metrics). */
        @WithDefault("2")
        int keepCheckpoints();

        /**
         * How training yields to serving: {@code idle} = a step starts only when the engine has no
         * request running or waiting (but at least one step every {@code max-defer}); {@code none} = never waits.
         */
        @WithDefault("idle")
        String yieldPolicy();

        /** Under {@code idle}: how long the engine must have been idle before a training step starts. */
        @WithDefault("200ms")
        java.time.Duration minIdle();

        /** Longest a training step is held back by inference traffic under {@code idle}. */
        @WithDefault("10s")
        java.time.Duration maxDefer();

        /** Fine-tuning jobs a tenant may have unfinished at once. */
        @WithDefault("4")
        int maxPerTenant();

        /**
         * How long a running job stays this replica's without a renewal; renewed every third of it.
         * A replica that dies holds its jobs this long, then another one resumes them from their
         * last checkpoint.
         */
        @WithDefault("30s")
        java.time.Duration leaseDuration();

        /**
         * How often each replica looks in the database for jobs it may start: queued ones (created on
         * any replica) and running ones whose lease expired.
         */
        @WithDefault("5s")
        java.time.Duration pollInterval();

        /**
         * At most how long a running job keeps its steps' events and progress before writing them
         * (together, in one transaction that is also its lease and cancel check); {@code 0}: after
         * every step. Evaluations, checkpoints, a stop and the end always write at once.
         */
        @WithDefault("250ms")
        java.time.Duration stepWriteInterval();
    }

    /** Authentication: per-tenant API keys and the admin key. */
    AuthSettings auth();

    interface AuthSettings {
        /**
         * Requires an API key ({@code Authorization: Bearer <key>}, gRPC metadata {@code authorization}) on
         * every {@code /v1} call and scopes everything to the key's tenant. Off: every caller is the tenant
         * {@code default}.
         */
        @WithDefault("false")
        boolean enabled();

        /** The admin key for {@code /v1/admin/tenants} (plain text; prefer {@link #adminKeySha256}). */
        Optional<String> adminKey();

        /** The admin key's SHA-256 in hex, so that the key itself never sits in the configuration. */
        Optional<String> adminKeySha256();
    }

    /** Per-tenant quotas: the defaults of every tenant, overridden per tenant through the admin API. 0 = unlimited. */
    QuotaSettings quotas();

    interface QuotaSettings {
        /** Requests per second (a token bucket of this rate holding one second's worth). */
        @WithDefault("0")
        double requestsPerSecond();

        /** Tokens per minute (prompt tokens + max_tokens, charged when a request is admitted). */
        @WithDefault("0")
        long tokensPerMinute();

        /** Streaming responses (SSE, gRPC GenerateStream) open at once. */
        @WithDefault("0")
        int maxConcurrentStreams();

        /** Adapters (names with at least one live version). */
        @WithDefault("0")
        int maxAdapters();

        /** Bytes stored: adapter weights of live versions + uploaded files. */
        @WithDefault("0")
        long maxStoredBytes();

        /** Unfinished fine-tuning jobs; unset: {@code loragate.jobs.max-per-tenant}. */
        Optional<Integer> maxConcurrentJobs();
    }

    /** Where adapters, datasets and checkpoints are kept. */
    StoreSettings store();

    interface StoreSettings {
        /**
         * The blob store: {@code file:<folder>} or {@code s3://<bucket>/<prefix>} (an S3-compatible
         * object store, {@code loragate.store.s3.*}); unset: {@code file:<data dir>}. Any other scheme
         * stops the start-up with an error naming it.
         */
        Optional<String> url();

        /**
         * S3 store: the bound of the local cache of blobs read ({@code <data dir>/store-cache}); the
         * least recently used copies go beyond it (never one handed out in the last two minutes).
         */
        @WithDefault("4G")
        MemorySize cacheMaxBytes();

        /**
         * The start-up sweep deletes an uploaded dataset's content that no file row refers to only
         * when it was written longer ago than this: with a store shared by replicas, another replica
         * may have uploaded it and not yet committed its row.
         */
        @WithDefault("1h")
        java.time.Duration orphanGrace();

        /** The S3-compatible store of {@code s3://} URLs. */
        S3 s3();

        interface S3 {
            /** Another endpoint than AWS's, e.g. {@code http://minio:9000}; unset: AWS. */
            Optional<String> endpoint();

            /** The signing region; unset: the AWS chain's ({@code AWS_REGION}, profile), else us-east-1. */
            Optional<String> region();

            /** Path-style addressing ({@code http://host/bucket/key}): most S3-compatible stores need it. */
            @WithDefault("false")
            boolean pathStyle();

            /** Bytes per part of a multipart upload (at least 5M); larger blobs are uploaded in parts. */
            @WithDefault("16M")
            MemorySize partSize();
        }
    }

    /** Several replicas on one PostgreSQL database: how each follows the others' changes. */
    ReplicaSettings replicas();

    interface ReplicaSettings {
        /**
         * How often each replica re-reads tenants, keys, quotas and pins from the database: the safety
         * net for a change notice it missed (changes normally arrive within a second by LISTEN/NOTIFY).
         * PostgreSQL only; 0 turns it off.
         */
        @WithDefault("30s")
        java.time.Duration reconcileInterval();

        /**
         * How often each replica writes its heartbeat row (the count of live replicas that
         * {@code rate-budget=share} divides by: rows seen within three intervals). PostgreSQL only;
         * 0 turns it off (the count stays 1).
         */
        @WithDefault("5s")
        java.time.Duration heartbeatInterval();

        /**
         * {@code whole}: each replica enforces a tenant's whole {@code requests_per_second} and
         * {@code tokens_per_minute}; {@code share}: each enforces 1 / (live replicas) of them.
         */
        @WithDefault("whole")
        RateBudget rateBudget();
    }

    /** Permissions of what loragate creates in the data directory. */
    DataSettings data();

    interface DataSettings {
        /**
         * Octal permissions of files: set at start-up on every file in the data directory, and on
         * the files loragate writes (staged uploads, adapter and dataset blobs).
         */
        @WithDefault("600")
        String fileMode();

        /** Octal permissions of folders: the data directory and every folder in it, set at start-up. */
        @WithDefault("700")
        String dirMode();
    }

    /** What {@code /q/metrics} shows, and to whom. */
    MetricsSettings metrics();

    interface MetricsSettings {
        /** {@code /q/metrics} answers only with {@code Authorization: Bearer <admin key>} (401 without, 403 with a tenant's key). */
        @WithDefault("false")
        boolean requireAdminKey();

        /** Per-tenant and per-adapter labels ({@code tenant}, {@code adapter}, the running/waiting adapter lists). */
        @WithDefault("true")
        boolean tenantLabels();
    }
}
