package io.loragate.config;

import io.loragate.adapter.AdapterNumbers;
import io.quarkus.runtime.Startup;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * Hands {@code loragate.adapters.max-abs-value} and {@code check-numbers} to {@link AdapterNumbers}
 * at start-up, before anything loads an adapter (the adapter package reads no configuration).
 */
@Startup(1) // before the registry's and the cache's start-up work, which may load adapters
@ApplicationScoped
public class AdapterNumbersSettings {

    private final LoragateConfig config;

    public AdapterNumbersSettings(LoragateConfig config) {
        this.config = config;
    }

    @PostConstruct
    void apply() {
        AdapterNumbers.configure(config.adapters().checkNumbers(), config.adapters().maxAbsValue());
    }
}
