package io.loragate.api.grpc;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import java.util.Iterator;
import java.util.Map;

/**
 * JSON documents (job reports, diagnostics) as {@code google.protobuf.Struct}, the protobuf form of a
 * JSON object: the gRPC answer carries exactly the REST JSON. Numbers become doubles, as in any JSON
 * reader (every count in a report is far below 2^53).
 */
final class JsonStructs {

    private static final ObjectMapper JSON = new ObjectMapper();

    private JsonStructs() {
    }

    /** A JSON object as a Struct; null for null or a non-object. */
    static Struct struct(JsonNode object) {
        if (object == null || !object.isObject()) {
            return null;
        }
        Struct.Builder b = Struct.newBuilder();
        for (Iterator<Map.Entry<String, JsonNode>> it = object.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            b.putFields(e.getKey(), value(e.getValue()));
        }
        return b.build();
    }

    /** A stored JSON text (an object) as a Struct; null for null. */
    static Struct struct(String json) {
        return json == null ? null : struct(tree(json));
    }

    /** A stored JSON text parsed; it was written by the server, so a failure is an internal error. */
    static JsonNode tree(String json) {
        try {
            return JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored JSON does not parse: " + e.getOriginalMessage(), e);
        }
    }

    static Value value(JsonNode n) {
        if (n == null || n.isNull() || n.isMissingNode()) {
            return Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build();
        }
        if (n.isObject()) {
            return Value.newBuilder().setStructValue(struct(n)).build();
        }
        if (n.isArray()) {
            ListValue.Builder l = ListValue.newBuilder();
            n.forEach(x -> l.addValues(value(x)));
            return Value.newBuilder().setListValue(l).build();
        }
        if (n.isNumber()) {
            return Value.newBuilder().setNumberValue(n.asDouble()).build();
        }
        if (n.isBoolean()) {
            return Value.newBuilder().setBoolValue(n.asBoolean()).build();
        }
        return Value.newBuilder().setStringValue(n.asText()).build();
    }
}
