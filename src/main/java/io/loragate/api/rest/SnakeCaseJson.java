package io.loragate.api.rest;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Service views (Java records) as the snake_case JSON the REST API answers: the record's components
 * in order, {@code learningRate} as {@code learning_rate}.
 */
final class SnakeCaseJson {

    /** Every field, null ones included (a job's resolved method). */
    private static final ObjectMapper ALL = new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);
    /** Null fields left out: they do not apply (recommendations, sweeps). */
    private static final ObjectMapper PRESENT = ALL.copy().setSerializationInclusion(JsonInclude.Include.NON_NULL);

    private SnakeCaseJson() {
    }

    static ObjectNode withNulls(Object view) {
        return ALL.valueToTree(view);
    }

    static ObjectNode withoutNulls(Object view) {
        return PRESENT.valueToTree(view);
    }
}
