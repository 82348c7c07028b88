package io.loragate.registry;

import java.time.Instant;

/**
 * One immutable version of a tenant's adapter, as recorded in the registry. Its weights never
 * change after publication: {@code support@3} means the same bytes forever (verified by
 * {@link #sha256()} whenever they are loaded).
 *
 * @param tenant    owner; every lookup is scoped by it
 * @param name      the adapter's name (also its alias: {@code name} resolves to the active version)
 * @param version   1, 2, ... assigned per name in registration order, never reused
 * @param peftType  the PEFT type of {@code adapter_config.json}, e.g. {@code LORA}
 * @param rank      the largest LoRA rank over the adapter's modules
 * @param bytes     size of {@code adapter_model.safetensors} on disk
 * @param sha256    hex SHA-256 of {@code adapter_model.safetensors}
 * @param createdAt when the version was published (millisecond precision)
 */
public record AdapterVersion(String tenant, String name, int version, String peftType, int rank, long bytes,
        String sha256, Instant createdAt) {

    /** The version's adapter id, {@code name@version}. */
    public String id() {
        return name + "@" + version;
    }
}
