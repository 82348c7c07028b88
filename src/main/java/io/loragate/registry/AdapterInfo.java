package io.loragate.registry;

import java.util.List;

/**
 * An adapter name of one tenant with its live versions.
 *
 * @param tenant        owner
 * @param name          the adapter name
 * @param activeVersion the version that the bare {@code name} resolves to (0 when none, which only
 *                      happens transiently)
 * @param pinned        whether the alias is pinned: its active version (whichever it is) stays
 *                      resident in the adapter cache
 * @param versions      live versions, oldest first (deleted versions are not listed)
 */
public record AdapterInfo(String tenant, String name, int activeVersion, boolean pinned, List<AdapterVersion> versions) {

    public AdapterInfo {
        versions = List.copyOf(versions);
    }
}
