package io.loragate.model.onnx;

import io.loragate.common.ModelFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The main graph of an ONNX model file: its initializers, nodes and input/output names. The file is
 * memory-mapped and parsed with {@link ProtoReader}; tensor data stays in the mapping, so a 90 MB
 * model costs no 90 MB of heap. The mapping lives as long as this object and its tensors are
 * reachable (the JDK unmaps it on garbage collection).
 *
 * <p>Field numbers follow {@code onnx/onnx.proto}: ModelProto.graph = 7; GraphProto.node = 1,
 * initializer = 5, sparse_initializer = 15, input = 11, output = 12; NodeProto.input = 1,
 * output = 2, name = 3, op_type = 4, attribute = 5; AttributeProto.name = 1, t = 5;
 * TensorProto.dims = 1, data_type = 2, float_data = 4, int64_data = 7, name = 8, raw_data = 9,
 * external_data = 13, data_location = 14; ValueInfoProto.name = 1.
 */
public final class OnnxModel {

    private final Path file;
    private final Map<String, OnnxTensor> initializers;
    private final List<OnnxNode> nodes;
    private final List<String> inputNames;
    private final List<String> outputNames;
    private final Map<String, OnnxNode> producers = new HashMap<>();
    private final Map<String, List<OnnxNode>> consumers = new HashMap<>();

    private OnnxModel(Path file, Map<String, OnnxTensor> initializers, List<OnnxNode> nodes, List<String> inputNames,
            List<String> outputNames) {
        this.file = file;
        this.initializers = Collections.unmodifiableMap(initializers);
        this.nodes = Collections.unmodifiableList(nodes);
        this.inputNames = Collections.unmodifiableList(inputNames);
        this.outputNames = Collections.unmodifiableList(outputNames);
        for (OnnxNode n : nodes) {
            for (String out : n.outputs()) {
                producers.put(out, n);
            }
            for (String in : n.inputs()) {
                if (!in.isEmpty()) {
                    consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
                }
            }
        }
    }

    /** Maps and parses an {@code .onnx} file whose weights are embedded (no external data). */
    public static OnnxModel open(Path file) {
        ByteBuffer mapped;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            if (ch.size() > Integer.MAX_VALUE) {
                // protobuf itself caps messages at 2 GiB; larger models use external data
                throw new ModelFormatException(file, "file of " + ch.size() + " bytes exceeds the 2 GiB protobuf limit");
            }
            mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot read ONNX file: " + e.getMessage(), e);
        }
        ProtoReader model = new ProtoReader(file, mapped);
        ProtoReader graph = null;
        while (model.next()) {
            if (model.field() == 7 && model.wireType() == ProtoReader.LENGTH_DELIMITED) {
                graph = model.message();
            } else {
                model.skip();
            }
        }
        if (graph == null) {
            throw new ModelFormatException(file, "not an ONNX model: no graph (ModelProto field 7)");
        }
        return parseGraph(file, graph);
    }

    private static OnnxModel parseGraph(Path file, ProtoReader g) {
        Map<String, OnnxTensor> initializers = new LinkedHashMap<>();
        List<OnnxNode> nodes = new ArrayList<>();
        List<String> inputs = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        while (g.next()) {
            switch (g.field()) {
                case 1 -> nodes.add(parseNode(file, g.message()));
                case 5 -> {
                    OnnxTensor t = parseTensor(file, g.message());
                    if (initializers.put(t.name(), t) != null) {
                        throw new ModelFormatException(file, "initializer '" + t.name() + "' appears twice");
                    }
                }
                case 11 -> inputs.add(valueInfoName(g.message()));
                case 12 -> outputs.add(valueInfoName(g.message()));
                case 15 -> throw new ModelFormatException(file, "sparse initializers are not supported");
                default -> g.skip();
            }
        }
        // an initializer may also be listed as a graph input (older exporters): it is not a real input
        inputs.removeIf(initializers::containsKey);
        return new OnnxModel(file, initializers, nodes, inputs, outputs);
    }

    private static OnnxNode parseNode(Path file, ProtoReader n) {
        List<String> inputs = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        String name = "";
        String op = "";
        Map<String, OnnxTensor> tensors = new LinkedHashMap<>();
        while (n.next()) {
            switch (n.field()) {
                case 1 -> inputs.add(n.string());
                case 2 -> outputs.add(n.string());
                case 3 -> name = n.string();
                case 4 -> op = n.string();
                case 5 -> {
                    ProtoReader a = n.message();
                    String attr = "";
                    OnnxTensor t = null;
                    while (a.next()) {
                        if (a.field() == 1) {
                            attr = a.string();
                        } else if (a.field() == 5 && a.wireType() == ProtoReader.LENGTH_DELIMITED) {
                            t = parseTensor(file, a.message());
                        } else {
                            a.skip();
                        }
                    }
                    if (t != null) {
                        tensors.put(attr, t);
                    }
                }
                default -> n.skip();
            }
        }
        return new OnnxNode(name, op, List.copyOf(inputs), List.copyOf(outputs), Collections.unmodifiableMap(tensors));
    }

    private static OnnxTensor parseTensor(Path file, ProtoReader t) {
        ProtoReader.LongList dims = new ProtoReader.LongList();
        int dataType = 0;
        String name = "";
        ByteBuffer raw = null;
        ProtoReader.ByteList typed = new ProtoReader.ByteList();
        boolean external = false;
        while (t.next()) {
            switch (t.field()) {
                case 1 -> t.varints(dims);
                case 2 -> dataType = (int) t.varint();
                case 4 -> t.fixed32s(typed);
                case 7 -> {
                    ProtoReader.LongList longs = new ProtoReader.LongList();
                    t.varints(longs);
                    for (long v : longs.toArray()) {
                        typed.addLong(v);
                    }
                }
                case 8 -> name = t.string();
                case 9 -> raw = t.bytes();
                case 13 -> {
                    external = true;
                    t.skip();
                }
                case 14 -> external |= t.varint() == 1;
                default -> t.skip();
            }
        }
        String label = name.isEmpty() ? "(unnamed tensor)" : "'" + name + "'";
        if (external) {
            throw new ModelFormatException(file, "tensor " + label
                    + " keeps its data in an external file, which is not supported: the weights must be embedded in the .onnx file");
        }
        long[] shape = dims.toArray();
        for (long d : shape) {
            if (d < 0) {
                throw new ModelFormatException(file, "tensor " + label + " has a negative dimension " + Arrays.toString(shape));
            }
        }
        ByteBuffer data = raw != null ? raw : typed.toBuffer();
        OnnxTensor tensor = new OnnxTensor(name, dataType, shape, data);
        int width = dataType == OnnxTensor.FLOAT ? 4 : dataType == OnnxTensor.INT64 ? 8 : 0;
        if (width > 0 && data.remaining() != tensor.elementCount() * width) {
            throw new ModelFormatException(file, "tensor " + label + " of shape " + Arrays.toString(shape) + " holds "
                    + data.remaining() + " bytes, expected " + tensor.elementCount() * width);
        }
        return tensor;
    }

    private static String valueInfoName(ProtoReader v) {
        String name = "";
        while (v.next()) {
            if (v.field() == 1) {
                name = v.string();
            } else {
                v.skip();
            }
        }
        return name;
    }

    public Path file() {
        return file;
    }

    /** Initializers by name, in file order. */
    public Map<String, OnnxTensor> initializers() {
        return initializers;
    }

    /** Nodes in file order (topologically sorted, as ONNX requires). */
    public List<OnnxNode> nodes() {
        return nodes;
    }

    /** Names of the graph's real inputs (initializers listed as inputs are left out). */
    public List<String> inputNames() {
        return inputNames;
    }

    public List<String> outputNames() {
        return outputNames;
    }

    /** The node computing a value, or null for graph inputs and initializers. */
    public OnnxNode producer(String value) {
        return producers.get(value);
    }

    /** The nodes reading a value. */
    public List<OnnxNode> consumers(String value) {
        return consumers.getOrDefault(value, List.of());
    }

    /** A value known before running the graph: an initializer or a {@code Constant} node's output; else null. */
    public OnnxTensor constant(String value) {
        OnnxTensor init = initializers.get(value);
        if (init != null) {
            return init;
        }
        OnnxNode p = producers.get(value);
        return p != null && p.is("Constant") ? p.tensorAttributes().get("value") : null;
    }
}
