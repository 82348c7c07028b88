package io.loragate.api.rest;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.loragate.config.LoragateConfig;
import io.loragate.common.JsonLimits;
import io.quarkus.jackson.ObjectMapperCustomizer;
import jakarta.inject.Singleton;

/**
 * Bounds every JSON request body that Quarkus's ObjectMapper reads: nesting depth
 * ({@code loragate.limits.max-json-depth}), document and string length
 * ({@code loragate.limits.max-json-bytes}), digits in a number. Over a bound, Jackson fails the parse
 * and {@link ErrorMapper} answers 400 with the reason, before a deep document can exhaust the stack.
 */
@Singleton
public class JsonLimitsCustomizer implements ObjectMapperCustomizer {

    private final LoragateConfig config;

    public JsonLimitsCustomizer(LoragateConfig config) {
        this.config = config;
    }

    @Override
    public void customize(ObjectMapper mapper) {
        mapper.getFactory().setStreamReadConstraints(JsonLimits.constraints(config.limits().maxJsonDepth(),
                config.limits().maxJsonBytes().asLongValue()));
    }
}
