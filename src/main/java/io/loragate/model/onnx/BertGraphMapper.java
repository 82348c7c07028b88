package io.loragate.model.onnx;

import io.loragate.common.ModelFormatException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Recovers a Hugging Face {@code BertModel} state dict from its {@code torch.onnx} export.
 *
 * <p>The exporter keeps the parameter names of embeddings, biases and LayerNorms, but each linear
 * weight becomes an anonymous {@code onnx::MatMul_NNN} initializer stored {@code (in, out)}, the
 * layout {@code MatMul} wants. Its owner is found by walking the graph: the one {@code MatMul}
 * reading it is followed by an {@code Add} of a named {@code <module>.bias}; the exporter's node
 * name ({@code /encoder/layer.0/attention/self/query/MatMul}) must agree. The weight is then
 * transposed back to {@code (out, in)}. Hyper-parameters that shapes cannot tell (heads, LayerNorm
 * epsilon, activation) are read from the graph's constants and ops rather than assumed.
 */
final class BertGraphMapper {

    /** One tensor of the state dict: float32 little-endian bytes in Hugging Face layout. */
    record Param(String name, long[] shape, ByteBuffer data) {
    }

    /** The {@code BertConfig} values the graph determines. */
    record Dims(int vocabSize, int hiddenSize, int numLayers, int numHeads, int intermediateSize,
            int maxPositions, int typeVocabSize, double layerNormEps, String hiddenAct) {
    }

    record Result(Dims dims, List<Param> params, boolean hasPooler) {
    }

    private static final Pattern LAYER = Pattern.compile("encoder\\.layer\\.(\\d+)\\..+");
    /** Names of BertModel parameters; anything else in the graph means it is not a plain BERT export. */
    private static final Pattern HF_PARAM = Pattern.compile(
            "embeddings\\.(word_embeddings|position_embeddings|token_type_embeddings|LayerNorm)\\.(weight|bias)"
            + "|encoder\\.layer\\.\\d+\\.(attention\\.self\\.(query|key|value)|attention\\.output\\.(dense|LayerNorm)"
            + "|intermediate\\.dense|output\\.(dense|LayerNorm))\\.(weight|bias)"
            + "|pooler\\.dense\\.(weight|bias)");
    /** torch.onnx names a node after its module path: {@code /encoder/layer.0/attention/self/query/MatMul}. */
    private static final Pattern MATMUL_NODE = Pattern.compile("/(.+)/MatMul(_\\d+)?");
    private static final String POSITION_IDS = "embeddings.position_ids";

    private final OnnxModel model;
    private final Map<String, Param> params = new LinkedHashMap<>();

    private BertGraphMapper(OnnxModel model) {
        this.model = model;
    }

    static Result map(OnnxModel model) {
        return new BertGraphMapper(model).run();
    }

    private Result run() {
        for (OnnxTensor t : model.initializers().values()) {
            if (t.name().equals(POSITION_IDS)) {
                continue; // a constant buffer, not a parameter: checked below, then dropped as transformers does
            }
            if (isMatMulWeight(t)) {
                String module = linearModule(t);
                put(new Param(module + ".weight", new long[] {t.dim(1), t.dim(0)}, transposed(t)));
            } else if (HF_PARAM.matcher(t.name()).matches()) {
                requireFloat(t);
                put(new Param(t.name(), t.dims(), t.littleEndianBytes()));
            } else {
                throw fail("initializer '" + t.name() + "' " + Arrays.toString(t.dims())
                        + " is neither a BertModel parameter nor a linear weight read by a MatMul");
            }
        }
        Dims dims = dims();
        checkPositionIds(dims.maxPositions());
        boolean pooler = params.keySet().stream().anyMatch(n -> n.startsWith("pooler."));
        Map<String, long[]> expected = expectedShapes(dims, pooler);
        List<String> problems = new ArrayList<>();
        for (var e : expected.entrySet()) {
            Param p = params.get(e.getKey());
            if (p == null) {
                problems.add("missing " + e.getKey());
            } else if (!Arrays.equals(p.shape(), e.getValue())) {
                problems.add(e.getKey() + " has shape " + Arrays.toString(p.shape()) + ", expected " + Arrays.toString(e.getValue()));
            }
        }
        Set<String> extra = new TreeSet<>(params.keySet());
        extra.removeAll(expected.keySet());
        extra.forEach(n -> problems.add("unexpected " + n));
        if (!problems.isEmpty()) {
            throw fail("does not map onto a complete BertModel: " + String.join("; ", problems));
        }
        List<Param> ordered = new ArrayList<>();
        expected.keySet().forEach(n -> ordered.add(params.get(n)));
        return new Result(dims, ordered, pooler);
    }

    /** True when every reader of the tensor uses it as the right-hand side of a MatMul. */
    private boolean isMatMulWeight(OnnxTensor t) {
        List<OnnxNode> users = model.consumers(t.name());
        return t.rank() == 2 && !users.isEmpty()
                && users.stream().allMatch(n -> n.is("MatMul") && n.input(1).equals(t.name()));
    }

    /** The module path of the linear layer whose weight {@code t} is, from its bias and its node name. */
    private String linearModule(OnnxTensor t) {
        List<OnnxNode> users = model.consumers(t.name());
        if (users.size() != 1) {
            throw fail("linear weight '" + t.name() + "' is read by " + users.size() + " MatMul nodes; expected one");
        }
        OnnxNode matmul = users.get(0);
        String product = matmul.output(0);
        Set<String> fromBias = new LinkedHashSet<>();
        for (OnnxNode add : model.consumers(product)) {
            if (!add.is("Add")) {
                continue;
            }
            for (String in : add.inputs()) {
                if (!in.equals(product) && model.initializers().containsKey(in) && in.endsWith(".bias")) {
                    fromBias.add(in.substring(0, in.length() - ".bias".length()));
                }
            }
        }
        Matcher m = MATMUL_NODE.matcher(matmul.name());
        String fromNode = m.matches() ? m.group(1).replace('/', '.') : null;
        if (fromBias.size() > 1) {
            throw fail("MatMul '" + matmul.name() + "' of weight '" + t.name() + "' is followed by several biases " + fromBias);
        }
        String bias = fromBias.isEmpty() ? null : fromBias.iterator().next();
        if (bias != null && fromNode != null && !bias.equals(fromNode)) {
            throw fail("weight '" + t.name() + "': its bias says module '" + bias + "' but its MatMul node '"
                    + matmul.name() + "' says '" + fromNode + "'");
        }
        String module = bias != null ? bias : fromNode;
        if (module == null || !HF_PARAM.matcher(module + ".weight").matches()) {
            throw fail("cannot tell which BertModel linear layer weight '" + t.name() + "' belongs to (MatMul node '"
                    + matmul.name() + "', bias " + (bias == null ? "none" : "'" + bias + ".bias'") + ")");
        }
        return module;
    }

    private Dims dims() {
        long[] word = shapeOf("embeddings.word_embeddings.weight");
        long[] pos = shapeOf("embeddings.position_embeddings.weight");
        long[] type = shapeOf("embeddings.token_type_embeddings.weight");
        int hidden = (int) word[1];
        int layers = 0;
        for (String name : params.keySet()) {
            Matcher m = LAYER.matcher(name);
            if (m.matches()) {
                layers = Math.max(layers, Integer.parseInt(m.group(1)) + 1);
            }
        }
        if (layers == 0) {
            throw fail("has no encoder layers (no encoder.layer.N.* tensors)");
        }
        int intermediate = (int) shapeOf("encoder.layer.0.intermediate.dense.bias")[0];
        int headDim = headDim();
        if (hidden % headDim != 0) {
            throw fail("hidden size " + hidden + " is not a multiple of the attention head size " + headDim);
        }
        return new Dims((int) word[0], hidden, layers, hidden / headDim, intermediate, (int) pos[0], (int) type[0],
                layerNormEps(2 * layers + 1), activation(layers));
    }

    /**
     * The head size, from the attention scale: scores feeding each Softmax are
     * {@code Q·Kᵀ / √d} (a Div by a constant) or {@code Q·Kᵀ · (1/√d)} (a Mul).
     */
    private int headDim() {
        Set<Integer> found = new TreeSet<>();
        for (OnnxNode softmax : model.nodes()) {
            if (!softmax.is("Softmax")) {
                continue;
            }
            OnnxNode maskAdd = model.producer(softmax.input(0));
            OnnxNode scale = maskAdd != null && maskAdd.is("Add") ? producerOfOp(maskAdd, "Div", "Mul") : null;
            OnnxTensor c = scale == null ? null : model.constant(scale.input(1));
            if (c == null || c.dataType() != OnnxTensor.FLOAT || c.elementCount() != 1) {
                throw fail("cannot find the attention scale before Softmax node '" + softmax.name() + "'");
            }
            double s = c.scalarFloat();
            double d = scale.is("Div") ? s * s : 1.0 / (s * s);
            found.add((int) Math.round(d));
        }
        if (found.size() != 1) {
            throw fail("attention head sizes " + found + " (expected exactly one, from the Softmax scales)");
        }
        return found.iterator().next();
    }

    /** LayerNorm epsilon: the constant added to the variance under each Sqrt. */
    private double layerNormEps(int expectedNorms) {
        Set<Float> found = new TreeSet<>();
        int norms = 0;
        for (OnnxNode sqrt : model.nodes()) {
            if (!sqrt.is("Sqrt")) {
                continue;
            }
            OnnxNode add = model.producer(sqrt.input(0));
            if (add == null || !add.is("Add")) {
                continue;
            }
            for (String in : add.inputs()) {
                OnnxTensor c = model.constant(in);
                if (c != null && c.dataType() == OnnxTensor.FLOAT && c.elementCount() == 1) {
                    found.add(c.scalarFloat());
                    norms++;
                }
            }
        }
        if (norms != expectedNorms || found.size() != 1) {
            throw fail("found " + norms + " LayerNorm epsilons " + found + ", expected " + expectedNorms + " equal ones");
        }
        // the graph holds the float32 rounding of the config value (1e-12 is stored as 9.9999998e-13)
        return Double.parseDouble(Float.toString(found.iterator().next()));
    }

    /** BERT's "gelu" is exported through Erf; the tanh approximation would show up as Tanh. */
    private String activation(int layers) {
        long erf = model.nodes().stream().filter(n -> n.is("Erf")).count();
        long tanh = model.nodes().stream().filter(n -> n.is("Tanh")).count();
        if (erf == layers && tanh == 0) {
            return "gelu";
        }
        throw fail("unsupported intermediate activation: " + erf + " Erf and " + tanh + " Tanh nodes for " + layers
                + " layers (only the exact, Erf-based GELU is recognised)");
    }

    private void checkPositionIds(int maxPositions) {
        OnnxTensor ids = model.initializers().get(POSITION_IDS);
        if (ids == null) {
            return;
        }
        long[] v = ids.dataType() == OnnxTensor.INT64 ? ids.longs() : null;
        boolean arange = v != null && v.length == maxPositions;
        for (int i = 0; arange && i < v.length; i++) {
            arange = v[i] == i;
        }
        if (!arange) {
            // BertModel always counts positions 0, 1, 2, ...: anything else would change the outputs
            throw fail(POSITION_IDS + " is not 0.." + (maxPositions - 1));
        }
    }

    private static Map<String, long[]> expectedShapes(Dims d, boolean pooler) {
        long h = d.hiddenSize();
        long i = d.intermediateSize();
        Map<String, long[]> s = new LinkedHashMap<>();
        s.put("embeddings.word_embeddings.weight", new long[] {d.vocabSize(), h});
        s.put("embeddings.position_embeddings.weight", new long[] {d.maxPositions(), h});
        s.put("embeddings.token_type_embeddings.weight", new long[] {d.typeVocabSize(), h});
        s.put("embeddings.LayerNorm.weight", new long[] {h});
        s.put("embeddings.LayerNorm.bias", new long[] {h});
        for (int l = 0; l < d.numLayers(); l++) {
            String p = "encoder.layer." + l + ".";
            for (String qkv : new String[] {"query", "key", "value"}) {
                s.put(p + "attention.self." + qkv + ".weight", new long[] {h, h});
                s.put(p + "attention.self." + qkv + ".bias", new long[] {h});
            }
            s.put(p + "attention.output.dense.weight", new long[] {h, h});
            s.put(p + "attention.output.dense.bias", new long[] {h});
            s.put(p + "attention.output.LayerNorm.weight", new long[] {h});
            s.put(p + "attention.output.LayerNorm.bias", new long[] {h});
            s.put(p + "intermediate.dense.weight", new long[] {i, h});
            s.put(p + "intermediate.dense.bias", new long[] {i});
            s.put(p + "output.dense.weight", new long[] {h, i});
            s.put(p + "output.dense.bias", new long[] {h});
            s.put(p + "output.LayerNorm.weight", new long[] {h});
            s.put(p + "output.LayerNorm.bias", new long[] {h});
        }
        if (pooler) {
            s.put("pooler.dense.weight", new long[] {h, h});
            s.put("pooler.dense.bias", new long[] {h});
        }
        return s;
    }

    /** A (rows, cols) float matrix as (cols, rows), little-endian. */
    private ByteBuffer transposed(OnnxTensor t) {
        requireFloat(t);
        int rows = (int) t.dim(0);
        int cols = (int) t.dim(1);
        FloatBuffer in = t.littleEndianBytes().asFloatBuffer();
        ByteBuffer out = ByteBuffer.allocate(rows * cols * 4).order(ByteOrder.LITTLE_ENDIAN);
        FloatBuffer o = out.asFloatBuffer();
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                o.put(c * rows + r, in.get(r * cols + c));
            }
        }
        return out;
    }

    private OnnxNode producerOfOp(OnnxNode node, String... ops) {
        for (String in : node.inputs()) {
            OnnxNode p = model.producer(in);
            if (p != null && Arrays.asList(ops).contains(p.opType())) {
                return p;
            }
        }
        return null;
    }

    private long[] shapeOf(String name) {
        Param p = params.get(name);
        if (p == null) {
            throw fail("missing " + name);
        }
        return p.shape();
    }

    private void put(Param p) {
        if (params.put(p.name(), p) != null) {
            throw fail("two initializers map to " + p.name());
        }
    }

    private void requireFloat(OnnxTensor t) {
        if (t.dataType() != OnnxTensor.FLOAT) {
            throw fail("tensor '" + t.name() + "' has ONNX data type " + t.dataType() + "; only float32 (1) weights are supported");
        }
    }

    private ModelFormatException fail(String problem) {
        return new ModelFormatException(model.file(), "ONNX graph " + problem);
    }
}
