package io.loragate.registry;

import java.util.Set;

/**
 * What a replica re-reads when another one changed something: a tenant's row (its key, quotas,
 * deletion) into {@link Tenants}; an adapter's pins and live versions into {@link AdapterCache},
 * and what {@link AdapterRegistry} remembered of its resolutions. Aliases and versions themselves
 * need nothing: every request resolves them in the database.
 */
public final class ReplicaRefresh implements ChangeListener.Handler {

    private final Tenants tenants;
    private final AdapterRegistry registry;
    private final AdapterCache cache;

    public ReplicaRefresh(Tenants tenants, AdapterRegistry registry, AdapterCache cache) {
        this.tenants = tenants;
        this.registry = registry;
        this.cache = cache;
    }

    @Override
    public void changed(Set<ChangeNotice> notices) {
        for (ChangeNotice n : notices) {
            switch (n.kind()) {
                case TENANT -> tenants.refresh(n.tenant());
                case ADAPTER -> {
                    registry.forget(n.tenant(), n.name());
                    cache.refresh(n.tenant(), n.name());
                }
            }
        }
    }

    @Override
    public void listening() {
        reconcile();
    }

    /** Re-reads everything this replica holds in memory from the database. */
    public void reconcile() {
        tenants.reconcile();
        cache.reconcile();
    }
}
