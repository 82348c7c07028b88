package io.loragate.service;

import java.util.List;

/**
 * An adapter name of the caller with its live versions (oldest first), as the transports show it.
 *
 * @param activeVersion the version the bare name resolves to
 * @param pinned        whether the alias is pinned (its active version stays resident)
 */
public record AdapterView(String name, int activeVersion, boolean pinned, List<AdapterVersionView> versions,
        RecentRequestRate recentRequests) {

    /** The adapter id of the active version, {@code name@version}. */
    public String activeId() {
        return name + "@" + activeVersion;
    }
}
