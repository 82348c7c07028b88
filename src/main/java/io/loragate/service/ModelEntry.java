package io.loragate.service;

/**
 * A model the caller may address: the base ({@code adapter == false}) or an adapter's active
 * version ({@code id} = adapter name, {@code version} = its active version).
 */
public record ModelEntry(String id, boolean adapter, int version, String ownedBy, long created, String root) {
}
