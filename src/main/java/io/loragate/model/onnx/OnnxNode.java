package io.loragate.model.onnx;

import java.util.List;
import java.util.Map;

/**
 * One ONNX {@code NodeProto}. Inputs and outputs are value names (an empty input name means an
 * omitted optional input). Only tensor-valued attributes are kept (the {@code value} of a
 * {@code Constant}); the importer reads shapes from tensors, never from other attributes.
 */
public record OnnxNode(String name, String opType, List<String> inputs, List<String> outputs,
        Map<String, OnnxTensor> tensorAttributes) {

    public String input(int i) {
        return i < inputs.size() ? inputs.get(i) : "";
    }

    public String output(int i) {
        return i < outputs.size() ? outputs.get(i) : "";
    }

    public boolean is(String op) {
        return opType.equals(op);
    }
}
