package io.loragate.common;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Bounds on JSON read from untrusted sources (request bodies, dataset lines, adapter configs,
 * safetensors headers): nesting depth, document, string and number length. Jackson refuses input
 * over a bound with a {@code StreamConstraintsException} (a {@code JsonProcessingException}), so a
 * deeply nested or enormous document fails cleanly before it exhausts the stack or the heap.
 */
public final class JsonLimits {

    /** Nesting depth of request bodies, dataset lines and adapter configs; real ones nest 3 to 5 deep. */
    public static final int MAX_DEPTH = 64;
    /** A safetensors header nests 3 deep (header, tensor, shape). */
    public static final int HEADER_MAX_DEPTH = 8;
    /** Digits in one number: more than any long or double needs, far less than a parse-time bomb. */
    public static final int MAX_NUMBER_LENGTH = 100;
    /** Largest adapter_config.json read (real ones are a few KiB). */
    public static final long MAX_CONFIG_BYTES = 1L << 20;

    private JsonLimits() {
    }

    /** Read constraints for documents of at most {@code maxDocumentBytes} (≤ 0: unbounded) nested at most {@code maxDepth}. */
    public static StreamReadConstraints constraints(int maxDepth, long maxDocumentBytes) {
        long doc = maxDocumentBytes <= 0 ? -1 : maxDocumentBytes;
        // A string is never longer than its document (Jackson counts chars; a bounded document bounds them).
        int maxString = maxDocumentBytes <= 0 || maxDocumentBytes > Integer.MAX_VALUE ? Integer.MAX_VALUE : (int) maxDocumentBytes;
        return StreamReadConstraints.builder()
                .maxNestingDepth(maxDepth)
                .maxDocumentLength(doc)
                .maxStringLength(Math.max(maxString, 1))
                .maxNumberLength(MAX_NUMBER_LENGTH)
                .build();
    }

    /** A mapper whose parsers enforce {@link #constraints}. */
    public static ObjectMapper mapper(int maxDepth, long maxDocumentBytes) {
        return new ObjectMapper(JsonFactory.builder().streamReadConstraints(constraints(maxDepth, maxDocumentBytes)).build());
    }

    /** Turns on duplicate-key detection: a document whose meaning depends on which duplicate wins is refused. */
    public static ObjectMapper strict(ObjectMapper mapper) {
        mapper.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        return mapper;
    }
}
