package io.loragate.registry;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The version each adapter id last resolved to on this replica. The database is the truth and is
 * asked on every request; this answer is used only while the database cannot be reached, so that
 * requests for adapters whose weights are resident keep being served during an outage. An
 * adapter's entries are dropped whenever it changes (here or, through a {@link ChangeNotice}, on
 * another replica), so they are never older than the last change this replica heard of.
 */
final class LastResolved {

    private record Key(String tenant, String name, String adapterId) {
    }

    private final Map<Key, AdapterVersion> versions = new ConcurrentHashMap<>();

    void put(String tenant, String name, String adapterId, AdapterVersion v) {
        versions.put(new Key(tenant, name, adapterId), v);
    }

    /** The version {@code adapterId} last resolved to, or null. */
    AdapterVersion get(String tenant, String name, String adapterId) {
        return versions.get(new Key(tenant, name, adapterId));
    }

    /** Forgets every id of the adapter ({@code name}, {@code name@3}, ...). */
    void forget(String tenant, String name) {
        versions.keySet().removeIf(k -> k.tenant().equals(tenant) && k.name().equals(name));
    }
}
