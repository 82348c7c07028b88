package io.loragate.service;

import java.time.Instant;

/**
 * One adapter version as the transports show it (REST {@code adapter.version}, gRPC
 * {@code AdapterVersion}): the immutable facts, its state in the registry and in the device cache.
 *
 * @param state         {@code ready}, {@code errored} or {@code deleted}
 * @param error         why it is errored, or null
 * @param pinned        resident for good: the version itself is pinned, or it is the active version of a
 *                      pinned alias
 * @param versionPinned the version's own pin only ({@code ?version=n}), not the alias's
 * @param loaded        whether its weights are in the device cache now
 */
public record AdapterVersionView(String id, String name, int version, String peftType, int rank, long bytes, String sha256,
        Instant createdAt, boolean active, int activeVersion, String state, String error, boolean pinned,
        boolean versionPinned, boolean loaded) {
}
