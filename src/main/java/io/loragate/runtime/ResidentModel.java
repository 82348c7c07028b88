package io.loragate.runtime;

import ai.djl.Device;
import ai.djl.engine.Engine;
import io.loragate.config.LoragateConfig;
import io.loragate.model.BaseModel;
import io.loragate.common.LoragateException;
import io.loragate.model.TextTokenizer;
import io.loragate.model.WeightFormat;
import io.loragate.model.onnx.MiniLmImporter;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import org.jboss.logging.Logger;

/**
 * The one frozen base model of this gateway, loaded once at start on a background thread (so the
 * startup probe can report progress) and resident until shutdown.
 */
@ApplicationScoped
public class ResidentModel {

    private static final Logger LOG = Logger.getLogger(ResidentModel.class);

    /** Where loading stands. */
    public enum State { LOADING, READY, FAILED, CLOSED }

    private final LoragateConfig config;
    private volatile State state = State.LOADING;
    private volatile String failure;
    private volatile BaseModel model;
    private volatile TextTokenizer tokenizer;
    private volatile String id;
    private volatile Path folder;
    private final CompletableFuture<BaseModel> loaded = new CompletableFuture<>();

    public ResidentModel(LoragateConfig config) {
        this.config = config;
    }

    void onStart(@Observes StartupEvent event) {
        System.setProperty("ai.djl.offline", "true");
        loadSocketLibrary();
        Thread t = new Thread(this::load, "loragate-model-loader");
        t.setDaemon(true);
        t.start();
    }

    /**
     * Loads the JDK's socket library before the loader thread starts. The HTTP server binds after
     * this event, on a Vert.x event loop, and its first socket loads that library; meanwhile the
     * loader dlopens libtorch (seconds), and the C library's loader lock made the event loops wait:
     * Vert.x printed blocked-thread stack traces at every start.
     */
    private static void loadSocketLibrary() {
        try (java.nio.channels.ServerSocketChannel warm = java.nio.channels.ServerSocketChannel.open()) {
            LOG.trace("socket library loaded");
        } catch (java.io.IOException e) {
            LOG.debugf("cannot open a socket before loading the model: %s", e.getMessage());
        }
    }

    private void load() {
        long start = System.nanoTime();
        try {
            Path folder = config.model().path().orElseGet(() -> MiniLmImporter.ensureImported(config.dataDir()));
            Device device = resolveDevice(config.device());
            // the one line about the device (DJL's own GPU probing warnings are silenced in application.properties)
            LOG.infof("loading base model %s on %s (loragate.device=%s%s)", folder, device, config.device(),
                    device.isGpu() ? "" : config.device().equalsIgnoreCase("cpu") ? "" : "; PyTorch sees no usable GPU");
            WeightFormat format = WeightFormat.parse(config.model().weightFormat());
            BaseModel m = BaseModel.load(folder, device, format);
            tokenizer = TextTokenizer.load(folder);
            id = config.model().id().orElse(folder.getFileName().toString());
            this.folder = folder;
            model = m;
            state = State.READY;
            loaded.complete(m);
            LOG.infof("base model %s (%s, %d layers, %.1f MB of %s weights) ready in %d ms", id,
                    m.config().architectureName(), m.config().numLayers(), m.weightBytes() / 1e6, format.settingName(),
                    (System.nanoTime() - start) / 1_000_000);
        } catch (RuntimeException | Error e) {
            failure = e instanceof Error ? e.toString() : e.getMessage();
            state = State.FAILED;
            loaded.completeExceptionally(e);
            LOG.errorf("base model failed to load: %s", e.getMessage());
        }
    }

    /** Maps {@code loragate.device} to a DJL device. */
    static Device resolveDevice(String name) {
        int gpus = Engine.getEngine("PyTorch").getGpuCount();
        return switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "cpu" -> Device.cpu();
            case "gpu", "cuda" -> {
                if (gpus == 0) {
                    throw new LoragateException(LoragateException.Kind.FAILED_PRECONDITION,
                            "loragate.device=gpu but the PyTorch engine sees no GPU (is the CUDA native library installed?)");
                }
                yield Device.gpu();
            }
            case "auto" -> gpus > 0 ? Device.gpu() : Device.cpu();
            default -> throw new LoragateException(LoragateException.Kind.INVALID_ARGUMENT,
                    "loragate.device must be cpu, gpu or auto, got '" + name + "'");
        };
    }

    public State state() {
        return state;
    }

    /** Why loading failed, or null. */
    public String failure() {
        return failure;
    }

    /** The model, or an error explaining that it is not ready. */
    public BaseModel model() {
        BaseModel m = model;
        if (m == null) {
            throw new LoragateException(LoragateException.Kind.FAILED_PRECONDITION,
                    state == State.FAILED ? "base model failed to load: " + failure : "base model is still loading");
        }
        return m;
    }

    public TextTokenizer tokenizer() {
        model();
        return tokenizer;
    }

    /** The base model's Hugging Face folder. */
    public Path folder() {
        model();
        return folder;
    }

    private volatile ChatTemplate chatTemplate;

    /** The base model's chat template (its tokenizer_config.json's, or the documented fallback). */
    public ChatTemplate chatTemplate() {
        ChatTemplate t = chatTemplate;
        if (t == null) {
            t = ChatTemplate.load(folder());
            chatTemplate = t;
        }
        return t;
    }

    /** The base model's id (what clients put in {@code model} to use no adapter). */
    public String id() {
        model();
        return id;
    }

    /**
     * The model, waiting up to {@code seconds} for loading to finish; then the same errors as
     * {@link #model()} (still loading, failed to load).
     */
    public BaseModel awaitModel(long seconds) {
        try {
            loaded.get(seconds, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            // model() explains the state
        }
        return model();
    }

    /** Completes when loading finishes (exceptionally if it failed). */
    public CompletableFuture<BaseModel> whenLoaded() {
        return loaded;
    }

    void onStop(@Observes ShutdownEvent event) {
        state = State.CLOSED;
        BaseModel m = model;
        model = null;
        if (m != null) {
            m.close();
        }
        if (tokenizer != null) {
            tokenizer.close();
        }
    }
}
