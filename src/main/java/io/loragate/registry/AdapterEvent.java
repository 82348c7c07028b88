package io.loragate.registry;

/**
 * Fired (synchronously, after the change is committed) when an adapter's active version, pins or
 * versions change, so that the cache can follow: pins move with the alias, deleted versions leave.
 *
 * @param type    what changed
 * @param tenant  owner
 * @param name    the adapter
 * @param version the version concerned (the new active one for {@link Type#ACTIVATED})
 */
public record AdapterEvent(Type type, String tenant, String name, int version) {

    /** What changed. */
    public enum Type { REGISTERED, ACTIVATED, PINS_CHANGED, DELETED }
}
