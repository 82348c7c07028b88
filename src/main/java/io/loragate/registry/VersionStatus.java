package io.loragate.registry;

/**
 * The mutable facts about a version, beside its immutable {@link AdapterVersion}.
 *
 * @param state  {@code ready}, {@code errored} (its weights failed verification) or {@code deleted}
 * @param error  why it is errored, or null
 * @param pinned whether this version itself is pinned (the alias pin is {@link AdapterInfo#pinned()})
 */
public record VersionStatus(String state, String error, boolean pinned) {

    public static final String READY = "ready";
    public static final String ERRORED = "errored";
    public static final String DELETED = "deleted";
}
